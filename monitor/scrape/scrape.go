// Package scrape is vigil's pull source: on an interval, per target, it GETs an HTTP
// endpoint that returns the prediction (or label) records written since a cursor, as NDJSON,
// applies them through the ingest path of the HTTP API, and keeps the cursor across
// restarts, the way Prometheus users know from scrape_configs.
//
// # The endpoint's contract
//
// vigil sends GET <url>?<cursor_param>=<cursor> (no parameter on the first scrape of a
// target) and expects 200 with NDJSON records in the body and the cursor to send next time
// in the X-Vigil-Cursor response header. An empty body with the same cursor means nothing
// new. The cursor is saved only after the records are applied, so a crash repeats a scrape
// rather than losing one.
package scrape

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// CursorHeader is the response header that carries the next cursor.
const CursorHeader = "X-Vigil-Cursor"

// Defaults of a scrape config.
const (
	DefaultInterval    = time.Minute
	DefaultTimeout     = 10 * time.Second
	DefaultCursorParam = "cursor"
	DefaultMaxBytes    = 32 << 20
)

// Config is one entry of scrape_configs.
type Config struct {
	JobName string `yaml:"job_name"`
	URL     string `yaml:"url"`
	// Kind is predictions (default) or labels.
	Kind            string            `yaml:"kind"`
	Interval        yamlconf.Duration `yaml:"scrape_interval"`
	Timeout         yamlconf.Duration `yaml:"scrape_timeout"`
	CursorParam     string            `yaml:"cursor_param"`
	BearerTokenFile string            `yaml:"bearer_token_file,omitempty"`
	// MaxBytes bounds one response body.
	MaxBytes int64 `yaml:"max_bytes"`
}

// UnmarshalYAML sets the defaults before the file's values are read.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = Config{Kind: "predictions", Interval: yamlconf.Duration(DefaultInterval), Timeout: yamlconf.Duration(DefaultTimeout),
		CursorParam: DefaultCursorParam, MaxBytes: DefaultMaxBytes}
	type plain Config
	return unmarshal((*plain)(c))
}

// Validate checks one scrape config; dir resolves a relative bearer_token_file.
func (c *Config) Validate(at, dir string) error {
	u, err := url.Parse(c.URL)
	switch {
	case c.JobName == "":
		return yamlconf.FieldErr(at+".job_name", "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return yamlconf.FieldErr(at+".url", "must be an http or https URL")
	case c.Kind != "predictions" && c.Kind != "labels":
		return yamlconf.FieldErr(at+".kind", "%q is not one of predictions, labels", c.Kind)
	case c.Interval <= 0:
		return yamlconf.FieldErr(at+".scrape_interval", "must be positive")
	case c.Timeout <= 0 || c.Timeout > c.Interval:
		return yamlconf.FieldErr(at+".scrape_timeout", "must be positive and at most scrape_interval")
	case c.CursorParam == "":
		return yamlconf.FieldErr(at+".cursor_param", "must not be empty")
	case c.MaxBytes <= 0:
		return yamlconf.FieldErr(at+".max_bytes", "must be positive")
	}
	if c.BearerTokenFile != "" && !filepath.IsAbs(c.BearerTokenFile) {
		c.BearerTokenFile = filepath.Join(dir, c.BearerTokenFile)
	}
	return nil
}

// ValidateAll checks scrape_configs, including that job names are unique.
func ValidateAll(cs []Config, dir string) error {
	seen := map[string]bool{}
	for i := range cs {
		at := fmt.Sprintf("scrape_configs[%d]", i)
		if err := cs[i].Validate(at, dir); err != nil {
			return err
		}
		if seen[cs[i].JobName] {
			return yamlconf.FieldErr(at+".job_name", "%q is used twice", cs[i].JobName)
		}
		seen[cs[i].JobName] = true
	}
	return nil
}

// Sink applies an NDJSON body of labels or predictions and returns once they are applied.
type Sink func(ctx context.Context, labels bool, ndjson []byte) error

// Options configure a Scraper.
type Options struct {
	Configs []Config
	Sink    Sink
	// CursorFile keeps every job's cursor across restarts ("" keeps them in memory only).
	CursorFile string
	Client     *http.Client
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Scraper runs the scrape loops.
type Scraper struct {
	opts Options

	mu      sync.Mutex
	cursors map[string]string

	up, duration, lastSuccess *prometheus.GaugeVec
	records, failures         *prometheus.CounterVec
}

// New loads the saved cursors and registers the metrics.
func New(opts Options) (*Scraper, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Scraper{opts: opts, cursors: map[string]string{}}
	if opts.CursorFile != "" {
		b, err := os.ReadFile(opts.CursorFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read scrape cursors: %w", err)
		default:
			if err := json.Unmarshal(b, &s.cursors); err != nil {
				return nil, fmt.Errorf("scrape cursors %s: %w", opts.CursorFile, err)
			}
		}
	}
	f := promauto.With(opts.Registerer)
	const ns, sub = "vigil", "scrape"
	s.up = f.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "up",
		Help: "1 when the job's last scrape succeeded, else 0 (alert on it as on Prometheus's up)."}, []string{"job"})
	s.duration = f.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "duration_seconds",
		Help: "How long the job's last scrape took, applying included."}, []string{"job"})
	s.lastSuccess = f.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "last_success_timestamp_seconds",
		Help: "When the job last scraped successfully; alert on staleness with time() minus it."}, []string{"job"})
	s.records = f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "records_total",
		Help: "NDJSON records scraped and handed to ingestion."}, []string{"job"})
	s.failures = f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "failures_total",
		Help: "Failed scrapes by reason: unreachable, timeout, status, no_cursor, too_large, ingest."}, []string{"job", "reason"})
	for _, c := range opts.Configs {
		s.up.WithLabelValues(c.JobName)
		s.records.WithLabelValues(c.JobName)
		for _, r := range []string{"unreachable", "timeout", "status", "no_cursor", "too_large", "ingest"} {
			s.failures.WithLabelValues(c.JobName, r)
		}
	}
	return s, nil
}

