package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/internal/notifyutil/notifytest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	t0  = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	now = t0.Add(30 * time.Minute)
)

const (
	webhookPath = "/services/T000/B000/SECRETWEBHOOKPATH"
	botToken    = "xoxb-1111-SECRETTOKEN"
)

// ---- Fixtures ----

// accuracyAlerts are the shared fixtures' two AccuracyDrop alerts.
func accuracyAlerts(resolved bool) []*alerting.Alert { return notifytest.AccuracyAlerts(resolved) }

func driftAlert() *alerting.Alert {
	return &alerting.Alert{
		Labels: map[string]string{
			"alertname": "FeatureDrift", "model": "fraud", "feature": "amount", "severity": "warning",
		},
		Annotations: map[string]string{
			"summary":     "amount drifted (psi 0.31)",
			"runbook_url": "https://runbooks.example/vigil/FeatureDrift",
		},
		StartsAt: t0.Add(-90 * time.Minute),
		Value:    0.31, Threshold: 0.2,
	}
}

func groupMsg(status alerting.Status, alerts []*alerting.Alert) *alerting.Message {
	return &alerting.Message{
		Receiver:    "slack-ml",
		GroupKey:    `{}/{severity="critical"}:{alertname="AccuracyDrop", model="fraud"}`,
		Status:      status,
		GroupLabels: map[string]string{"alertname": "AccuracyDrop", "model": "fraud"},
		CommonLabels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "version": "v3", "severity": "critical", "team": "risk",
		},
		CommonAnnotations: map[string]string{},
		Alerts:            alerts,
		ExternalURL:       "http://vigil.example:9780",
	}
}

func digest() *alerting.Message {
	m := groupMsg(alerting.StatusFiring, append(accuracyAlerts(false), driftAlert()))
	m.Digest = true
	m.GroupKey = "digest"
	m.GroupLabels = map[string]string{}
	m.CommonLabels = map[string]string{"model": "fraud"}
	return m
}

// ---- Fake Slack ----

// request is one recorded request, as the golden files show it.
type request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`

	form url.Values
}

// fakeSlack records every request and answers with respond (default: success).
type fakeSlack struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	ts      int
	respond func(w http.ResponseWriter, r *http.Request) bool // true: answered
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := request{
		Method:  r.Method,
		Path:    r.URL.Path,
		Headers: map[string]string{"Content-Type": r.Header.Get("Content-Type")},
	}
	if a := r.Header.Get("Authorization"); a != "" {
		rec.Headers["Authorization"] = a
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		rec.form, _ = url.ParseQuery(string(body))
		rec.Body = formJSON(rec.form)
	} else {
		rec.Body = body
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	f.ts++
	ts := f.ts
	respond := f.respond
	f.mu.Unlock()

	if respond != nil && respond(w, r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		channel := "C0123ABCD"
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1764000000.%06d"}`, channel, ts*100)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// formJSON shows a form body as a JSON object with sorted keys, the blocks as JSON and the
// token left out (tests check it separately).
func formJSON(v url.Values) json.RawMessage {
	obj := map[string]json.RawMessage{}
	for k := range v {
		switch k {
		case "token":
		case "blocks":
			obj[k] = json.RawMessage(v.Get(k))
		default:
			b, _ := json.Marshal(v.Get(k))
			obj[k] = b
		}
	}
	b, _ := json.Marshal(obj)
	return b
}

func (f *fakeSlack) take() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

func checkGolden(t *testing.T, name string, reqs []request) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(reqs))
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), buf.String())
}

type env struct {
	fake *fakeSlack
	n    *Notifier
	logs *bytes.Buffer
}

func newWebhook(t *testing.T, mod func(c *Config)) *env {
	fake := newFakeSlack(t)
	c := DefaultConfig()
	c.APIURL = Secret(fake.srv.URL + webhookPath)
	c.Channel = "#ml-alerts"
	if mod != nil {
		mod(&c)
	}
	return newEnv(t, fake, c, nil)
}

