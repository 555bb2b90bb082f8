// Package demo runs vigil on one machine with synthetic traffic that drifts and fails on a
// schedule: `vigil demo`. It starts a real Monitor on an embedded config, sends three
// models' predictions and labels through the HTTP ingest API as a model server would, and
// prints the story to a terminal as vigil sees it: a banner per phase and every alert that
// fires and resolves, from the console receiver.
//
// Time is compressed by Options.Speed: the story is written in "story seconds", and every
// duration in the config and the schedule is divided by the speed. Nothing is faked inside
// vigil: it runs on the wall clock, only with shorter intervals.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/vigilml/vigil/monitor"
)

//go:embed config.yaml.tmpl
var configTemplate string

// DefaultRate is the predictions per story second each model receives.
const DefaultRate = 50

// Options configure a demo.
type Options struct {
	// ListenAddress is where vigil listens; default ":9780". When it is taken, a free
	// port is used instead and printed.
	ListenAddress string
	// Speed compresses time: 2 plays the story twice as fast. Default 1 (about three minutes).
	Speed float64
	// Duration ends the demo after this much wall-clock time; default the story's length
	// at Speed. After the story, traffic goes on as normal.
	Duration time.Duration
	// Rate is the predictions per story second per model; default DefaultRate.
	Rate int
	// Out receives the story: phase banners, what vigil sees, alerts. Default os.Stdout.
	Out io.Writer
	// Logger receives vigil's own logs; default discards them.
	Logger *slog.Logger
	// SlackWebhookURL, when set, also sends every alert to this Slack incoming webhook.
	SlackWebhookURL string
	// PagerDutyRoutingKey, when set, also pages critical alerts to this Events API v2 key.
	PagerDutyRoutingKey string
	// PagerDutyURL overrides the PagerDuty Events API URL (for tests).
	PagerDutyURL string
	// Seed makes the traffic reproducible; default 1.
	Seed uint64
	// StatusEvery prints what vigil sees every this many story seconds; default 15, <0 never.
	StatusEvery float64
}

// Demo is a running demo: vigil, its config directory and the traffic generator.
type Demo struct {
	opts   Options
	dir    string
	mon    *monitor.Monitor
	url    string
	out    *storyWriter
	client *http.Client
	start  time.Time
}

// Start writes the config to a temporary directory, starts vigil and returns once it
// listens. Stop ends it and removes the directory.
func Start(opts Options) (*Demo, error) {
	if opts.ListenAddress == "" {
		opts.ListenAddress = monitor.DefaultListenAddress
	}
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.StatusEvery == 0 {
		opts.StatusEvery = 15
	}
	if opts.Duration <= 0 {
		opts.Duration = opts.storyDuration(storyLength)
	}
	dir, err := os.MkdirTemp("", "vigil-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo directory: %w", err)
	}
	d := &Demo{opts: opts, dir: dir, client: &http.Client{Timeout: 10 * time.Second}}
	d.out = &storyWriter{w: opts.Out, since: d.storyTime}
	if err := d.startMonitor(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return d, nil
}

func (d *Demo) startMonitor() error {
	cfgFile, err := d.writeConfig()
	if err != nil {
		return err
	}
	addr, moved, err := freeAddress(d.opts.ListenAddress)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	d.url = "http://" + net.JoinHostPort(host, port)
	m, err := monitor.New(monitor.Options{
		ConfigFile: cfgFile, ListenAddress: addr, Logger: d.opts.Logger,
		Console: d.out, ExternalURL: d.url, Version: "demo",
	})
	if err != nil {
		return fmt.Errorf("start vigil: %w", err)
	}
	if err := m.Start(); err != nil {
		return fmt.Errorf("start vigil: %w", err)
	}
	d.mon = m
	d.start = time.Now()
	if moved {
		fmt.Fprintf(d.out, "%s is taken; using a free port instead.\n", d.opts.ListenAddress)
	}
	return nil
}

