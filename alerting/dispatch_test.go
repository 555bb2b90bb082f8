package alerting_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertingtest"
)

func longResolve(o *alerting.Options) { o.ResolveTimeout = 1000 * time.Hour }

// every ticks at each step in (from, to], re-putting alerts first, as rules do.
func (h *harness) every(from, to, step time.Duration, alerts ...*alerting.Alert) {
	h.t.Helper()
	for off := from + step; off <= to; off += step {
		if len(alerts) > 0 {
			h.clock.Set(t0.Add(off))
			h.put(alerts...)
		}
		h.at(off)
	}
}

func TestGroupWaitIntervalRepeat(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	a := alert("alertname", "Drift", "model", "m1")
	h.put(a)
	h.at(29 * time.Second)
	require.Empty(t, h.sent("rec"), "nothing before group_wait")
	h.at(30 * time.Second)
	require.Len(t, h.sent("rec"), 1, "first notification after group_wait")
	m := h.sent("rec")[0]
	require.Equal(t, alerting.StatusFiring, m.Status)
	require.Equal(t, "team", m.Receiver)
	require.Equal(t, `{}:{alertname="Drift"}`, m.GroupKey)
	require.Equal(t, map[string]string{"alertname": "Drift"}, m.GroupLabels)
	require.Equal(t, map[string]string{"alertname": "Drift", "model": "m1"}, m.CommonLabels)

	// A second alert joins the group; it goes out at the next group_interval tick.
	h.clock.Set(t0.Add(time.Minute))
	b := alert("alertname", "Drift", "model", "m2")
	b.StartsAt = t0.Add(time.Minute)
	h.put(b)
	h.at(5*time.Minute + 29*time.Second)
	require.Len(t, h.sent("rec"), 1, "group_interval not elapsed")
	h.at(5*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 2)
	require.Equal(t, []string{"Drift:firing", "Drift:firing"}, alertStates(h.sent("rec")[1]))
	require.Equal(t, map[string]string{"alertname": "Drift"}, h.sent("rec")[1].CommonLabels)

	// Unchanged: no message until repeat_interval since the last one (5m30s), then one.
	h.every(5*time.Minute+30*time.Second, 4*time.Hour, 5*time.Minute, a, b)
	require.Len(t, h.sent("rec"), 2, "inside repeat_interval")
	h.every(4*time.Hour, 4*time.Hour+5*time.Minute+30*time.Second, 5*time.Minute+30*time.Second, a, b)
	require.Len(t, h.sent("rec"), 3, "repeat_interval elapsed")
}

func TestRepeatIsExact(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	a := alert("alertname", "X")
	h.put(a)
	h.at(30 * time.Second)
	// Flushes at 30s + k·5m; the one at 4h00m30s is exactly repeat_interval after the
	// first message and repeats it (Alertmanager needs it strictly exceeded, and with
	// send latency repeats one group_interval later).
	for off := 30 * time.Second; off < 4*time.Hour+30*time.Second; off += 5 * time.Minute {
		h.at(off)
	}
	require.Len(t, h.sent("rec"), 1)
	h.at(4*time.Hour + 30*time.Second)
	require.Len(t, h.sent("rec"), 2)
}

func TestResolvedGroupSendsOneResolveAndIsRemoved(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	a := alert("alertname", "X", "model", "m")
	h.put(a)
	h.at(30 * time.Second)
	h.clock.Set(t0.Add(2 * time.Minute))
	h.put(resolvedAt(a, t0.Add(2*time.Minute)))
	h.at(5*time.Minute + 29*time.Second)
	require.Len(t, h.sent("rec"), 1)
	h.at(5*time.Minute + 30*time.Second)
	msgs := h.sent("rec")
	require.Len(t, msgs, 2)
	require.Equal(t, alerting.StatusResolved, msgs[1].Status)
	require.Equal(t, []string{"X:resolved"}, alertStates(msgs[1]))
	require.Equal(t, t0.Add(2*time.Minute), msgs[1].Alerts[0].EndsAt)

	// Rules keep re-sending the resolved alert for a while: nothing more goes out.
	h.every(5*time.Minute+30*time.Second, 30*time.Minute, time.Minute, resolvedAt(a, t0.Add(2*time.Minute)))
	require.Len(t, h.sent("rec"), 2)

	// Firing again starts a new group: group_wait again, and a first notification.
	h.clock.Set(t0.Add(31 * time.Minute))
	again := alert("alertname", "X", "model", "m")
	again.StartsAt = t0.Add(31 * time.Minute)
	h.put(again)
	h.at(31*time.Minute + 29*time.Second)
	require.Len(t, h.sent("rec"), 2)
	h.at(31*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 3)
	require.Equal(t, alerting.StatusFiring, h.sent("rec")[2].Status)
}

