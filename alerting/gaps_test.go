package alerting_test

// Tests for the known Alertmanager gaps vigil closes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertingtest"
)

// httpNotifier posts messages as JSON and classifies answers as a chat or paging
// integration does: 429 and 5xx are retryable (429 with its Retry-After), other 4xx
// permanent.
type httpNotifier struct{ url string }

func (n httpNotifier) Notify(ctx context.Context, m *alerting.Message) (map[string]string, error) {
	body, _ := json.Marshal(map[string]any{"status": m.Status, "groupKey": m.GroupKey})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, alerting.Retryable(err, 0)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, alerting.Retryable(errors.New(resp.Status), time.Duration(secs)*time.Second)
	case resp.StatusCode >= 500:
		return nil, alerting.Retryable(errors.New(resp.Status), 0)
	case resp.StatusCode >= 400:
		return nil, errors.New(resp.Status)
	}
	return map[string]string{"ts": resp.Header.Get("X-Ts")}, nil
}

// alertmanager#2205: Slack's 429 is not retried and Retry-After is ignored. vigil
// retries and waits at least Retry-After.
func TestGapSlack429RetryAfter(t *testing.T) {
	var mu sync.Mutex
	var hits []time.Time
	clock := alertingtest.NewClock(t0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits = append(hits, clock.Now())
		if len(hits) == 1 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-Ts", "1700000000.000100")
	}))
	defer srv.Close()

	d, err := alerting.New(alerting.Options{Now: clock.Now, Jitter: func() float64 { return 0 }})
	require.NoError(t, err)
	cfg, err := alerting.LoadConfig([]byte(oneReceiver))
	require.NoError(t, err)
	require.NoError(t, d.ApplyConfig(cfg, func(string, func(any) error) (alerting.Notifier, error) {
		return httpNotifier{url: srv.URL}, nil
	}))
	require.NoError(t, d.Put(context.Background(), []*alerting.Alert{alert("alertname", "X")}))
	ctx := context.Background()
	for off := 30 * time.Second; off <= 2*time.Minute; off += time.Second {
		clock.Set(t0.Add(off))
		d.Tick(ctx, clock.Now())
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, hits, 2, "retried once, then delivered")
	require.Equal(t, t0.Add(30*time.Second), hits[0])
	require.Equal(t, t0.Add(60*time.Second), hits[1], "the retry waited exactly Retry-After (30s), not the 1s backoff")
	ev := d.History(alerting.HistoryFilter{Types: []alerting.EventType{alerting.EventRetry}})
	require.Len(t, ev, 1)
	require.Contains(t, ev[0].Error, "429")
}

const pagerConfig = `
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: pager
    pagerduty_configs: [{name: pd}]
    slack_configs: [{name: slack}]
`

// alertmanager#226: a silence added after the page swallows the resolve, and the
// PagerDuty incident stays open. vigil still sends the resolve to every integration
// that got the page, and sends nothing else while the silence holds.
func TestGapResolveAfterSilence(t *testing.T) {
	recs := map[string]*alertingtest.Recorder{"pd": alertingtest.NewRecorder(), "slack": alertingtest.NewRecorder().WithoutResolved()}
	h := newHarness(t, pagerConfig, recs, longResolve)
	a := alert("alertname", "AccuracyDrop", "model", "fraud")
	h.put(a)
	h.at(30 * time.Second)
	require.Len(t, h.sent("pd"), 1, "paged")
	require.Len(t, h.sent("slack"), 1)

	// On-call acknowledges by silencing the alert.
	h.clock.Set(t0.Add(time.Minute))
	_, err := h.d.Silences().Set(alerting.Silence{Matchers: mustMatchers(t, `alertname="AccuracyDrop"`), EndsAt: t0.Add(24 * time.Hour), CreatedBy: "oncall"})
	require.NoError(t, err)

	// While silenced and still firing: no repeat, though repeat_interval (1h) passes.
	h.every(time.Minute, 3*time.Hour, 5*time.Minute, a)
	require.Len(t, h.sent("pd"), 1, "the silence holds the repeats")

	// A new alert of the group that starts while silenced is never paged, nor resolved.
	b := alert("alertname", "AccuracyDrop", "model", "churn")
	h.put(a, b)
	h.at(3*time.Hour + 5*time.Minute)

	// The alerts resolve while the silence is still active.
	end := t0.Add(3*time.Hour + 10*time.Minute)
	h.clock.Set(end)
	h.put(resolvedAt(a, end), resolvedAt(b, end))
	h.at(3*time.Hour + 15*time.Minute)
	pd := h.sent("pd")
	require.Len(t, pd, 2, "the resolve goes out despite the silence")
	require.Equal(t, alerting.StatusResolved, pd[1].Status)
	require.Equal(t, pd[0].GroupKey, pd[1].GroupKey, "same group key: PagerDuty's dedup_key closes the incident")
	require.Equal(t, []string{"AccuracyDrop:resolved"}, alertStates(pd[1]))
	require.Equal(t, "fraud", pd[1].Alerts[0].Labels["model"], "only the alert that was paged")
	require.Len(t, h.sent("slack"), 1, "send_resolved: false still applies")

	// Nothing more afterwards.
	h.every(3*time.Hour+15*time.Minute, 5*time.Hour, 5*time.Minute)
	require.Len(t, h.sent("pd"), 2)
}

