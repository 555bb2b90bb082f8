package monitor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/files"
	"github.com/vigilml/vigil/monitor/scrape"
)

func TestScrapeIntoWindows(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		w.Header().Set(scrape.CursorHeader, "50")
		for i := from; i < 50; i++ {
			fmt.Fprintf(w, `{"model":"fraud","id":"s%d","features":{"amount":%d,"country":"DE"},"prediction":1,"score":0.9}`+"\n", i, i)
		}
	}))
	defer srv.Close()
	d := startDaemon(t, binaryCfg+fmt.Sprintf(`
scrape_configs:
  - {job_name: batch-scores, url: %q, scrape_interval: 100ms, scrape_timeout: 100ms}
`, srv.URL+"/records"))
	require.Eventually(t, func() bool {
		d.m.Evaluate(d.clock.Now())
		s, _ := d.m.Stats("fraud")
		return s.Events.Predictions == 50
	}, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(string(d.get(t, "/metrics").body), `vigil_scrape_up{job="batch-scores"} 1`)
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // a few more scrapes: the cursor keeps them empty
	s, _ := d.m.Stats("fraud")
	require.Equal(t, uint64(50), s.Events.Predictions)
}

func TestFileSourceIntoWindows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scores.ndjson")
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, `{"model":"fraud","id":"f%d","features":{"amount":%d,"country":"DE"},"prediction":1}`+"\n", i, i)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	d := startDaemon(t, binaryCfg+fmt.Sprintf(`
file_sources:
  - {name: scorer, paths: [%q], poll_interval: 50ms}
`, filepath.Join(dir, "*.ndjson")))
	require.Eventually(t, func() bool {
		d.m.Evaluate(d.clock.Now())
		s, _ := d.m.Stats("fraud")
		return s.Events.Predictions == 30
	}, 10*time.Second, 20*time.Millisecond)
}

func TestImportCSVIntoDaemon(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	csv := "id,model,amount,country,prediction,score\n1,fraud,10,DE,1,0.9\n2,fraud,20,FR,0,0.1\n3,nope,1,DE,1,0.5\n"
	res, err := files.Import(context.Background(), strings.NewReader(csv), files.ImportOptions{URL: d.url, CSV: true})
	require.NoError(t, err)
	require.Equal(t, 3, res.Records)
	require.Equal(t, 2, res.Accepted)
	require.Equal(t, 1, res.Rejected)
	require.Len(t, res.Errors, 1)
	require.Contains(t, res.Errors[0], "unknown model")
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "fraud")
	require.Equal(t, uint64(2), s.Events.Predictions)
}