// A resolved alert that rules keep re-sending is not reported again when its group
// sends a message for another alert, even while a second route's group still holds it.
func TestResolvedAlertIsReportedOnce(t *testing.T) {
	const cfg = `
route:
  receiver: fast
  group_by: [alertname]
  routes:
    - {matchers: [x="1"], receiver: fast, group_interval: 1m, continue: true}
    - {matchers: [x="1"], receiver: slow, group_interval: 1h}
receivers:
  - {name: fast, webhook_configs: [{name: fast}]}
  - {name: slow, webhook_configs: [{name: slow}]}
`
	h := newHarness(t, cfg, nil, longResolve)
	a, b := alert("alertname", "X", "x", "1", "m", "a"), alert("alertname", "X", "x", "1", "m", "b")
	h.put(a, b)
	h.at(30 * time.Second)
	ra := resolvedAt(a, t0.Add(time.Minute))
	h.clock.Set(t0.Add(time.Minute))
	h.put(ra, b)
	h.at(90 * time.Second)
	require.ElementsMatch(t, []string{"X:resolved", "X:firing"}, alertStates(h.sent("fast")[1]))
	h.clock.Set(t0.Add(2 * time.Minute))
	h.put(ra, b, alert("alertname", "X", "x", "1", "m", "c"))
	h.at(150 * time.Second)
	msgs := h.sent("fast")
	require.Len(t, msgs, 3)
	require.Equal(t, []string{"X:firing", "X:firing"}, alertStates(msgs[2]), "a's resolve is not repeated")
}

func TestSendResolvedFalse(t *testing.T) {
	recs := map[string]*alertingtest.Recorder{"rec": alertingtest.NewRecorder().WithoutResolved()}
	h := newHarness(t, oneReceiver, recs, longResolve)
	a := alert("alertname", "X")
	b := alert("alertname", "X", "model", "2")
	h.put(a, b)
	h.at(30 * time.Second)
	require.Len(t, h.sent("rec"), 1)
	h.clock.Set(t0.Add(time.Minute))
	h.put(resolvedAt(a, t0.Add(time.Minute)), b)
	h.at(5*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 1, "a partial resolve is not news without send_resolved")
	h.clock.Set(t0.Add(6 * time.Minute))
	h.put(resolvedAt(b, t0.Add(6*time.Minute)))
	h.at(10*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 1, "nor is the full resolve")
	require.Contains(t, h.audit.String(), `"type":"notification_skipped"`, "the log still records it")

	// Firing again is a first notification, not suppressed as already known.
	h.clock.Set(t0.Add(11 * time.Minute))
	c := alert("alertname", "X")
	c.StartsAt = t0.Add(11 * time.Minute)
	h.put(c)
	h.at(11*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 2)
	require.Equal(t, []string{"X:firing"}, alertStates(h.sent("rec")[1]))
}

func TestOldAlertFlushesAtOnce(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	a := alert("alertname", "X")
	a.StartsAt = t0.Add(-time.Hour)
	h.put(a)
	h.at(0)
	require.Len(t, h.sent("rec"), 1, "an alert older than group_wait does not wait, as in Alertmanager")
}

func TestResolveTimeout(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, func(o *alerting.Options) { o.ResolveTimeout = 5 * time.Minute })
	h.put(alert("alertname", "X"))
	h.at(30 * time.Second)
	h.at(5*time.Minute + 30*time.Second) // never refreshed: resolved at 5m
	msgs := h.sent("rec")
	require.Len(t, msgs, 2)
	require.Equal(t, alerting.StatusResolved, msgs[1].Status)
	require.Equal(t, t0.Add(5*time.Minute), msgs[1].Alerts[0].EndsAt)
	require.Contains(t, h.audit.String(), "not refreshed within resolve_timeout")
}

const twoReceivers = `
route:
  receiver: slack
  group_by: [alertname]
  routes:
    - matchers: [severity="critical"]
      receiver: pager
      continue: true
    - matchers: [team=ml]
      receiver: slack
      group_by: ['...']
receivers:
  - name: slack
    slack_configs: [{name: slack}]
  - name: pager
    pagerduty_configs: [{name: pd}]
    webhook_configs: [{name: hook}]
`

func TestContinueAndGroupByAll(t *testing.T) {
	h := newHarness(t, twoReceivers, nil, longResolve)
	h.put(
		alert("alertname", "X", "severity", "critical", "team", "ml", "model", "a"),
		alert("alertname", "X", "severity", "critical", "team", "ml", "model", "b"),
		alert("alertname", "Y", "severity", "warning", "team", "data"),
	)
	h.at(30 * time.Second)
	require.Len(t, h.sent("pd"), 1, "critical → pager (continue)")
	require.Len(t, h.sent("pd")[0].Alerts, 2)
	require.Len(t, h.sent("hook"), 1, "every integration of the receiver")
	// team=ml groups by all labels: one group per alert; Y falls to the root receiver.
	require.Len(t, h.sent("slack"), 3)
	keys := map[string]int{}
	for _, m := range h.sent("slack") {
		keys[m.GroupKey] = len(m.Alerts)
	}
	require.Equal(t, map[string]int{
		`{}/{team="ml"}:{alertname="X", model="a", severity="critical", team="ml"}`: 1,
		`{}/{team="ml"}:{alertname="X", model="b", severity="critical", team="ml"}`: 1,
		`{}:{alertname="Y"}`: 1,
	}, keys)
}

