package alerting_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/alerting"
)

func mustMatchers(t *testing.T, s string) labels.Matchers {
	t.Helper()
	ms, err := alerting.ParseMatchers(s)
	require.NoError(t, err)
	return ms
}

func TestSilencesLifecycle(t *testing.T) {
	h := newHarness(t, oneReceiver, nil)
	s := h.d.Silences()

	active, err := s.Set(alerting.Silence{Matchers: mustMatchers(t, `model="fraud"`), EndsAt: t0.Add(time.Hour), CreatedBy: "ana", Comment: "retraining"})
	require.NoError(t, err)
	require.Len(t, active, 36)
	pending, err := s.Set(alerting.Silence{Matchers: mustMatchers(t, `alertname=~"Drift.*"`), StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour)})
	require.NoError(t, err)

	require.Equal(t, []string{active}, s.Mutes(map[string]string{"model": "fraud"}, t0))
	require.Empty(t, s.Mutes(map[string]string{"model": "churn"}, t0))
	require.Empty(t, s.Mutes(map[string]string{"alertname": "DriftHigh"}, t0), "pending")
	require.Equal(t, []string{pending}, s.Mutes(map[string]string{"alertname": "DriftHigh"}, t0.Add(90*time.Minute)))

	list := s.List()
	require.Len(t, list, 2)
	require.Equal(t, active, list[0].ID, "active first")
	require.Equal(t, alerting.SilenceActive, list[0].State(t0))
	require.Equal(t, alerting.SilencePending, list[1].State(t0))

	// Update an active silence: same ID, new end.
	got, err := s.Get(active)
	require.NoError(t, err)
	got.EndsAt = t0.Add(3 * time.Hour)
	id, err := s.Set(got)
	require.NoError(t, err)
	require.Equal(t, active, id)
	got, _ = s.Get(active)
	require.Equal(t, t0.Add(3*time.Hour), got.EndsAt)
	require.Equal(t, t0, got.StartsAt)

	// Expire: active ends now; pending ends before it starts.
	h.clock.Set(t0.Add(time.Minute))
	require.NoError(t, s.Expire(active))
	require.NoError(t, s.Expire(pending))
	require.NoError(t, s.Expire(pending), "expiring twice is a no-op")
	for _, sil := range s.List() {
		require.Equal(t, alerting.SilenceExpired, sil.State(h.clock.Now()))
	}
	require.Empty(t, s.Mutes(map[string]string{"model": "fraud"}, h.clock.Now()))
	got, _ = s.Get(active)
	_, err = s.Set(got)
	require.ErrorContains(t, err, "has expired")
	require.ErrorIs(t, s.Expire("nope"), alerting.ErrSilenceNotFound)
	_, err = s.Set(alerting.Silence{ID: "nope", Matchers: mustMatchers(t, "a=b"), EndsAt: t0.Add(time.Hour)})
	require.ErrorIs(t, err, alerting.ErrSilenceNotFound)

	// Expired silences are kept for the retention, then collected.
	h.at(alerting.DefaultSilenceRetention)
	require.Len(t, s.List(), 2)
	h.at(alerting.DefaultSilenceRetention + 2*time.Minute)
	require.Empty(t, s.List())

	require.Contains(t, h.audit.String(), `"type":"silence_set"`)
	require.Contains(t, h.audit.String(), `"type":"silence_expired"`)
}

