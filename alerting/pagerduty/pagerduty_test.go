package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/internal/notifyutil/notifytest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	t0  = notifytest.T0
	now = notifytest.Now
)

const routingKey = "R0UT1NGKEY0000000000SECRET000000"

// ---- Fixtures ----

var accuracyAlerts = notifytest.AccuracyAlerts

const groupKey = notifytest.GroupKey

func groupMsg(status alerting.Status, alerts []*alerting.Alert) *alerting.Message {
	return notifytest.GroupMsg("pagerduty-oncall", status, alerts)
}

type env struct {
	fake *notifytest.Server
	n    *Notifier
	logs *bytes.Buffer
}

// newEnv starts a fake Events API that accepts every event, as PagerDuty answers.
func newEnv(t *testing.T, mod func(c *Config), client *http.Client) *env {
	t.Helper()
	fake := notifytest.NewServer(t, notifytest.ServerOptions{
		Headers: []string{"Content-Type", "Accept", "User-Agent", "Authorization"},
		Answer: func(w http.ResponseWriter, _ *http.Request, body []byte, _ int) {
			var ev struct {
				DedupKey string `json:"dedup_key"`
			}
			_ = json.Unmarshal(body, &ev)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, ev.DedupKey)
		},
	})
	c := DefaultConfig()
	c.RoutingKey = routingKey
	if mod != nil {
		mod(&c)
	}
	logger, logs := notifytest.Logger()
	n, err := New(c, Options{URL: fake.URL + "/v2/enqueue", HTTPClient: client, Logger: logger, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return &env{fake: fake, n: n, logs: logs}
}

// assertNoSecret: the routing key is in no error and no log line.
func (e *env) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	notifytest.RequireNoSecret(t, err, e.logs.String(), routingKey)
}

