package demo_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/demo"
)

// syncBuffer is a bytes.Buffer safe for the demo's concurrent writers.
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

// recorder is a fake Slack webhook and PagerDuty Events API: it keeps every body.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, string(b))
	r.mu.Unlock()
	if strings.HasPrefix(req.URL.Path, "/pagerduty") {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"k"}`)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

func (r *recorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.bodies, "\n")
}

// TestDemoTellsTheStory plays the whole story ten times faster against a real listener and
// checks, through vigil's own audit trail, that each failure the schedule injects fired
// the expected alert and that the alert resolved once the failure was over. It asserts
// what happened, never when.
func TestDemoTellsTheStory(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo for about 20s")
	}
	hooks := &recorder{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	out := &syncBuffer{}
	d, err := demo.Start(demo.Options{
		ListenAddress: "127.0.0.1:0", Speed: 10, Out: out, StatusEvery: -1,
		SlackWebhookURL: srv.URL + "/slack", PagerDutyRoutingKey: "demo-routing-key-0123456789abcdef",
		PagerDutyURL: srv.URL + "/pagerduty",
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, d.Stop(t.Context())) }()
	require.NoError(t, d.Play(t.Context()))

	resp, err := http.Get(d.URL() + "/api/v1/alerts/history?limit=100000")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var events []alerting.Event
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&events))

	for _, want := range []map[string]string{
		{"alertname": "FeatureDrift", "model": "fraud", "feature": "amount"},
		{"alertname": "SegmentAccuracyDrop", "model": "fraud", "segment": "country=FR"},
		{"alertname": "DeadFeed", "model": "house-prices"},
	} {
		var fired, resolved time.Time
		for _, e := range events {
			if !matches(e.Labels, want) {
				continue
			}
			switch {
			case e.Type == alerting.EventAlertFiring && fired.IsZero():
				fired = e.Time
			case e.Type == alerting.EventAlertResolved && !fired.IsZero():
				resolved = e.Time
			}
		}
		require.False(t, fired.IsZero(), "%v never fired; the demo printed:\n%s", want, out.String())
		require.False(t, resolved.IsZero(), "%v fired but never resolved; the demo printed:\n%s", want, out.String())
	}

	// The terminal shows the story: phase banners and the console receiver's alerts.
	text := out.String()
	for _, s := range []string{"Drift: fraud's `amount` feature shifts", "[FIRING:1] console", "[RESOLVED:0] console", `feature="amount"`, `segment="country=FR"`} {
		require.Contains(t, text, s)
	}
	// With the flags, Slack got the alerts and PagerDuty was paged for the critical ones.
	sent := hooks.all()
	require.Contains(t, sent, "FeatureDrift")
	require.Contains(t, sent, "demo-routing-key-0123456789abcdef")
	require.Contains(t, sent, "DeadFeed")
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestDemoFallsBackToAFreePort starts a demo on an address that is taken.
func TestDemoFallsBackToAFreePort(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	taken := strings.TrimPrefix(srv.URL, "http://")
	out := &syncBuffer{}
	d, err := demo.Start(demo.Options{ListenAddress: taken, Out: out})
	require.NoError(t, err)
	defer func() { require.NoError(t, d.Stop(t.Context())) }()
	require.NotEqual(t, "http://"+taken, d.URL())
	require.Contains(t, out.String(), "is taken; using a free port instead")
	resp, err := http.Get(d.URL() + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
