package files

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

type sink struct {
	mu   sync.Mutex
	recs []map[string]any
}

func (s *sink) ingest(_ context.Context, _ bool, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for line := range bytes.Lines(body) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return err
		}
		s.recs = append(s.recs, m)
	}
	return nil
}

func (s *sink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.recs {
		out = append(out, r["id"].(string))
	}
	return out
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func rec(id string) string { return `{"model":"fraud","id":"` + id + `","prediction":1}` + "\n" }

func newTailer(t *testing.T, dir string, s *sink, c Config) *Tailer {
	t.Helper()
	require.NoError(t, ValidateAll([]Config{c}, dir))
	tl, err := New(Options{Configs: []Config{c}, Sink: s.ingest, OffsetFile: filepath.Join(dir, "data", "offsets.json"), Registerer: prometheus.NewPedanticRegistry()})
	require.NoError(t, err)
	t.Cleanup(tl.close)
	return tl
}

func ndjsonConfig(glob string) Config {
	return Config{Name: "logs", Paths: []string{glob}, Kind: "predictions", Format: "ndjson", PollInterval: 1}
}

func TestTailPartialLinesAndRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scores.ndjson")
	appendFile(t, path, rec("1")+rec("2")+rec("3")+`{"model":"fraud","id":`)
	s := &sink{}
	tl := newTailer(t, dir, s, ndjsonConfig("*.ndjson"))
	tl.PollOnce(context.Background())
	require.Equal(t, []string{"1", "2", "3"}, s.ids(), "the partial line waits for its newline")
	appendFile(t, path, `"4","prediction":0}`+"\n"+rec("5"))
	tl.PollOnce(context.Background())
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, s.ids())
	tl.close()

	// A restart resumes after the last applied line.
	appendFile(t, path, rec("6"))
	tl2 := newTailer(t, dir, s, ndjsonConfig("*.ndjson"))
	tl2.PollOnce(context.Background())
	require.Equal(t, []string{"1", "2", "3", "4", "5", "6"}, s.ids())
	require.Equal(t, 1.0, testutil.ToFloat64(tl2.lines.WithLabelValues("logs")))
}

func TestRotationLosesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.ndjson")
	appendFile(t, path, rec("a1")+rec("a2"))
	s := &sink{}
	tl := newTailer(t, dir, s, ndjsonConfig("app.ndjson"))
	tl.PollOnce(context.Background())
	// The writer appends, then logrotate renames the file away and a new one starts.
	appendFile(t, path, rec("a3"))
	require.NoError(t, os.Rename(path, path+".1"))
	appendFile(t, path, rec("b1")+rec("b2"))
	tl.PollOnce(context.Background())
	require.ElementsMatch(t, []string{"a1", "a2", "a3", "b1", "b2"}, s.ids())
	tl.PollOnce(context.Background())
	require.Equal(t, 1.0, testutil.ToFloat64(tl.open.WithLabelValues("logs")), "the rotated file is let go once read")
	require.Len(t, s.ids(), 5)
}

func TestCopyTruncateRereads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.ndjson")
	appendFile(t, path, rec("1")+rec("2"))
	s := &sink{}
	tl := newTailer(t, dir, s, ndjsonConfig("app.ndjson"))
	tl.PollOnce(context.Background())
	require.NoError(t, os.Truncate(path, 0))
	appendFile(t, path, rec("3"))
	tl.PollOnce(context.Background())
	require.Equal(t, []string{"1", "2", "3"}, s.ids())
}

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scores.csv")
	appendFile(t, path, "id,model,amount,country,prediction,score,latency_ms\n1,fraud,12.5,DE,1,0.9,3\n2,fraud,,FR,0,0.2,\n")
	s := &sink{}
	c := Config{Name: "csv", Paths: []string{"*.csv"}, Kind: "predictions", Format: "csv", PollInterval: 1}
	tl := newTailer(t, dir, s, c)
	tl.PollOnce(context.Background())
	require.Equal(t, []map[string]any{
		{"id": "1", "model": "fraud", "features": map[string]any{"amount": 12.5, "country": "DE"}, "prediction": 1.0, "score": 0.9, "latency_ms": 3.0},
		{"id": "2", "model": "fraud", "features": map[string]any{"amount": nil, "country": "FR"}, "prediction": 0.0, "score": 0.2},
	}, s.recs)
	tl.close()
	// After a restart mid-file the header is read again from the top.
	appendFile(t, path, "3,fraud,7,US,1,0.7,1\n")
	tl2 := newTailer(t, dir, s, c)
	tl2.PollOnce(context.Background())
	require.Len(t, s.recs, 3)
	require.Equal(t, map[string]any{"amount": 7.0, "country": "US"}, s.recs[2]["features"])
}

func TestCSVErrors(t *testing.T) {
	_, err := CSVToNDJSON([]string{"id", "score"}, []byte("1,high\n"), false)
	require.ErrorContains(t, err, "score")
	_, err = CSVToNDJSON([]string{"id", "score"}, []byte("1,0.5,extra\n"), false)
	require.Error(t, err)
}

func FuzzCSVToNDJSON(f *testing.F) {
	f.Add("id,model,prediction,score,a", []byte("1,m,1,0.5,x\n2,m,NaN,,3\n"), false)
	f.Add("model,id,label", []byte("m,1,1\n"), true)
	f.Fuzz(func(t *testing.T, header string, rows []byte, labels bool) {
		h := strings.Split(header, ",")
		out, err := CSVToNDJSON(h, rows, labels)
		if err != nil {
			return
		}
		for line := range bytes.Lines(out) {
			require.True(t, json.Valid(line), "%q", line)
		}
	})
}