func dedupKeyOf(t *testing.T, r notifytest.Request) string {
	var ev struct {
		DedupKey string `json:"dedup_key"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &ev))
	return ev.DedupKey
}

// ---- Tests ----

func TestEvents(t *testing.T) {
	tests := []struct {
		golden string
		cfg    func(c *Config)
		msg    *alerting.Message
	}{
		{golden: "trigger", msg: groupMsg(alerting.StatusFiring, accuracyAlerts(false))},
		{golden: "resolve", msg: groupMsg(alerting.StatusResolved, accuracyAlerts(true))},
		{golden: "trigger_partly_resolved", msg: func() *alerting.Message {
			as := accuracyAlerts(false)
			as[0].EndsAt = t0.Add(28 * time.Minute)
			as[1].Value = math.NaN()
			delete(as[1].Annotations, "summary")
			return groupMsg(alerting.StatusFiring, as)
		}()},
		{
			golden: "trigger_configured",
			cfg: func(c *Config) {
				c.Client, c.Source = "vigil-prod", "vigil-eu-1"
				c.ClientURL = "{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver }}"
				c.Severity = `{{ if eq .CommonLabels.team "risk" }}warning{{ else }}critical{{ end }}`
				c.Details = map[string]string{"team": "{{ .CommonLabels.team }}", "segments": "{{ len .FiringAlerts }}"}
				c.Links = []Link{
					{Href: "https://grafana.example/d/ml?var-model={{ .CommonLabels.model }}", Text: "Grafana: {{ .CommonLabels.model }}"},
					{Href: "https://runbooks.example/vigil/AccuracyDrop", Text: "duplicate of an alert's runbook, dropped"},
					{Href: "{{ .CommonAnnotations.nothing }}", Text: "empty href, dropped"},
				}
			},
			msg: groupMsg(alerting.StatusFiring, accuracyAlerts(false)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			e := newEnv(t, tt.cfg, nil)
			before := notifytest.Clone(tt.msg)
			state, err := e.n.Notify(t.Context(), tt.msg)
			require.NoError(t, err)
			require.Nil(t, state)
			notifytest.RequireUnchanged(t, before, tt.msg)
			reqs := e.fake.Take()
			require.Len(t, reqs, 1)
			require.Equal(t, "/v2/enqueue", reqs[0].Path)
			require.NotContains(t, reqs[0].Headers, "Authorization", "the Events API takes the key in the body only")
			notifytest.Golden(t, tt.golden, reqs, *update)
			e.assertNoSecret(t, nil)
		})
	}
}

// The dedup_key is the same on trigger and resolve, and for a restarted vigil (a new
// Notifier): PagerDuty then resolves the alert the previous process triggered.
func TestDedupKeyStable(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	require.NoError(t, err)
	trigger := dedupKeyOf(t, e.fake.Take()[0])

	restarted := newEnv(t, nil, nil)
	_, err = restarted.n.Notify(t.Context(), groupMsg(alerting.StatusResolved, accuracyAlerts(true)))
	require.NoError(t, err)
	resolve := dedupKeyOf(t, restarted.fake.Take()[0])

	require.Equal(t, trigger, resolve)
	// Pinned: a change here re-pages every open incident after an upgrade.
	require.Equal(t, "1ff9cd699dddd00e88b9a63c294742184a7c1b35898007a28d5e32ac2b50dbbc", trigger)
	require.Len(t, trigger, 64)
	require.NotEqual(t, trigger, DedupKey(groupKey+"x"))
}

func TestSeverity(t *testing.T) {
	for label, want := range map[string]string{
		"critical": "critical", "warning": "warning", "info": "info", "error": "error", "": "error", "page": "error",
	} {
		require.Equal(t, want, MapSeverity(label), label)
	}
	tests := []struct {
		name      string
		severites []string // of the alerts; "-" marks a resolved one
		want      string
	}{
		{name: "most severe firing wins", severites: []string{"info", "warning", "critical"}, want: "critical"},
		{name: "unknown counts as error", severites: []string{"warning", "page"}, want: "error"},
		{name: "resolved alerts do not count", severites: []string{"info", "-critical"}, want: "info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var alerts []*alerting.Alert
			for _, s := range tt.severites {
				a := accuracyAlerts(false)[0]
				if strings.HasPrefix(s, "-") {
					s, a.EndsAt = s[1:], t0
				}
				a.Labels["severity"] = s
				alerts = append(alerts, a)
			}
			e := newEnv(t, nil, nil)
			m := groupMsg(alerting.StatusFiring, alerts)
			m.CommonLabels = map[string]string{"model": "fraud"}
			_, err := e.n.Notify(t.Context(), m)
			require.NoError(t, err)
			var ev struct {
				Payload struct{ Severity string } `json:"payload"`
			}
			require.NoError(t, json.Unmarshal(e.fake.Take()[0].Body, &ev))
			require.Equal(t, tt.want, ev.Payload.Severity)
		})
	}

	// A severity template that gives something PagerDuty does not know falls back to error.
	e := newEnv(t, func(c *Config) { c.Severity = "{{ .CommonLabels.team }}" }, nil)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	require.NoError(t, err)
	require.Contains(t, string(e.fake.Take()[0].Body), `"severity":"error"`)
	require.Contains(t, e.logs.String(), "unknown severity")
}

func TestSummaryTruncated(t *testing.T) {
	alerts := accuracyAlerts(false)
	alerts[0].Annotations["summary"] = strings.Repeat("ä", 2000)
	e := newEnv(t, nil, nil)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, alerts))
	require.NoError(t, err)
	var ev struct {
		Payload struct{ Summary string } `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(e.fake.Take()[0].Body, &ev))
	require.Equal(t, 1024, utf8.RuneCountInString(ev.Payload.Summary))
	require.True(t, strings.HasPrefix(ev.Payload.Summary, "[FIRING:2] AccuracyDrop · fraud: ää"))
	require.True(t, strings.HasSuffix(ev.Payload.Summary, "ä…"))
}

