package alerting_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertingtest"
)

func TestAuditTrail(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	h.recs["rec"].Fail(alerting.Retryable(errors.New("503"), 0), 1)
	a := alert("alertname", "X", "model", "fraud")
	h.put(a)
	h.at(30 * time.Second)
	h.at(31 * time.Second)
	h.put(resolvedAt(a, t0.Add(time.Minute)))
	h.at(5*time.Minute + 30*time.Second)

	var types []alerting.EventType
	sc := bufio.NewScanner(strings.NewReader(h.audit.String()))
	var lastSeq uint64
	for sc.Scan() {
		var e alerting.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "every line is one JSON event")
		require.Greater(t, e.Seq, lastSeq)
		lastSeq = e.Seq
		types = append(types, e.Type)
	}
	require.Equal(t, []alerting.EventType{
		alerting.EventAlertFiring, alerting.EventQueued, alerting.EventRetry, alerting.EventSent,
		alerting.EventAlertResolved, alerting.EventQueued, alerting.EventSent,
	}, types)

	all := h.d.History(alerting.HistoryFilter{})
	require.Len(t, all, len(types))
	sent := h.d.History(alerting.HistoryFilter{Types: []alerting.EventType{alerting.EventSent}, Receiver: "team"})
	require.Len(t, sent, 2)
	require.Equal(t, alerting.StatusResolved, sent[1].Status)
	require.Equal(t, 2, sent[0].Attempt)
	last := h.d.History(alerting.HistoryFilter{Limit: 1})
	require.Equal(t, alerting.EventSent, last[0].Type)
	fraud := h.d.History(alerting.HistoryFilter{Matchers: mustMatchers(t, "model=fraud")})
	require.Len(t, fraud, 2, "the alert's own transitions")
	window := h.d.History(alerting.HistoryFilter{Since: t0.Add(time.Minute), Until: t0.Add(time.Hour)})
	require.Len(t, window, 3)
	none := h.d.History(alerting.HistoryFilter{GroupKey: "nope"})
	require.Empty(t, none)
}

func TestHistoryIsBounded(t *testing.T) {
	store := alerting.NewMemStore()
	h := newHarness(t, oneReceiver, nil, longResolve, func(o *alerting.Options) { o.HistoryLimit = 5; o.Store = store })
	for i := range 20 {
		h.put(alert("alertname", "X", "n", string(rune('a'+i))))
	}
	require.Len(t, h.d.History(alerting.HistoryFilter{}), 5)
	require.Equal(t, 5, store.Len(alerting.BucketHistory))
	require.Len(t, strings.Split(strings.TrimSpace(h.audit.String()), "\n"), 20, "the JSONL writer gets everything")
}

func TestStoreFailureIsLoggedAndDeliveryGoesOn(t *testing.T) {
	store := alerting.NewMemStore()
	h := newHarness(t, oneReceiver, nil, longResolve, func(o *alerting.Options) { o.Store = store })
	store.FailApply = errors.New("disk full")
	h.put(alert("alertname", "X"))
	h.at(30 * time.Second)
	require.Len(t, h.sent("rec"), 1)
	require.Contains(t, h.logs.String(), "store write failed")
	require.Contains(t, h.logs.String(), "disk full")
	require.Contains(t, h.audit.String(), `"type":"notification_sent"`, "the audit trail still says what happened")
	_, err := h.d.Silences().Set(alerting.Silence{Matchers: mustMatchers(t, "a=b"), EndsAt: t0.Add(time.Hour)})
	require.ErrorContains(t, err, "disk full", "silences report the failure to the API")
}

