package alerting_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertingtest"
)

// t0 is a Monday, 10:00 UTC.
var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// harness drives a Dispatcher with a fake clock through Tick.
type harness struct {
	t     *testing.T
	clock *alertingtest.Clock
	d     *alerting.Dispatcher
	store alerting.Store
	recs  map[string]*alertingtest.Recorder
	audit *syncBuffer
	logs  *syncBuffer
	reg   *prometheus.Registry
	cfg   *alerting.Config
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harnessOpt func(*alerting.Options)

// newHarness loads cfgYAML, whose integration entries are {name: <recorder>}, with one
// recorder per name in recs (created for names not given).
func newHarness(t *testing.T, cfgYAML string, recs map[string]*alertingtest.Recorder, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, clock: alertingtest.NewClock(t0), recs: recs, audit: &syncBuffer{}, logs: &syncBuffer{}, reg: prometheus.NewPedanticRegistry()}
	if h.recs == nil {
		h.recs = map[string]*alertingtest.Recorder{}
	}
	o := alerting.Options{
		Store:      alerting.NewMemStore(),
		Now:        h.clock.Now,
		Audit:      h.audit,
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: h.reg,
		Jitter:     func() float64 { return 0 },
	}
	for _, f := range opts {
		f(&o)
	}
	h.store = o.Store
	d, err := alerting.New(o)
	require.NoError(t, err)
	h.d = d
	h.apply(cfgYAML)
	return h
}

func (h *harness) apply(cfgYAML string) {
	h.t.Helper()
	cfg, err := alerting.LoadConfig([]byte(cfgYAML))
	require.NoError(h.t, err)
	for _, r := range cfg.Receivers {
		for _, ic := range r.Integrations {
			var c alertingtest.RecorderConfig
			require.NoError(h.t, ic.Decode(&c))
			if _, ok := h.recs[c.Name]; !ok {
				h.recs[c.Name] = alertingtest.NewRecorder()
			}
		}
	}
	require.NoError(h.t, h.d.ApplyConfig(cfg, alertingtest.Builder(h.recs)))
	h.cfg = cfg
}

func (h *harness) put(alerts ...*alerting.Alert) {
	h.t.Helper()
	require.NoError(h.t, h.d.Put(context.Background(), alerts))
}

// at moves the clock to t0+off and ticks.
func (h *harness) at(off time.Duration) {
	h.t.Helper()
	h.clock.Set(t0.Add(off))
	h.d.Tick(context.Background(), h.clock.Now())
}

// sent returns the messages recorder name accepted.
func (h *harness) sent(name string) []*alerting.Message { return h.recs[name].Messages() }

func alert(pairs ...string) *alerting.Alert {
	a := alertingtest.Alert(pairs...)
	a.StartsAt = t0
	return a
}

func resolvedAt(a *alerting.Alert, t time.Time) *alerting.Alert {
	c := *a
	c.EndsAt = t
	return &c
}

// alertnames returns the alertname and status of each alert of m, for compact checks.
func alertStates(m *alerting.Message) []string {
	var out []string
	for _, a := range m.Alerts {
		st := "firing"
		if !a.EndsAt.IsZero() {
			st = "resolved"
		}
		out = append(out, a.Labels["alertname"]+":"+st)
	}
	return out
}

const oneReceiver = `
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: team
    webhook_configs: [{name: rec}]
`

func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

type contextLike = context.Context

// metric returns one series of the harness's metrics by short name.
func metric(h *harness, name string, lv ...string) prometheus.Collector {
	mfs, err := h.reg.Gather()
	require.NoError(h.t, err)
	full := map[string]string{
		"notifications": "vigil_notifications_total",
		"failed":        "vigil_notifications_failed_total",
		"dropped":       "vigil_notifications_dropped_total",
		"outbox":        "vigil_notification_outbox",
	}[name]
	for _, mf := range mfs {
		if mf.GetName() != full {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := len(m.GetLabel()) == len(lv)
			for i, l := range m.GetLabel() {
				ok = ok && i < len(lv) && l.GetValue() == lv[i]
			}
			if ok {
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
				g.Set(v)
				return g
			}
		}
	}
	h.t.Fatalf("no series %s%v", full, lv)
	return nil
}