func newBot(t *testing.T, mod func(c *Config)) *env {
	fake := newFakeSlack(t)
	c := DefaultConfig()
	c.Token = botToken
	c.Channel = "#ml-alerts"
	if mod != nil {
		mod(&c)
	}
	return newEnv(t, fake, c, nil)
}

func newEnv(t *testing.T, fake *fakeSlack, c Config, client *http.Client) *env {
	t.Helper()
	logs := &bytes.Buffer{}
	n, err := New(c, Options{
		APIURL:     fake.srv.URL + "/api",
		HTTPClient: client,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return now },
	})
	require.NoError(t, err)
	return &env{fake: fake, n: n, logs: logs}
}

// assertNoSecret is Alertmanager's AssertNotifyLeaksNoSecret for vigil: no secret in the
// error nor in any log line.
func (e *env) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"SECRETWEBHOOKPATH", "SECRETTOKEN", webhookPath} {
		if err != nil {
			require.NotContains(t, err.Error(), s)
		}
		require.NotContains(t, e.logs.String(), s)
	}
}

// ---- Tests ----

func TestWebhookMessages(t *testing.T) {
	tests := []struct {
		golden string
		cfg    func(c *Config)
		msg    *alerting.Message
	}{
		{golden: "webhook_firing", msg: groupMsg(alerting.StatusFiring, accuracyAlerts(false))},
		{golden: "webhook_resolved", msg: groupMsg(alerting.StatusResolved, accuracyAlerts(true))},
		{golden: "webhook_partly_resolved", msg: func() *alerting.Message {
			as := accuracyAlerts(false)
			as[0].EndsAt = t0.Add(28 * time.Minute)
			return groupMsg(alerting.StatusFiring, as)
		}()},
		{golden: "webhook_digest", msg: digest()},
		{
			golden: "webhook_templates",
			cfg: func(c *Config) {
				c.Username, c.IconEmoji = "vigil", ":rotating_light:"
				c.Title = `{{ .CommonLabels.model | upper }}: {{ len .FiringAlerts }} segments below target`
				c.Text = `Owner: *{{ .CommonLabels.team }}*{{ range .FiringAlerts }} · {{ .Labels.segment }}={{ value .Value }}{{ end }}`
			},
			msg: groupMsg(alerting.StatusFiring, accuracyAlerts(false)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			e := newWebhook(t, tt.cfg)
			state, err := e.n.Notify(t.Context(), tt.msg)
			require.NoError(t, err)
			require.Nil(t, state)
			reqs := e.fake.take()
			require.Len(t, reqs, 1)
			require.Equal(t, webhookPath, reqs[0].Path)
			reqs[0].Path = "/services/T000/B000/<secret>"
			checkGolden(t, tt.golden, reqs)
			e.assertNoSecret(t, nil)
		})
	}
}