func TestMetricsArePreInitialised(t *testing.T) {
	h := newHarness(t, twoReceivers, nil)
	_, err := h.d.Silences().Set(alerting.Silence{Matchers: mustMatchers(t, "a=b"), EndsAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	want := `
# HELP vigil_notification_outbox Notifications queued for delivery (durably), per receiver.
# TYPE vigil_notification_outbox gauge
vigil_notification_outbox{receiver="pager"} 0
vigil_notification_outbox{receiver="slack"} 0
# HELP vigil_notifications_dropped_total Notifications given up: evicted from a full outbox, or refused with a permanent error.
# TYPE vigil_notifications_dropped_total counter
vigil_notifications_dropped_total{receiver="pager"} 0
vigil_notifications_dropped_total{receiver="slack"} 0
# HELP vigil_notifications_failed_total Delivery attempts that failed (retryable or permanent), per receiver and integration kind.
# TYPE vigil_notifications_failed_total counter
vigil_notifications_failed_total{integration="pagerduty",receiver="pager"} 0
vigil_notifications_failed_total{integration="slack",receiver="slack"} 0
vigil_notifications_failed_total{integration="webhook",receiver="pager"} 0
# HELP vigil_notifications_total Delivery attempts of notifications, per receiver and integration kind.
# TYPE vigil_notifications_total counter
vigil_notifications_total{integration="pagerduty",receiver="pager"} 0
vigil_notifications_total{integration="slack",receiver="slack"} 0
vigil_notifications_total{integration="webhook",receiver="pager"} 0
# HELP vigil_silences Silences by state.
# TYPE vigil_silences gauge
vigil_silences{state="active"} 1
vigil_silences{state="expired"} 0
vigil_silences{state="pending"} 0
`
	require.NoError(t, testutil.GatherAndCompare(h.reg, strings.NewReader(want)))

	// A reload that drops a receiver's integration drops its series.
	h.apply("route: {receiver: slack}\nreceivers: [{name: slack, slack_configs: [{name: slack}]}]\n")
	n, err := testutil.GatherAndCount(h.reg, "vigil_notifications_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestConsole(t *testing.T) {
	var buf bytes.Buffer
	c := alerting.NewConsole(&buf, alerting.ConsoleConfig{})
	require.True(t, c.SendResolved())
	m := &alerting.Message{
		Receiver: "ml", Status: alerting.StatusFiring, GroupLabels: map[string]string{"alertname": "AccuracyDrop"},
		Alerts: []*alerting.Alert{
			{Labels: map[string]string{"alertname": "AccuracyDrop", "model": "fraud"}, Annotations: map[string]string{"summary": "fraud accuracy is 0.810"}, StartsAt: t0, Value: 0.81, Threshold: 0.85},
			{Labels: map[string]string{"alertname": "AccuracyDrop", "model": "churn"}, Annotations: map[string]string{"description": "d"}, StartsAt: t0, EndsAt: t0.Add(time.Hour)},
		},
	}
	_, err := c.Notify(context.Background(), m)
	require.NoError(t, err)
	require.Equal(t, `[FIRING:1] ml {alertname="AccuracyDrop"}
  firing   {alertname="AccuracyDrop", model="fraud"} value=0.81 threshold=0.85 since 2026-01-05T10:00:00Z: fraud accuracy is 0.810
  resolved {alertname="AccuracyDrop", model="churn"} value=0 threshold=0 since 2026-01-05T11:00:00Z: d
`, buf.String())

	f := false
	ic, err := alerting.NewIntegrationConfig(alerting.KindConsole, alerting.ConsoleConfig{SendResolved: &f})
	require.NoError(t, err)
	n, err := alerting.BuildConsole(&buf)(ic.Decode)
	require.NoError(t, err)
	require.False(t, n.(alerting.ResolvedSender).SendResolved())
	bad, err := alerting.NewIntegrationConfig(alerting.KindConsole, map[string]any{"colour": true})
	require.NoError(t, err)
	_, err = alerting.BuildConsole(&buf)(bad.Decode)
	require.ErrorContains(t, err, "field colour not found")
}

// Run drives the same pipeline with real goroutines and timers; synctest gives it fake
// time (no sockets inside the bubble).
func TestRunDeliversAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := alertingtest.NewRecorder()
		rec.Fail(alerting.Retryable(errors.New("429"), 20*time.Second), 1)
		d, err := alerting.New(alerting.Options{Registerer: prometheus.NewRegistry()})
		require.NoError(t, err)
		cfg, err := alerting.LoadConfig([]byte(oneReceiver))
		require.NoError(t, err)
		require.NoError(t, d.ApplyConfig(cfg, alertingtest.Builder(map[string]*alertingtest.Recorder{"rec": rec})))
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- d.Run(context.Background()) }()
		require.NoError(t, d.Put(context.Background(), []*alerting.Alert{{Labels: map[string]string{"alertname": "X"}, StartsAt: start}}))

		time.Sleep(29 * time.Second)
		synctest.Wait()
		require.Empty(t, rec.Attempts())
		time.Sleep(time.Second)
		synctest.Wait()
		require.Len(t, rec.Attempts(), 1, "at group_wait")
		time.Sleep(19 * time.Second)
		synctest.Wait()
		require.Empty(t, rec.Messages())
		time.Sleep(time.Second)
		synctest.Wait()
		require.Len(t, rec.Messages(), 1, "after Retry-After")
		require.Equal(t, 50*time.Second, time.Since(start))

		d.Stop()
		d.Stop()
		require.NoError(t, <-done)
	})
}

func TestRunTwiceIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := alerting.New(alerting.Options{})
		require.NoError(t, err)
		go func() { _ = d.Run(context.Background()) }()
		synctest.Wait()
		require.Error(t, d.Run(context.Background()))
		d.Stop()
	})
}

// A Notify call in flight when Run stops sees its context cancelled; its message stays
// queued, untouched.
func TestStopCancelsInFlightAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := alerting.NewMemStore()
		rec := alertingtest.NewRecorder()
		rec.OnNotify = func(ctx context.Context, _ *alerting.Message) { <-ctx.Done() }
		rec.Fail(errors.New("cancelled"), 1)
		d, err := alerting.New(alerting.Options{Store: store})
		require.NoError(t, err)
		cfg, err := alerting.LoadConfig([]byte(oneReceiver))
		require.NoError(t, err)
		require.NoError(t, d.ApplyConfig(cfg, alertingtest.Builder(map[string]*alertingtest.Recorder{"rec": rec})))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		require.NoError(t, d.Put(ctx, []*alerting.Alert{{Labels: map[string]string{"alertname": "X"}, StartsAt: time.Now().Add(-time.Hour)}}))
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		require.NoError(t, <-done)
		require.Equal(t, 1, store.Len(alerting.BucketOutbox))
		require.Empty(t, rec.Messages())
	})
}