// The same for inhibition: an alert paged before its inhibitor fired still resolves.
func TestGapResolveAfterInhibition(t *testing.T) {
	cfg := pagerConfig + `
inhibit_rules:
  - source_matchers: [alertname=ModelDown]
    target_matchers: [alertname=AccuracyDrop]
    equal: [model]
`
	h := newHarness(t, cfg, nil, longResolve)
	a := alert("alertname", "AccuracyDrop", "model", "fraud")
	h.put(a)
	h.at(30 * time.Second)
	down := alert("alertname", "ModelDown", "model", "fraud")
	h.put(a, down)
	h.at(5*time.Minute + 30*time.Second)
	h.clock.Set(t0.Add(6 * time.Minute))
	h.put(resolvedAt(a, t0.Add(6*time.Minute)), down)
	h.at(10*time.Minute + 30*time.Second)
	var got []string
	for _, m := range h.sent("pd") {
		got = append(got, m.GroupLabels["alertname"]+":"+string(m.Status))
	}
	require.Equal(t, []string{"AccuracyDrop:firing", "ModelDown:firing", "AccuracyDrop:resolved"}, got)
	require.Equal(t, []string{"AccuracyDrop:resolved"}, alertStates(h.sent("pd")[2]))
}

// alertmanager#2370: the notification log is snapshotted every 15 minutes, so a crash
// re-pages. vigil writes each send to the log durably before it moves on: after a
// restart (here: the store closed and reopened without any shutdown step), the group
// is not notified again inside repeat_interval.
func TestGapNoRepageAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerting.db")
	store, err := alerting.OpenBoltStore(path)
	require.NoError(t, err)
	recs := map[string]*alertingtest.Recorder{}
	h := newHarness(t, pagerConfig, recs, longResolve, func(o *alerting.Options) { o.Store = store })
	a := alert("alertname", "AccuracyDrop", "model", "fraud")
	h.put(a)
	h.at(30 * time.Second)
	require.Len(t, h.sent("pd"), 1)
	// Crash one second after the page: nothing is flushed or closed in an orderly way.
	require.NoError(t, store.Close())

	store2, err := alerting.OpenBoltStore(path)
	require.NoError(t, err)
	defer store2.Close()
	recs2 := map[string]*alertingtest.Recorder{}
	h2 := newHarness(t, pagerConfig, recs2, longResolve, func(o *alerting.Options) { o.Store = store2 })
	h2.clock.Set(t0.Add(31 * time.Second))
	h2.put(a) // the rules re-send their alerts after the restart
	h2.every(31*time.Second, time.Hour, 30*time.Second, a)
	require.Empty(t, h2.sent("pd"), "not re-paged inside repeat_interval")
	require.Empty(t, h2.sent("slack"))
	h2.every(time.Hour, time.Hour+5*time.Minute, 30*time.Second, a)
	require.Len(t, h2.sent("pd"), 1, "repeated once repeat_interval has passed since the page")
}
