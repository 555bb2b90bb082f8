// Package notifytest holds what the integrations' tests share: the fixtures' alerts and
// messages, a fake peer that records requests for golden files, the golden-file compare
// (go test -update), and assertions that no secret leaks into errors, logs or printed
// configs. It is a separate package so that binaries do not link test code.
package notifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vigilml/vigil/alerting"
)

// T0 is when the fixtures' alerts start counting; Now is the integrations' clock in tests.
var (
	T0  = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	Now = T0.Add(30 * time.Minute)
)

// GroupKey is the fixtures' group key.
const GroupKey = `{}/{severity="critical"}:{alertname="AccuracyDrop", model="fraud"}`

// AccuracyAlerts returns the fixtures' two AccuracyDrop alerts on model fraud: country=DE
// (since T0+5m, with dashboard, runbook and generator URLs) and country=FR (since T0+20m,
// with a dashboard URL). When resolved is set both ended at T0+28m. Each call returns new
// alerts that the caller may change.
func AccuracyAlerts(resolved bool) []*alerting.Alert {
	de := &alerting.Alert{
		Labels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "segment": "country=DE",
			"version": "v3", "severity": "critical", "team": "risk",
		},
		Annotations: map[string]string{
			"summary":       "fraud accuracy is 0.812 in country=DE",
			"dashboard_url": "https://grafana.example/d/vigil-model?var-model=fraud&var-segment=country%3DDE",
			"runbook_url":   "https://runbooks.example/vigil/AccuracyDrop",
		},
		StartsAt:     T0.Add(5 * time.Minute),
		GeneratorURL: "http://vigil.example:9780/api/v1/alerts?rule=AccuracyDrop",
		Value:        0.81234, Threshold: 0.85,
	}
	fr := &alerting.Alert{
		Labels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "segment": "country=FR",
			"version": "v3", "severity": "critical", "team": "risk",
		},
		Annotations: map[string]string{
			"summary":       "fraud accuracy is 0.79 in country=FR",
			"dashboard_url": "https://grafana.example/d/vigil-model?var-model=fraud&var-segment=country%3DFR",
		},
		StartsAt: T0.Add(20 * time.Minute),
		Value:    0.79, Threshold: 0.85,
	}
	if resolved {
		de.EndsAt = T0.Add(28 * time.Minute)
		fr.EndsAt = T0.Add(28 * time.Minute)
	}
	return []*alerting.Alert{de, fr}
}