// freeAddress returns addr when it can be listened on, else the same host with a free port.
func freeAddress(addr string) (string, bool, error) {
	ln, err := net.Listen("tcp", addr)
	moved := false
	if err != nil {
		host, _, _ := net.SplitHostPort(addr)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return "", false, fmt.Errorf("find a free port: %w", err)
		}
		moved = true
	}
	a := ln.Addr().String()
	_ = ln.Close()
	if _, port, _ := net.SplitHostPort(addr); !moved && port != "0" {
		return addr, false, nil
	}
	return a, moved, nil
}

// writeConfig renders the embedded config for this speed into the demo directory, with
// the Slack and PagerDuty secrets in files beside it (never in the config itself).
func (d *Demo) writeConfig() (string, error) {
	data := struct {
		StoragePath, Slack, PagerDuty, PagerDutyURL string
	}{StoragePath: strconv.Quote(filepath.Join(d.dir, "data")), PagerDutyURL: d.opts.PagerDutyURL}
	secret := func(name, value string) (string, error) {
		p := filepath.Join(d.dir, name)
		return strconv.Quote(p), os.WriteFile(p, []byte(value), 0o600)
	}
	var err error
	if d.opts.SlackWebhookURL != "" {
		if data.Slack, err = secret("slack-webhook-url", d.opts.SlackWebhookURL); err != nil {
			return "", fmt.Errorf("write Slack webhook file: %w", err)
		}
	}
	if d.opts.PagerDutyRoutingKey != "" {
		if data.PagerDuty, err = secret("pagerduty-routing-key", d.opts.PagerDutyRoutingKey); err != nil {
			return "", fmt.Errorf("write PagerDuty key file: %w", err)
		}
	}
	tmpl, err := template.New("config").Funcs(template.FuncMap{
		// dur is a story duration in seconds as a config duration at this speed.
		"dur": func(secs float64) string {
			return fmt.Sprintf("%dms", max(1, int64(secs*1000/d.opts.Speed)))
		},
		// secs is a story duration in seconds as seconds at this speed.
		"secs": func(secs float64) string { return strconv.FormatFloat(secs/d.opts.Speed, 'f', 3, 64) },
	}).Parse(configTemplate)
	if err != nil {
		return "", fmt.Errorf("demo config template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("demo config template: %w", err)
	}
	p := filepath.Join(d.dir, "vigil-demo.yaml")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("write demo config: %w", err)
	}
	return p, nil
}

// URL is vigil's base URL, such as http://localhost:9780.
func (d *Demo) URL() string { return d.url }

// Config returns the rendered config file's text.
func (d *Demo) Config() ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, "vigil-demo.yaml"))
}

// storyTime is how far into the story the demo is, in story time.
func (d *Demo) storyTime() time.Duration {
	return time.Duration(float64(time.Since(d.start)) * d.opts.Speed)
}

func (o Options) storyDuration(story time.Duration) time.Duration {
	return time.Duration(float64(story) / o.Speed)
}