func TestSilenceValidation(t *testing.T) {
	h := newHarness(t, oneReceiver, nil)
	cases := []struct {
		name string
		sil  alerting.Silence
		want string
	}{
		{"no matchers", alerting.Silence{EndsAt: t0.Add(time.Hour)}, "at least one matcher"},
		{"matches everything", alerting.Silence{Matchers: mustMatchers(t, `a=~".*"`), EndsAt: t0.Add(time.Hour)}, "must not match the empty string"},
		{"no end", alerting.Silence{Matchers: mustMatchers(t, "a=b")}, "endsAt is required"},
		{"ends before start", alerting.Silence{Matchers: mustMatchers(t, "a=b"), StartsAt: t0.Add(time.Hour), EndsAt: t0}, "endsAt must be after startsAt"},
		{"ends in the past", alerting.Silence{Matchers: mustMatchers(t, "a=b"), StartsAt: t0.Add(-2 * time.Hour), EndsAt: t0.Add(-time.Hour)}, "in the future"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.d.Silences().Set(c.sil)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestSilenceJSONIsAlertmanagers(t *testing.T) {
	sil := alerting.Silence{ID: "x", Matchers: mustMatchers(t, `severity=~"crit.*"`), StartsAt: t0, EndsAt: t0.Add(time.Hour), CreatedBy: "ana", Comment: "c"}
	b, err := json.Marshal(sil)
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"x","matchers":[{"name":"severity","value":"crit.*","isRegex":true,"isEqual":true}],
		"startsAt":"2026-01-05T10:00:00Z","endsAt":"2026-01-05T11:00:00Z","updatedAt":"0001-01-01T00:00:00Z","createdBy":"ana","comment":"c"}`, string(b))
	var back alerting.Silence
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, back.Matchers[0].Matches("critical"))
}

func TestSilencesPersist(t *testing.T) {
	store := alerting.NewMemStore()
	h := newHarness(t, oneReceiver, nil, func(o *alerting.Options) { o.Store = store })
	id, err := h.d.Silences().Set(alerting.Silence{Matchers: mustMatchers(t, "a=b"), EndsAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	h2 := newHarness(t, oneReceiver, nil, func(o *alerting.Options) { o.Store = store.Clone() })
	got, err := h2.d.Silences().Get(id)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Hour), got.EndsAt)
	require.Equal(t, []string{id}, h2.d.Silences().Mutes(map[string]string{"a": "b"}, t0))
}

func TestSilenceMutesNotifications(t *testing.T) {
	h := newHarness(t, oneReceiver, nil, longResolve)
	id, err := h.d.Silences().Set(alerting.Silence{Matchers: mustMatchers(t, `model="fraud"`), EndsAt: t0.Add(10 * time.Minute)})
	require.NoError(t, err)
	fraud := alert("alertname", "X", "model", "fraud")
	h.put(fraud)
	h.at(30 * time.Second)
	require.Empty(t, h.sent("rec"))
	sb, inh := h.d.Muted(fraud.Labels)
	require.Equal(t, []string{id}, sb)
	require.False(t, inh)

	// Another alert of the group is not silenced: the message holds only it.
	churn := alert("alertname", "X", "model", "churn")
	h.put(fraud, churn)
	h.at(5*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 1)
	require.Equal(t, "churn", h.sent("rec")[0].Alerts[0].Labels["model"])

	// Once the silence ends, the fraud alert is news.
	h.at(10*time.Minute + 30*time.Second)
	require.Len(t, h.sent("rec"), 2)
	require.Len(t, h.sent("rec")[1].Alerts, 2)
}

const inhibitConfig = `
route:
  receiver: a
  group_by: [alertname, model]
receivers:
  - name: a
    webhook_configs: [{name: rec}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [model]
  - source_matchers: [alertname=Outage]
    target_matchers: [alertname=Outage]
    equal: [region]
`

func TestInhibition(t *testing.T) {
	h := newHarness(t, inhibitConfig, nil, longResolve)
	crit := alert("alertname", "AccuracyDrop", "severity", "critical", "model", "fraud")
	warn := alert("alertname", "Drift", "severity", "warning", "model", "fraud")
	other := alert("alertname", "Drift", "severity", "warning", "model", "churn")
	h.put(crit, warn, other)
	h.at(30 * time.Second)
	var got []string
	for _, m := range h.sent("rec") {
		got = append(got, m.GroupLabels["alertname"]+"/"+m.GroupLabels["model"])
	}
	require.ElementsMatch(t, []string{"AccuracyDrop/fraud", "Drift/churn"}, got, "the fraud warning is inhibited, the churn one is not")
	_, inh := h.d.Muted(warn.Labels)
	require.True(t, inh)

	// The source resolves: the target is notified at its group's next flush.
	h.clock.Set(t0.Add(time.Minute))
	h.put(resolvedAt(crit, t0.Add(time.Minute)), warn, other)
	h.at(5*time.Minute + 30*time.Second)
	var drift []string
	for _, m := range h.sent("rec")[2:] {
		drift = append(drift, m.GroupLabels["alertname"]+"/"+m.GroupLabels["model"]+"/"+string(m.Status))
	}
	require.ElementsMatch(t, []string{"AccuracyDrop/fraud/resolved", "Drift/fraud/firing"}, drift)
}

func TestInhibitionTwoSidedAndMissingEqualLabels(t *testing.T) {
	h := newHarness(t, inhibitConfig, nil, longResolve)
	// Both match source and target: they do not inhibit each other (nor themselves).
	h.put(alert("alertname", "Outage", "region", "eu", "n", "1"), alert("alertname", "Outage", "region", "eu", "n", "2"))
	// A missing equal label counts as equal on both sides.
	h.put(alert("alertname", "Drift", "severity", "warning"), alert("alertname", "Crit", "severity", "critical"))
	h.at(30 * time.Second)
	sizes := map[string]int{}
	for _, m := range h.sent("rec") {
		sizes[m.GroupLabels["alertname"]] = len(m.Alerts)
	}
	require.Equal(t, map[string]int{"Outage": 2, "Crit": 1}, sizes)
}