// The bot posts the group's first message, keeps its channel and ts, then on a repeat and
// on the resolution edits it and replies in its thread.
func TestBotFlow(t *testing.T) {
	e := newBot(t, nil)
	ctx := t.Context()

	firing := groupMsg(alerting.StatusFiring, accuracyAlerts(false))
	state, err := e.n.Notify(ctx, firing)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"channel": "C0123ABCD", "ts": "1764000000.000100", "status": "firing"}, state)
	reqs := e.fake.take()
	require.Len(t, reqs, 1)
	require.Equal(t, botToken, reqs[0].form.Get("token"))
	checkGolden(t, "bot_1_post", reqs)

	// The outbox stores the state and hands it back with the next message of the group.
	repeat := groupMsg(alerting.StatusFiring, accuracyAlerts(false))
	repeat.State = state
	state, err = e.n.Notify(ctx, repeat)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"channel": "C0123ABCD", "ts": "1764000000.000100", "status": "firing"}, state)
	reqs = e.fake.take()
	require.Len(t, reqs, 2)
	require.Equal(t, "/api/chat.update", reqs[0].Path)
	require.Equal(t, "1764000000.000100", reqs[0].form.Get("ts"))
	require.Equal(t, "/api/chat.postMessage", reqs[1].Path)
	require.Equal(t, "1764000000.000100", reqs[1].form.Get("thread_ts"))
	checkGolden(t, "bot_2_repeat", reqs)

	resolved := groupMsg(alerting.StatusResolved, accuracyAlerts(true))
	resolved.State = state
	state, err = e.n.Notify(ctx, resolved)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"channel": "C0123ABCD", "ts": "1764000000.000100", "status": "resolved"}, state)
	reqs = e.fake.take()
	require.Len(t, reqs, 2)
	require.Equal(t, "C0123ABCD", reqs[0].form.Get("channel"), "chat.update needs the channel ID")
	checkGolden(t, "bot_3_resolve", reqs)

	// A resent resolution only refreshes the first message.
	resolved.State = state
	state2, err := e.n.Notify(ctx, resolved)
	require.NoError(t, err)
	require.Equal(t, state, state2)
	reqs = e.fake.take()
	require.Len(t, reqs, 1)
	require.Equal(t, "/api/chat.update", reqs[0].Path)

	// The next firing of the group is a new incident: a new top-level message.
	again := groupMsg(alerting.StatusFiring, accuracyAlerts(false))
	again.State = state
	state, err = e.n.Notify(ctx, again)
	require.NoError(t, err)
	reqs = e.fake.take()
	require.Len(t, reqs, 1)
	require.Equal(t, "/api/chat.postMessage", reqs[0].Path)
	require.Empty(t, reqs[0].form.Get("thread_ts"))
	require.Equal(t, "#ml-alerts", reqs[0].form.Get("channel"))
	require.NotEqual(t, "1764000000.000100", state["ts"])
	e.assertNoSecret(t, nil)
}

func TestBotFollowUpModes(t *testing.T) {
	anchor := map[string]string{"channel": "C0123ABCD", "ts": "1763000000.000001", "status": "firing"}
	slackError := func(path, code string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != path {
				return false
			}
			_, _ = fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
			return true
		}
	}
	tests := []struct {
		name    string
		cfg     func(c *Config)
		respond func(w http.ResponseWriter, r *http.Request) bool
		paths   []string // requests made, in order; "thread" is a threaded reply
		newTS   bool     // the state names a new first message
	}{
		{name: "update only", cfg: func(c *Config) { c.ReplyInThread = false }, paths: []string{"chat.update"}},
		{name: "thread only", cfg: func(c *Config) { c.UpdateMessage = false }, paths: []string{"thread"}},
		{name: "neither posts anew", cfg: func(c *Config) { c.UpdateMessage, c.ReplyInThread = false, false }, paths: []string{"chat.postMessage"}, newTS: true},
		{name: "update refused, reply carries it", respond: slackError("/api/chat.update", "cant_update_message"), paths: []string{"chat.update", "thread"}},
		{name: "original deleted", respond: func(w http.ResponseWriter, r *http.Request) bool {
			if err := r.ParseForm(); err != nil || r.URL.Path == "/api/chat.update" || r.Form.Get("thread_ts") != "" {
				_, _ = io.WriteString(w, `{"ok":false,"error":"message_not_found"}`)
				return true
			}
			return false
		}, paths: []string{"chat.update", "thread", "chat.postMessage"}, newTS: true},
		{name: "update only, refused", cfg: func(c *Config) { c.ReplyInThread = false }, respond: slackError("/api/chat.update", "message_not_found"),
			paths: []string{"chat.update", "chat.postMessage"}, newTS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBot(t, tt.cfg)
			e.fake.respond = tt.respond
			m := groupMsg(alerting.StatusResolved, accuracyAlerts(true))
			m.State = anchor
			state, err := e.n.Notify(t.Context(), m)
			require.NoError(t, err)
			var paths []string
			for _, r := range e.fake.take() {
				p := strings.TrimPrefix(r.Path, "/api/")
				if r.form.Get("thread_ts") != "" {
					require.Equal(t, anchor["ts"], r.form.Get("thread_ts"))
					p = "thread"
				}
				paths = append(paths, p)
			}
			require.Equal(t, tt.paths, paths)
			require.Equal(t, "resolved", state["status"])
			if tt.newTS {
				require.NotEqual(t, anchor["ts"], state["ts"])
			} else {
				require.Equal(t, anchor["ts"], state["ts"])
			}
			e.assertNoSecret(t, nil)
		})
	}
}