// Play sends traffic and plays the schedule until Options.Duration has passed or ctx
// ends. It returns nil in both cases; an error only when vigil stops answering.
func (d *Demo) Play(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Duration-time.Since(d.start))
	defer cancel()
	fmt.Fprintf(d.out, `vigil demo — vigil is running at %s
  status page %s/   metrics %s/metrics   alerts %s/api/v1/alerts
  three models get synthetic traffic; the story takes %s (--speed %g); Ctrl-C ends it.

`, d.url, d.url, d.url, d.url, d.opts.storyDuration(storyLength).Round(time.Second), d.opts.Speed)

	g := newGenerator(d.opts.Seed)
	// Ticks are 100ms of story time, at most 50 a second of wall-clock time.
	tick := max(20*time.Millisecond, d.opts.storyDuration(100*time.Millisecond))
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	next, sent, over := 0, 0, false
	lastStatus := time.Duration(0)
	failures := 0
	for {
		st := d.storyTime()
		for next < len(schedule) && st >= schedule[next].at {
			p := schedule[next]
			p.apply(&g.world)
			d.banner(next, p)
			next++
		}
		if !over && st >= storyLength {
			over = true
			fmt.Fprintf(d.out, "\nThe story is over. Traffic goes on as normal until --duration ends or Ctrl-C.\n")
		}
		// Traffic keeps pace with story time; a slow tick is caught up, at most 10s of it.
		if want := int(st.Seconds() * float64(d.opts.Rate)); want > sent {
			if err := d.send(ctx, g, min(want-sent, 10*d.opts.Rate)); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if failures++; failures > 20 {
					return fmt.Errorf("vigil stopped answering: %w", err)
				}
				d.opts.Logger.Warn("demo traffic", "err", err)
			} else {
				failures = 0
			}
			sent = want
		}
		if d.opts.StatusEvery > 0 && st-lastStatus >= time.Duration(d.opts.StatusEvery*float64(time.Second)) {
			lastStatus = st
			d.status(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// send posts n predictions and their labels per model (none for a stalled model).
func (d *Demo) send(ctx context.Context, g *generator, n int) error {
	var errs []error
	for _, model := range models {
		if g.world.stalled[model] {
			continue
		}
		preds, labels := g.batch(model, n)
		errs = append(errs, d.post(ctx, "/api/v1/predictions", preds), d.post(ctx, "/api/v1/labels", labels))
	}
	return errors.Join(errs...)
}

func (d *Demo) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("post %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	var ir monitor.IngestResponse
	if err := json.Unmarshal(b, &ir); err == nil && ir.Rejected > 0 {
		return fmt.Errorf("post %s: %d rejected, first: %s", path, ir.Rejected, ir.Errors[0].Error)
	}
	return nil
}

func (d *Demo) banner(i int, p phase) {
	fmt.Fprintf(d.out, "\n━━ %d/%d %s\n", i+1, len(schedule), p.title)
	for _, l := range strings.Split(p.text, "\n") {
		fmt.Fprintf(d.out, "   %s\n", l)
	}
	fmt.Fprintln(d.out)
}

// status prints a line per model of what vigil currently sees, from its JSON API.
func (d *Demo) status(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+"/api/v1/models", nil)
	if err != nil {
		return
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var list monitor.ModelList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return
	}
	for _, s := range list.Models {
		fmt.Fprintf(d.out, "vigil sees %s\n", Summary(s))
	}
}

// Summary is one line of what vigil sees of a model: traffic, headline quality, drift.
func Summary(s *monitor.ModelStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s %6d predictions", s.Model, s.Events.Predictions)
	for _, q := range s.Quality {
		if q.Segment == monitor.AllValue && (q.Metric == "accuracy" || q.Metric == "mae") {
			fmt.Fprintf(&b, "  %s[%s]=%.3f", q.Metric, q.Version, q.Value)
		}
	}
	var drifted []string
	for _, f := range s.Features {
		if f.Detected != nil && *f.Detected {
			drifted = append(drifted, f.Name)
		}
	}
	if len(drifted) > 0 {
		fmt.Fprintf(&b, "  DRIFT: %s", strings.Join(drifted, ", "))
	}
	if s.LastEventAt != nil {
		if ago := s.EvaluatedAt.Sub(*s.LastEventAt); ago > time.Second {
			fmt.Fprintf(&b, "  last event %s ago", ago.Round(100*time.Millisecond))
		}
	}
	return b.String()
}

// Stop stops vigil and removes the demo directory.
func (d *Demo) Stop(ctx context.Context) error {
	err := d.mon.Stop(ctx)
	return errors.Join(err, os.RemoveAll(d.dir))
}

// storyWriter prefixes every line with the story time, so alerts read as a timeline.
type storyWriter struct {
	mu    sync.Mutex
	w     io.Writer
	since func() time.Duration
	mid   bool // in the middle of a line
}

func (s *storyWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !s.mid && len(bytes.TrimSpace(line)) > 0 {
			t := s.since()
			fmt.Fprintf(&b, "[%02d:%02d] ", int(t.Minutes()), int(t.Seconds())%60)
		}
		b.Write(line)
		s.mid = line[len(line)-1] != '\n'
	}
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// generator makes the three models' traffic from one seeded source.
type generator struct {
	rng   *rand.Rand
	seq   int
	world world
}

func newGenerator(seed uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), world: world{stalled: map[string]bool{}}}
}
