package alerting_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertingtest"
)

func attemptTimes(h *harness, name string) int { return len(h.recs[name].Attempts()) }

func TestRetryWithBackoff(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve, func(o *alerting.Options) {
		o.Jitter = func() float64 { return 0.999999 } // the top of each jitter range
	})
	h.recs["rec"].Fail(alerting.Retryable(errors.New("503 from peer"), 0), 4)
	h.put(alert("alertname", "X"))
	h.at(30 * time.Second) // attempt 1 fails: wait up to 1s
	require.Equal(t, 1, attemptTimes(h, "rec"))
	// Waits are (min 1s) up to 1s, 2s, 4s, 8s after each failure.
	at := 30 * time.Second
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		h.at(at + wait - 10*time.Millisecond)
		require.Equal(t, i+1, attemptTimes(h, "rec"), "not before the backoff")
		at += wait
		h.at(at)
		require.Equal(t, i+2, attemptTimes(h, "rec"))
	}
	require.Len(t, h.sent("rec"), 1, "delivered on the fifth attempt")
	require.Equal(t, 5.0, testutil.ToFloat64(metric(h, "notifications", "webhook", "team")))
	require.Equal(t, 4.0, testutil.ToFloat64(metric(h, "failed", "webhook", "team")))
	require.Equal(t, 4, strings.Count(h.audit.String(), `"type":"notification_retry"`))
	require.Contains(t, h.logs.String(), "notification failed; it stays queued and is retried")
}

func TestFailedNotificationStaysQueued(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	h.recs["rec"].Fail(alerting.Retryable(errors.New("down"), 0), 1000)
	h.put(alert("alertname", "X"))
	for off := 30 * time.Second; off < 6*time.Hour; off += time.Minute {
		h.at(off)
	}
	require.Empty(t, h.sent("rec"))
	require.Greater(t, attemptTimes(h, "rec"), 50)
	require.Equal(t, 1, h.store.(*alerting.MemStore).Len(alerting.BucketOutbox), "never dropped: one message, its newest state")
	require.Equal(t, 1.0, testutil.ToFloat64(metric(h, "outbox", "team")))
	require.Equal(t, 0.0, testutil.ToFloat64(metric(h, "dropped", "team")))
}

func TestRetryAfterIsHonoured(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	h.recs["rec"].Script(alertingtest.Result{Err: alerting.Retryable(errors.New("429 Too Many Requests"), 42*time.Second)})
	h.put(alert("alertname", "X"))
	h.at(30 * time.Second)
	require.Equal(t, 1, attemptTimes(h, "rec"))
	for off := 31 * time.Second; off < 72*time.Second; off += time.Second {
		h.at(off)
	}
	require.Equal(t, 1, attemptTimes(h, "rec"), "no attempt before Retry-After")
	h.at(72 * time.Second)
	require.Equal(t, 2, attemptTimes(h, "rec"))
	require.Len(t, h.sent("rec"), 1)
	require.Contains(t, h.audit.String(), `"nextAttempt":"2026-01-05T10:01:12Z"`)
}

func TestPermanentErrorIsLoggedOnceAndCounted(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	h.recs["rec"].Script(alertingtest.Result{Err: errors.New("400 invalid_payload")})
	a := alert("alertname", "X")
	h.put(a)
	h.at(30 * time.Second)
	h.at(time.Minute)
	require.Equal(t, 1, attemptTimes(h, "rec"), "not retried")
	require.Equal(t, 1, strings.Count(h.logs.String(), "permanent error"))
	require.Contains(t, h.logs.String(), "400 invalid_payload")
	require.Contains(t, h.logs.String(), `group="{}:{alertname=\"X\"}"`)
	require.Equal(t, 1.0, testutil.ToFloat64(metric(h, "failed", "webhook", "team")))
	require.Equal(t, 1.0, testutil.ToFloat64(metric(h, "dropped", "team")))
	require.Equal(t, 0, h.store.(*alerting.MemStore).Len(alerting.BucketOutbox))
	// The log was not updated, so the group is tried again at its next flush.
	h.put(a)
	h.at(5*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 1)
}

func TestPanickingIntegrationIsPermanent(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	h.recs["rec"].OnNotify = func(ctxUnused contextLike, m *alerting.Message) { panic("boom") }
	h.put(alert("alertname", "X"))
	h.at(30 * time.Second)
	require.Contains(t, h.logs.String(), "integration panicked: boom")
}