func TestEventSizeLimit(t *testing.T) {
	var alerts []*alerting.Alert
	for i := range 200 {
		a := accuracyAlerts(false)[0]
		a.Labels["segment"] = fmt.Sprintf("s%03d", i)
		a.Annotations["description"] = strings.Repeat("x", 20000)
		alerts = append(alerts, a)
	}
	e := newEnv(t, nil, nil)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, alerts))
	require.NoError(t, err)
	body := e.fake.Take()[0].Body
	require.LessOrEqual(t, len(body), maxEventBytes)
	var ev struct {
		Payload struct {
			Details struct {
				Alerts    []json.RawMessage `json:"alerts"`
				Truncated int               `json:"alerts_truncated"`
				Firing    int               `json:"num_firing"`
			} `json:"custom_details"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(body, &ev))
	require.Equal(t, 10, len(ev.Payload.Details.Alerts))
	require.Equal(t, 190, ev.Payload.Details.Truncated)
	require.Equal(t, 200, ev.Payload.Details.Firing)
}

func TestSendResolvedOff(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SendResolved = false }, nil)
	state, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusResolved, accuracyAlerts(true)))
	require.NoError(t, err)
	require.Nil(t, state)
	require.Empty(t, e.fake.Take())
}

func TestNoGroupKey(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := groupMsg(alerting.StatusFiring, accuracyAlerts(false))
	m.GroupKey = ""
	_, err := e.n.Notify(t.Context(), m)
	require.ErrorContains(t, err, "no group key")
	require.Empty(t, e.fake.Take())
}

func TestErrors(t *testing.T) {
	httpDate := now.Add(45 * time.Second).Format(http.TimeFormat)
	status := func(code int, retryAfter, body string) notifytest.Responder {
		return notifytest.Reply(code, body, "Retry-After", retryAfter, "Content-Type", "application/json")
	}
	// The peer echoing the routing key must not leak it.
	echo := func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"invalid event","message":"Event object is invalid","errors":["unknown routing_key %s"]}`, routingKey)
		return true
	}
	tests := []struct {
		name      string
		respond   notifytest.Responder
		retryable bool
		after     time.Duration
		err       string
	}{
		{name: "429 seconds", respond: status(429, "20", `{"status":"throttle event","message":"Requests for this service are arriving too quickly"}`),
			retryable: true, after: 20 * time.Second, err: "pagerduty: 429 Too Many Requests: throttle event: Requests for this service are arriving too quickly"},
		{name: "429 http date", respond: status(429, httpDate, ""), retryable: true, after: 45 * time.Second},
		{name: "429 no header", respond: status(429, "", ""), retryable: true},
		{name: "500", respond: status(500, "", ""), retryable: true, err: "pagerduty: 500 Internal Server Error"},
		{name: "503 retry after", respond: status(503, "60", "upstream down"), retryable: true, after: time.Minute, err: "upstream down"},
		{name: "408", respond: status(408, "", ""), retryable: true},
		{name: "400 with pagerduty's text", respond: status(400, "", `{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`),
			err: "pagerduty: 400 Bad Request: invalid event: Event object is invalid: 'payload.summary' is missing or blank"},
		{name: "403", respond: status(403, "", "forbidden"), err: "403 Forbidden: forbidden"},
		{name: "peer echoes key", respond: echo, err: "unknown routing_key <secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			e.fake.Respond(tt.respond)
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			require.Error(t, err)
			notifytest.RequireRetry(t, err, tt.retryable, tt.after)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
			}
			e.assertNoSecret(t, err)
		})
	}
}

func TestAcceptedWithOddAnswer(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Respond(notifytest.Reply(http.StatusAccepted, "accepted"))
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	require.NoError(t, err)
	require.Contains(t, e.logs.String(), "unreadable answer")
	e.assertNoSecret(t, nil)
}

func TestHang(t *testing.T) {
	e := newEnv(t, nil, &http.Client{Timeout: 200 * time.Millisecond})
	e.fake.Hang(t)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	notifytest.RequireRetry(t, err, true, 0)
	require.Regexp(t, `deadline exceeded|Client\.Timeout exceeded`, err.Error())
	e.assertNoSecret(t, err)
}

func TestTransportErrors(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Close()
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	notifytest.RequireRetry(t, err, true, 0)
	require.ErrorContains(t, err, `pagerduty: Post "http://127.0.0.1`)
	require.ErrorContains(t, err, `/v2/enqueue": dial tcp`)
	e.assertNoSecret(t, err)

	e = newEnv(t, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.n.Notify(ctx, groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	notifytest.RequireRetry(t, err, true, 0)
	require.ErrorIs(t, err, context.Canceled)
}

func TestTemplateErrorAtSend(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Details = map[string]string{"first": "{{ (index .FiringAlerts 0).Labels.model }}"} }, nil)
	m := groupMsg(alerting.StatusFiring, accuracyAlerts(true)) // all resolved, yet the group "fires"
	_, err := e.n.Notify(t.Context(), m)
	require.ErrorContains(t, err, "pagerduty details.first template")
	_, retryable := alerting.IsRetryable(err)
	require.False(t, retryable)
	require.Empty(t, e.fake.Take())
}