// GroupMsg returns the message of the fixtures' group (GroupKey) for receiver.
func GroupMsg(receiver string, status alerting.Status, alerts []*alerting.Alert) *alerting.Message {
	return &alerting.Message{
		Receiver:    receiver,
		GroupKey:    GroupKey,
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

// Clone returns a deep copy of m (its alerts, maps and digest groups), to check later
// that an integration left m as it was.
func Clone(m *alerting.Message) *alerting.Message {
	if m == nil {
		return nil
	}
	c := *m
	c.GroupLabels, c.CommonLabels, c.CommonAnnotations = maps.Clone(m.GroupLabels), maps.Clone(m.CommonLabels), maps.Clone(m.CommonAnnotations)
	c.State = maps.Clone(m.State)
	if m.Alerts != nil {
		c.Alerts = make([]*alerting.Alert, len(m.Alerts))
		for i, a := range m.Alerts {
			ac := *a
			ac.Labels, ac.Annotations = maps.Clone(a.Labels), maps.Clone(a.Annotations)
			c.Alerts[i] = &ac
		}
	}
	if m.Groups != nil {
		c.Groups = make([]*alerting.Message, len(m.Groups))
		for i, g := range m.Groups {
			c.Groups[i] = Clone(g)
		}
	}
	return &c
}

// RequireUnchanged fails unless m still equals want, the Clone taken before m was
// notified: messages are shared between integrations and retries. A NaN value equals
// itself here.
func RequireUnchanged(t testing.TB, want, m *alerting.Message) {
	t.Helper()
	wc, wv := comparable(want)
	mc, mv := comparable(m)
	require.Equal(t, wv, mv, "the integration changed an alert's value or threshold")
	require.Equal(t, wc, mc, "the integration changed the message it was given")
}

// comparable returns a Clone of m with its alerts' values and thresholds set to zero, and
// those numbers as text, where NaN equals NaN.
func comparable(m *alerting.Message) (*alerting.Message, []string) {
	c := Clone(m)
	if c == nil {
		return nil, nil
	}
	var values []string
	for _, a := range c.Alerts {
		values = append(values, strconv.FormatFloat(a.Value, 'g', -1, 64), strconv.FormatFloat(a.Threshold, 'g', -1, 64))
		a.Value, a.Threshold = 0, 0
	}
	for i, g := range c.Groups {
		var gv []string
		c.Groups[i], gv = comparable(g)
		values = append(values, gv...)
	}
	return c, values
}

// Request is one request a Server received, as golden files show it.
type Request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	// Form is the body of a form-encoded request, parsed.
	Form url.Values `json:"-"`
}

// A Responder answers a request in a test's own way; it returns false to leave the
// request to the server's usual answer. The request's body can be read again.
type Responder func(w http.ResponseWriter, r *http.Request) bool

// ServerOptions shape what a Server records and how it answers by default.
type ServerOptions struct {
	// Headers are the request headers recorded, when a request has them.
	Headers []string
	// Body, when set, replaces what is recorded as a request's body (for example to show
	// a form as JSON, without its token).
	Body func(r *Request, body []byte) json.RawMessage
	// Answer is the usual answer to the seq'th request (from 1); nil answers 200 with no
	// body.
	Answer func(w http.ResponseWriter, r *http.Request, body []byte, seq int)
}

// Server is a fake peer: it records every request and answers with the test's Responder,
// or else as its options say. Its URL is the embedded httptest.Server's.
type Server struct {
	*httptest.Server
	opts    ServerOptions
	mu      sync.Mutex
	reqs    []Request
	seq     int
	respond Responder
}

// NewServer starts a Server, closed when the test ends.
func NewServer(t testing.TB, opts ServerOptions) *Server {
	s := &Server{opts: opts}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := Request{Method: r.Method, Path: r.URL.RequestURI(), Headers: map[string]string{}, Body: body}
	for _, h := range s.opts.Headers {
		if v := r.Header.Get(h); v != "" {
			rec.Headers[h] = v
		}
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		rec.Form, _ = url.ParseQuery(string(body))
	}
	if s.opts.Body != nil {
		rec.Body = s.opts.Body(&rec, body)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.seq++
	seq, respond := s.seq, s.respond
	s.mu.Unlock()

	if respond != nil && respond(w, r) {
		return
	}
	if s.opts.Answer != nil {
		s.opts.Answer(w, r, body, seq)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Respond makes f answer the next requests (nil: the usual answer).
func (s *Server) Respond(f Responder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// Hang makes the server answer no request until the request is cancelled or the test
// ends: a peer that never answers.
func (s *Server) Hang(t testing.TB) {
	release := make(chan struct{})
	s.Respond(func(_ http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
}

// Take returns the requests recorded since the last Take.
func (s *Server) Take() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = nil
	return r
}

// Reply returns a Responder that answers with code and body, and with the headers given
// as name, value pairs (those with an empty value left out).
func Reply(code int, body string, header ...string) Responder {
	return func(w http.ResponseWriter, _ *http.Request) bool {
		for i := 0; i+1 < len(header); i += 2 {
			if header[i+1] != "" {
				w.Header().Set(header[i], header[i+1])
			}
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
		return true
	}
}

// Golden compares v, as indented JSON, with testdata/<name>.golden.json, or writes the file
// when update is set (go test -update).
func Golden(t testing.TB, name string, v any, update bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	path := filepath.Join("testdata", name+".golden.json")
	if update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), buf.String())
}

// Logger returns a debug logger that writes to the returned buffer.
func Logger() (*slog.Logger, *bytes.Buffer) {
	logs := &bytes.Buffer{}
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs
}

// RequireNoSecret is Alertmanager's AssertNotifyLeaksNoSecret for vigil: none of secrets
// is in err (when not nil) nor in logs.
func RequireNoSecret(t testing.TB, err error, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil {
			require.NotContains(t, err.Error(), s)
		}
		require.NotContains(t, logs, s)
	}
}

// RequireHidden fails when secret shows in any rendering of values: fmt's %v, %+v and
// %#v, YAML, JSON and a JSON log line.
func RequireHidden(t testing.TB, secret string, values ...any) {
	t.Helper()
	for _, v := range values {
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "v", v)
		y, err := yaml.Marshal(v)
		require.NoError(t, err)
		j, err := json.Marshal(v)
		require.NoError(t, err)
		for _, out := range []string{fmt.Sprintf("%v %+v %#v", v, v, v), string(y), string(j), logs.String()} {
			require.NotContains(t, out, secret)
		}
	}
}

// RequireRetry checks err's classification: retryable or not, and the delay it asks for.
func RequireRetry(t testing.TB, err error, retryable bool, after time.Duration) {
	t.Helper()
	d, ok := alerting.IsRetryable(err)
	require.Equal(t, retryable, ok, "%v", err)
	require.Equal(t, after, d)
}

// Decoder returns a decode function as the root config hands integrations one: strict
// YAML of src.
func Decoder(src string) func(any) error {
	return func(v any) error {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
		dec.KnownFields(true)
		return dec.Decode(v)
	}
}

// RequireBuild checks an integration's Build function: the config good builds a
// Notifier, which it returns; good with an unknown key, and failing (which decodes but
// New refuses), are errors with a nil interface, not a typed nil.
func RequireBuild(t testing.TB, build func(decode func(any) error) (alerting.Notifier, error), good, failing string) alerting.Notifier {
	t.Helper()
	n, err := build(Decoder(good))
	require.NoError(t, err)
	require.NotNil(t, n)
	bad, err := build(Decoder(good + "bogus: 1\n"))
	require.ErrorContains(t, err, "field bogus not found")
	require.Nil(t, bad, "a nil interface, not a typed nil")
	bad, err = build(Decoder(failing))
	require.Error(t, err)
	require.Nil(t, bad)
	return n
}