func TestOutboxEvictsOldest(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve, func(o *alerting.Options) { o.MaxOutbox = 2 })
	// Each new head of the queue is tried once and told to come back in an hour.
	h.recs["rec"].Fail(alerting.Retryable(errors.New("down"), time.Hour), 3)
	h.put(alert("alertname", "A"))
	h.at(30 * time.Second) // attempt fails: A waits an hour
	for i, name := range []string{"B", "C", "D"} {
		off := time.Duration(i+1) * time.Minute
		h.clock.Set(t0.Add(off))
		a := alert("alertname", name)
		a.StartsAt = t0.Add(off)
		h.put(a)
		h.at(off + 30*time.Second)
	}
	require.Equal(t, 2, h.store.(*alerting.MemStore).Len(alerting.BucketOutbox))
	require.Equal(t, 2.0, testutil.ToFloat64(metric(h, "dropped", "team")))
	require.Equal(t, 2, strings.Count(h.logs.String(), "level=ERROR msg=\"outbox full: oldest notification dropped\""))
	require.Contains(t, h.audit.String(), `"type":"notification_dropped"`)
	h.at(2 * time.Hour)
	var got []string
	for _, m := range h.sent("rec") {
		got = append(got, m.GroupLabels["alertname"])
	}
	require.Equal(t, []string{"C", "D"}, got, "the oldest (A, then B) were evicted")
}

func TestQueuedMessageIsReplacedByNewerState(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	h.recs["rec"].Fail(alerting.Retryable(errors.New("down"), time.Hour), 1)
	a := alert("alertname", "X", "model", "1")
	h.put(a)
	h.at(30 * time.Second)
	b := alert("alertname", "X", "model", "2")
	h.put(a, b)
	h.at(5*time.Minute + 30*time.Second)
	h.put(resolvedAt(a, t0.Add(6*time.Minute)), b)
	h.at(10*time.Minute + 30*time.Second)
	require.Equal(t, 1, h.store.(*alerting.MemStore).Len(alerting.BucketOutbox))
	require.Equal(t, 2, strings.Count(h.audit.String(), `"replaced":true`))
	h.at(time.Hour + 31*time.Second) // the retry time set by the first failure holds
	msgs := h.sent("rec")
	require.Len(t, msgs, 1, "one message, the newest state")
	require.ElementsMatch(t, []string{"X:resolved", "X:firing"}, alertStates(msgs[0]))
}

const cappedReceiver = `
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
receivers:
  - name: team
    max_notifications_per_minute: 2
    slack_configs: [{name: slack}]
    pagerduty_configs: [{name: pd}]
`

func TestRateCapFoldsIntoDigest(t *testing.T) {
	h := newHarness(t, cappedReceiver, nil, longResolve)
	var alerts []*alerting.Alert
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		alerts = append(alerts, alert("alertname", n, "model", "m"))
	}
	h.put(alerts...)
	h.at(30 * time.Second)
	for _, rec := range []string{"slack", "pd"} {
		msgs := h.sent(rec)
		require.Len(t, msgs, 2, "%s: the cap lets two through", rec)
		for _, m := range msgs {
			require.False(t, m.Digest)
		}
	}
	h.at(89 * time.Second)
	require.Len(t, h.sent("slack"), 2, "held until the minute ends")
	h.at(90 * time.Second)
	for _, rec := range []string{"slack", "pd"} {
		msgs := h.sent(rec)
		require.Len(t, msgs, 3, rec)
		dg := msgs[2]
		require.True(t, dg.Digest)
		require.Len(t, dg.Groups, 3)
		require.Len(t, dg.Alerts, 3)
		require.Equal(t, alerting.StatusFiring, dg.Status)
		require.Equal(t, map[string]string{"model": "m"}, dg.CommonLabels)
		var keys []string
		for _, g := range dg.Groups {
			keys = append(keys, g.GroupKey)
		}
		require.Len(t, keys, 3)
		require.NotContains(t, keys, dg.GroupKey)
	}
	// The folded groups are in the notification log: their next flush sends nothing.
	h.put(alerts...)
	h.at(5*time.Minute + 30*time.Second)
	require.Len(t, h.sent("slack"), 3)
	require.Contains(t, h.audit.String(), `"digest":true`)
}

func TestRateCapWindow(t *testing.T) {
	h := newHarness(t, cappedReceiver, nil, longResolve)
	put := func(off time.Duration, name string) {
		h.clock.Set(t0.Add(off))
		a := alert("alertname", name)
		a.StartsAt = t0.Add(off)
		h.put(a)
	}
	put(0, "A")
	put(10*time.Second, "B")
	put(20*time.Second, "C")
	h.at(30 * time.Second) // A
	h.at(40 * time.Second) // B
	h.at(50 * time.Second) // C: third in the minute → held until 1m30s
	require.Len(t, h.sent("slack"), 2)
	h.at(90 * time.Second)
	require.Len(t, h.sent("slack"), 3)
	require.False(t, h.sent("slack")[2].Digest, "a single held message goes out as itself")
	put(100*time.Second, "D")
	h.at(130 * time.Second) // a new window
	require.Len(t, h.sent("slack"), 4)
}