func TestOneIntegrationFailingDoesNotHoldUpAnother(t *testing.T) {
	h := newHarness(t, twoReceivers, nil, longResolve)
	h.recs["pd"].Fail(alerting.Retryable(errors.New("503"), 0), 100)
	h.put(alert("alertname", "X", "severity", "critical"))
	h.at(30 * time.Second)
	require.Empty(t, h.sent("pd"))
	require.Len(t, h.sent("hook"), 1)
}

func TestMuteAndActiveTimeIntervals(t *testing.T) {
	const cfg = `
route:
  receiver: a
  group_by: [alertname]
  routes:
    - matchers: [severity=warning]
      receiver: a
      mute_time_intervals: [weekend]
    - matchers: [severity=info]
      receiver: a
      active_time_intervals: [workhours]
receivers:
  - name: a
    webhook_configs: [{name: rec}]
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: ['saturday:sunday']}]
  - name: workhours
    time_intervals: [{weekdays: ['monday:friday'], times: [{start_time: '09:00', end_time: '17:00'}]}]
`
	h := newHarness(t, cfg, nil, longResolve)
	// t0 is Monday 10:00; Saturday is 5 days later.
	sat := 5 * 24 * time.Hour
	h.clock.Set(t0.Add(sat))
	w := alert("alertname", "W", "severity", "warning")
	w.StartsAt = t0.Add(sat)
	h.put(w)
	h.at(sat + 30*time.Second)
	require.Empty(t, h.sent("rec"), "muted at the weekend")
	h.every(sat+30*time.Second, sat+37*time.Hour, time.Hour, w) // Sunday 23:00
	require.Empty(t, h.sent("rec"))
	h.every(sat+37*time.Hour, sat+39*time.Hour, time.Hour, w) // Monday 01:00
	require.Len(t, h.sent("rec"), 1, "sent once the mute interval ends")

	h2 := newHarness(t, cfg, nil, longResolve)
	h2.clock.Set(t0.Add(8 * time.Hour)) // 18:00, outside work hours
	i := alert("alertname", "I", "severity", "info")
	i.StartsAt = t0.Add(8 * time.Hour)
	h2.put(i)
	h2.every(8*time.Hour, 22*time.Hour, 5*time.Minute, i) // until 08:00 next day
	require.Empty(t, h2.sent("rec"), "outside active_time_intervals")
	h2.every(22*time.Hour, 23*time.Hour+5*time.Minute, 5*time.Minute, i) // 09:05
	require.Len(t, h2.sent("rec"), 1)
}

func TestApplyConfigKeepsGroupsAndOutbox(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	h.recs["rec"].Fail(alerting.Retryable(errors.New("down"), 0), 1)
	a := alert("alertname", "X")
	h.put(a)
	h.at(30 * time.Second) // attempt fails, stays queued
	require.Empty(t, h.sent("rec"))

	// A bad config is refused whole and changes nothing.
	bad, err := alerting.LoadConfig([]byte("route: {receiver: team}\nreceivers: [{name: team, webhook_configs: [{name: nobody}]}]\n"))
	require.NoError(t, err)
	require.Error(t, h.d.ApplyConfig(bad, alertingtest.Builder(h.recs)))

	// A new config that adds a route keeps the group (and its timer) and the queue.
	h.apply(oneReceiver + "    slack_configs: [{name: extra}]\n")
	h.at(31 * time.Second) // retry due after 1s backoff
	require.Len(t, h.sent("rec"), 1, "the queued message survived the reload")
	require.Empty(t, h.sent("extra"), "the group did not restart: no flush before group_interval")
	h.at(5*time.Minute + 30*time.Second)
	require.Len(t, h.sent("extra"), 1, "the new integration gets the group at its next flush")
	require.Len(t, h.sent("rec"), 1, "the old one is not told again")

	// Removing the receiver's integration pauses its queue; adding it back resumes it.
	h.recs["rec"].Fail(alerting.Retryable(errors.New("down"), 0), 1)
	b := alert("alertname", "X", "model", "new")
	h.put(a, b)
	h.at(10*time.Minute + 30*time.Second) // fails, queued
	h.apply("route: {receiver: other}\nreceivers: [{name: other, webhook_configs: [{name: other}]}]\n")
	h.at(time.Hour)
	require.Len(t, h.sent("rec"), 1)
	h.apply(oneReceiver)
	h.at(time.Hour + time.Second)
	require.Len(t, h.sent("rec"), 2, "delivered once configured again")
}

func TestPutIgnoresEmptyAndHonoursContext(t *testing.T) {
	h := newHarness(t, oneReceiver, nil)
	require.NoError(t, h.d.Put(context.Background(), []*alerting.Alert{nil, {}}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, h.d.Put(ctx, []*alerting.Alert{alert("alertname", "X")}))
}

func TestPutCopiesAlerts(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	a := alert("alertname", "X", "model", "m")
	h.put(a)
	a.Labels["model"] = "mutated"
	h.at(30 * time.Second)
	require.Equal(t, "m", h.sent("rec")[0].Alerts[0].Labels["model"])
}