func TestSendResolvedOff(t *testing.T) {
	off := func(c *Config) { c.SendResolved = false }
	e := newWebhook(t, off)
	state, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusResolved, accuracyAlerts(true)))
	require.NoError(t, err)
	require.Nil(t, state)
	require.Empty(t, e.fake.take())

	b := newBot(t, off)
	m := groupMsg(alerting.StatusResolved, accuracyAlerts(true))
	m.State = map[string]string{"channel": "C1", "ts": "1.1", "status": "firing"}
	state, err = b.n.Notify(t.Context(), m)
	require.NoError(t, err)
	require.Equal(t, "resolved", state["status"], "the next firing starts a new message")
	require.Empty(t, b.fake.take())
}

func TestErrors(t *testing.T) {
	httpDate := now.Add(30 * time.Second).Format(http.TimeFormat)
	status := func(code int, header, body string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if header != "" {
				w.Header().Set("Retry-After", header)
			}
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
			return true
		}
	}
	// The peer echoing the request URL and token must not leak them either.
	echo := func(w http.ResponseWriter, r *http.Request) bool {
		_ = r.ParseForm()
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "invalid_payload for %s token=%s", r.URL.Path, r.Form.Get("token"))
		return true
	}
	tests := []struct {
		name      string
		bot       bool
		respond   func(w http.ResponseWriter, r *http.Request) bool
		retryable bool
		after     time.Duration
		err       string
	}{
		{name: "429 seconds", respond: status(429, "7", "rate_limited"), retryable: true, after: 7 * time.Second, err: "rate limited (429): rate_limited"},
		{name: "429 http date", respond: status(429, httpDate, ""), retryable: true, after: 30 * time.Second, err: "rate limited (429)"},
		{name: "429 no header", respond: status(429, "", ""), retryable: true},
		{name: "500", respond: status(500, "", "rollup_error"), retryable: true, err: "server error 500: rollup_error"},
		{name: "503 retry after", respond: status(503, "120", ""), retryable: true, after: 2 * time.Minute},
		{name: "400 with slack's text", respond: status(400, "", "invalid_blocks"), err: "slack webhook: rejected with 400: invalid_blocks"},
		{name: "404 no service", respond: status(404, "", "no_service"), err: "rejected with 404: no_service"},
		{name: "410 archived", respond: status(410, "", "channel_is_archived"), err: "channel_is_archived"},
		{name: "peer echoes secrets", respond: echo, err: "rejected with 400: invalid_payload for /<secret> token="},
		{name: "bot 429", bot: true, respond: status(429, "3", `{"ok":false,"error":"ratelimited"}`), retryable: true, after: 3 * time.Second},
		{name: "bot channel not found", bot: true, respond: status(200, "", `{"ok":false,"error":"channel_not_found"}`), err: `chat.postMessage: slack error "channel_not_found"`},
		{name: "bot invalid blocks", bot: true, respond: status(200, "", `{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] must be a valid URL [json-pointer:/blocks/2/elements/0/url]"]}}`),
			err: `slack error "invalid_blocks": [ERROR] must be a valid URL`},
		{name: "bot internal error", bot: true, respond: status(200, "", `{"ok":false,"error":"internal_error"}`), retryable: true},
		{name: "bot 502", bot: true, respond: status(502, "", "<html>bad gateway</html>"), retryable: true, err: "chat.postMessage: server error 502"},
		{name: "bot invalid auth", bot: true, respond: status(200, "", `{"ok":false,"error":"invalid_auth"}`), err: "invalid_auth"},
		{name: "bot peer echoes token", bot: true, respond: echo, err: "token=<secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhook(t, nil)
			if tt.bot {
				e = newBot(t, nil)
			}
			e.fake.respond = tt.respond
			state, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			require.Error(t, err)
			require.Nil(t, state)
			after, retryable := alerting.IsRetryable(err)
			require.Equal(t, tt.retryable, retryable, "%v", err)
			require.Equal(t, tt.after, after)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
			}
			e.assertNoSecret(t, err)
		})
	}
}