// Cursor returns a job's current cursor.
func (s *Scraper) Cursor(job string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[job]
}

// Run scrapes every job on its interval until ctx ends. Each job starts at an offset within
// its interval taken from a hash of its name, so jobs with the same interval do not all
// fire at once (Prometheus spreads its targets the same way).
func (s *Scraper) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range s.opts.Configs {
		c := s.opts.Configs[i]
		wg.Go(func() { s.loop(ctx, &c) })
	}
	wg.Wait()
	return nil
}

func offset(job string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(job))
	return time.Duration(h.Sum64() % uint64(interval))
}

func (s *Scraper) loop(ctx context.Context, c *Config) {
	interval := c.Interval.Std()
	select {
	case <-ctx.Done():
		return
	case <-time.After(offset(c.JobName, interval)):
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := s.ScrapeOnce(ctx, c); err != nil {
			s.opts.Logger.Warn("scrape failed", "job", c.JobName, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// ScrapeOnce scrapes a job once: fetch since the cursor, apply, then save the new cursor.
func (s *Scraper) ScrapeOnce(ctx context.Context, c *Config) (err error) {
	start := time.Now()
	defer func() {
		s.duration.WithLabelValues(c.JobName).Set(time.Since(start).Seconds())
		if err != nil {
			s.up.WithLabelValues(c.JobName).Set(0)
			return
		}
		s.up.WithLabelValues(c.JobName).Set(1)
		s.lastSuccess.WithLabelValues(c.JobName).Set(float64(s.opts.Now().UnixNano()) / 1e9)
	}()
	fail := func(reason string, err error) error {
		s.failures.WithLabelValues(c.JobName, reason).Inc()
		return err
	}
	cursor := s.Cursor(c.JobName)
	u, _ := url.Parse(c.URL)
	if cursor != "" {
		q := u.Query()
		q.Set(c.CursorParam, cursor)
		u.RawQuery = q.Encode()
	}
	rctx, cancel := context.WithTimeout(ctx, c.Timeout.Std())
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail("unreachable", err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	if c.BearerTokenFile != "" {
		tok, err := os.ReadFile(c.BearerTokenFile)
		if err != nil {
			return fail("unreachable", fmt.Errorf("bearer_token_file: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fail("timeout", fmt.Errorf("GET %s: no answer within %s", u.Redacted(), c.Timeout))
		}
		return fail("unreachable", fmt.Errorf("GET %s: %w", u.Redacted(), err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("status", fmt.Errorf("GET %s: status %s", u.Redacted(), resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxBytes+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fail("timeout", fmt.Errorf("GET %s: body not read within %s", u.Redacted(), c.Timeout))
		}
		return fail("unreachable", fmt.Errorf("GET %s: read body: %w", u.Redacted(), err))
	}
	if int64(len(body)) > c.MaxBytes {
		return fail("too_large", fmt.Errorf("GET %s: body over max_bytes %d; the endpoint must page", u.Redacted(), c.MaxBytes))
	}
	next := resp.Header.Get(CursorHeader)
	if next == "" {
		return fail("no_cursor", fmt.Errorf("GET %s: no %s header: the records could not be resumed after", u.Redacted(), CursorHeader))
	}
	if n := bytes.Count(bytes.TrimSpace(body), []byte{'\n'}); len(bytes.TrimSpace(body)) > 0 {
		if err := s.opts.Sink(ctx, c.Kind == "labels", body); err != nil {
			return fail("ingest", fmt.Errorf("apply records of %s: %w", c.JobName, err))
		}
		s.records.WithLabelValues(c.JobName).Add(float64(n + 1))
	}
	return s.saveCursor(c.JobName, next)
}

// saveCursor keeps the cursor, writing the file atomically (temp file, fsync, rename).
func (s *Scraper) saveCursor(job, cursor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cursors[job] == cursor {
		return nil
	}
	s.cursors[job] = cursor
	if s.opts.CursorFile == "" {
		return nil
	}
	b, err := json.Marshal(s.cursors)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.opts.CursorFile), 0o755); err != nil {
		return fmt.Errorf("save scrape cursor: %w", err)
	}
	tmp := s.opts.CursorFile + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("save scrape cursor: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("save scrape cursor: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save scrape cursor: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save scrape cursor: %w", err)
	}
	if err := os.Rename(tmp, s.opts.CursorFile); err != nil {
		return fmt.Errorf("save scrape cursor: %w", err)
	}
	return nil
}
