package scrape

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// feed is an endpoint that serves its records after the cursor (an index), as the
// contract in the package documentation says.
type feed struct {
	mu      sync.Mutex
	records []string
	asked   []string // the cursor of every request ("" when none)
}

func (f *feed) add(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.records = append(f.records, fmt.Sprintf(`{"model":"fraud","id":"%d","prediction":1}`, len(f.records)))
	}
}

func (f *feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := r.URL.Query().Get("cursor")
	f.asked = append(f.asked, c)
	from, _ := strconv.Atoi(c)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set(CursorHeader, strconv.Itoa(len(f.records)))
	for _, rec := range f.records[from:] {
		fmt.Fprintln(w, rec)
	}
}

type sink struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (s *sink) ingest(_ context.Context, labels bool, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	for line := range strings.Lines(string(body)) {
		s.ids = append(s.ids, line)
	}
	return nil
}

func config(url string) Config {
	return Config{JobName: "batch", URL: url, Kind: "predictions", Interval: yamlconf.Duration(time.Minute),
		Timeout: yamlconf.Duration(200 * time.Millisecond), CursorParam: "cursor", MaxBytes: DefaultMaxBytes}
}

func TestResumesFromSavedCursor(t *testing.T) {
	f := &feed{}
	f.add(5)
	srv := httptest.NewServer(f)
	defer srv.Close()
	cursors := filepath.Join(t.TempDir(), "data", "cursors.json")
	c := config(srv.URL)
	sk := &sink{}
	s, err := New(Options{Configs: []Config{c}, Sink: sk.ingest, CursorFile: cursors, Registerer: prometheus.NewPedanticRegistry()})
	require.NoError(t, err)
	require.NoError(t, s.ScrapeOnce(context.Background(), &c))
	require.Len(t, sk.ids, 5)
	require.Equal(t, "5", s.Cursor("batch"))
	require.NoError(t, s.ScrapeOnce(context.Background(), &c)) // nothing new
	require.Len(t, sk.ids, 5)

	// A restart: a new Scraper reads the cursor back and asks only for what is new.
	f.add(3)
	reg := prometheus.NewPedanticRegistry()
	s2, err := New(Options{Configs: []Config{c}, Sink: sk.ingest, CursorFile: cursors, Registerer: reg})
	require.NoError(t, err)
	require.NoError(t, s2.ScrapeOnce(context.Background(), &c))
	require.Len(t, sk.ids, 8)
	require.Equal(t, []string{"", "5", "5"}, f.asked)
	require.Equal(t, 1.0, testutil.ToFloat64(s2.up.WithLabelValues("batch")))
	require.Equal(t, 3.0, testutil.ToFloat64(s2.records.WithLabelValues("batch")))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		sinkErr error
		down    bool
		reason  string
	}{
		{name: "down", down: true, reason: "unreachable"},
		{name: "slow", reason: "timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
		{name: "error status", reason: "status", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }},
		{name: "no cursor", reason: "no_cursor", handler: func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, `{"model":"fraud"}`) }},
		{name: "too large", reason: "too_large", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(CursorHeader, "1")
			fmt.Fprint(w, strings.Repeat("x", 2000))
		}},
		{name: "ingest refuses", reason: "ingest", sinkErr: errors.New("the body holds no records"), handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(CursorHeader, "9")
			fmt.Fprintln(w, `garbage`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			if tt.down {
				srv.Close()
			} else {
				defer srv.Close()
			}
			c := config(srv.URL)
			c.MaxBytes = 1000
			sk := &sink{err: tt.sinkErr}
			s, err := New(Options{Configs: []Config{c}, Sink: sk.ingest, Registerer: prometheus.NewPedanticRegistry()})
			require.NoError(t, err)
			require.Error(t, s.ScrapeOnce(context.Background(), &c))
			require.Equal(t, 1.0, testutil.ToFloat64(s.failures.WithLabelValues("batch", tt.reason)))
			require.Equal(t, 0.0, testutil.ToFloat64(s.up.WithLabelValues("batch")))
			require.Empty(t, s.Cursor("batch"), "a failed scrape never moves the cursor")
		})
	}
}

func TestOffsetsSpreadJobs(t *testing.T) {
	a, b := offset("job-a", time.Minute), offset("job-b", time.Minute)
	require.Less(t, a, time.Minute)
	require.Less(t, b, time.Minute)
	require.NotEqual(t, a, b)
	require.Equal(t, a, offset("job-a", time.Minute), "the same job keeps its offset across restarts")
}

func TestValidate(t *testing.T) {
	good := config("http://x/records")
	tests := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"no job", func(c *Config) { c.JobName = "" }, "job_name"},
		{"bad url", func(c *Config) { c.URL = "ftp://x" }, "url"},
		{"kind", func(c *Config) { c.Kind = "both" }, "kind"},
		{"timeout", func(c *Config) { c.Timeout = yamlconf.Duration(2 * time.Minute) }, "scrape_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			require.ErrorContains(t, ValidateAll([]Config{c}, "."), tt.want)
		})
	}
	require.ErrorContains(t, ValidateAll([]Config{good, good}, "."), "used twice")
}