// A peer that never answers: the client's timeout makes it a retryable error.
func TestHang(t *testing.T) {
	for _, bot := range []bool{false, true} {
		t.Run(fmt.Sprintf("bot=%v", bot), func(t *testing.T) {
			release := make(chan struct{})
			fake := newFakeSlack(t)
			fake.respond = func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return true
			}
			t.Cleanup(func() { close(release) }) // runs before the server's Close
			c := DefaultConfig()
			c.APIURL = Secret(fake.srv.URL + webhookPath)
			if bot {
				c = DefaultConfig()
				c.Token, c.Channel = botToken, "C1"
			}
			e := newEnv(t, fake, c, &http.Client{Timeout: 200 * time.Millisecond})
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			after, retryable := alerting.IsRetryable(err)
			require.True(t, retryable, "%v", err)
			require.Zero(t, after)
			require.Regexp(t, `deadline exceeded|Client\.Timeout exceeded`, err.Error())
			e.assertNoSecret(t, err)
		})
	}
}

func TestTransportErrors(t *testing.T) {
	// Connection refused: a closed server.
	e := newWebhook(t, nil)
	e.fake.srv.Close()
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	_, retryable := alerting.IsRetryable(err)
	require.True(t, retryable, "%v", err)
	require.ErrorContains(t, err, "slack webhook: Post http://127.0.0.1")
	require.ErrorContains(t, err, "/<secret>: dial tcp")
	e.assertNoSecret(t, err)

	// A cancelled context is retryable and still says so to errors.Is.
	e = newWebhook(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.n.Notify(ctx, groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	_, retryable = alerting.IsRetryable(err)
	require.True(t, retryable)
	require.ErrorIs(t, err, context.Canceled)
	e.assertNoSecret(t, err)
}

func TestLimits(t *testing.T) {
	var many []*alerting.Alert
	for i := range 30 {
		a := accuracyAlerts(false)[0]
		a.Labels["segment"] = fmt.Sprintf("country=%02d", i)
		a.Labels["alertname"] = fmt.Sprintf("Rule%02d", i%25)
		many = append(many, a)
	}
	m := groupMsg(alerting.StatusFiring, many)
	n, err := New(Config{APIURL: "https://hooks.example/x"}, Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	msg, err := n.render(m, now)
	require.NoError(t, err)
	require.LessOrEqual(t, len(msg.blocks), 50)
	j, _ := json.Marshal(msg.blocks)
	require.Contains(t, string(j), "…and 20 more alerts not shown")

	m.Digest = true
	msg, err = n.render(m, now)
	require.NoError(t, err)
	require.LessOrEqual(t, len(msg.blocks), 50)
	j, _ = json.Marshal(msg.blocks)
	require.Contains(t, string(j), "…and 5 more groups not shown")

	long := groupMsg(alerting.StatusFiring, accuracyAlerts(false))
	long.CommonLabels["alertname"] = strings.Repeat("VeryLongAlertName", 20)
	msg, err = n.render(long, now)
	require.NoError(t, err)
	j, _ = json.Marshal(msg.blocks[0])
	var h struct{ Text struct{ Text string } }
	require.NoError(t, json.Unmarshal(j, &h))
	require.Len(t, []rune(h.Text.Text), maxHeaderRunes)
	require.True(t, strings.HasSuffix(h.Text.Text, "…"))
}

func TestTemplateErrorAtSend(t *testing.T) {
	// A template that passes the load check can still fail on real data: that is permanent.
	e := newWebhook(t, func(c *Config) { c.Text = `{{ (index .FiringAlerts 0).Labels.model }}` })
	m := groupMsg(alerting.StatusResolved, accuracyAlerts(true))
	_, err := e.n.Notify(t.Context(), m)
	require.ErrorContains(t, err, "slack text template")
	_, retryable := alerting.IsRetryable(err)
	require.False(t, retryable)
	require.Empty(t, e.fake.take())
}
