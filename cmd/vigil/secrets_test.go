package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSecretsNeverShow runs vigil with real-looking secrets in every place a config can
// hold one, drives it through the paths that print, log, store and serve (wrong tokens,
// deliveries that fail and are retried, reloads, every read API, the status page,
// /metrics), and then searches everything it wrote or answered for the secrets.
func TestSecretsNeverShow(t *testing.T) {
	const (
		ingestToken = "vgl_ingest_9f3c2a7e5b1d4c8a"
		slackPath   = "/services/T0SECRET1/B0SECRET2/xoxSecretWebhookPart3"
		routingKey  = "R0UTINGKEY5ecret0000000000000000"
		hookPass    = "h00kPassw0rdSecret"
		adminToken  = "vgl_admin_1e8b6d0c4f2a9e37"
	)
	secrets := []string{ingestToken, adminToken, "T0SECRET1", "B0SECRET2", "xoxSecretWebhookPart3", routingKey, hookPass}

	var failing atomic.Int32
	failing.Store(3) // the first deliveries fail: the retry paths log
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if failing.Add(-1) >= 0 {
			// An error page that quotes the request, as some proxies do.
			http.Error(w, "upstream error for "+r.URL.String(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"status":"success","ok":true}`)
	}))
	defer peer.Close()
	hookURL := strings.Replace(peer.URL, "http://", "http://vigil:"+hookPass+"@", 1) + "/hook"

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	write("token", ingestToken+"\n")
	write("admin_token", adminToken+"\n")
	write("slack_url", peer.URL+slackPath)
	write("pd_key", routingKey)
	write("hook_url", hookURL)
	cfgPath := write("vigil.yaml", fmt.Sprintf(`
global: {evaluation_interval: 1s, storage_path: %s}
ingest: {bearer_token_file: token}
web: {admin_bearer_token_file: admin_token}
models:
  - name: fraud
    task: binary_classification
    features: [{name: amount, type: numeric}]
rules:
  - name: DeadFeed
    signal: staleness
    op: ">"
    threshold: 1
    severity: critical
route:
  receiver: everyone
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: everyone
    slack_configs: [{api_url_file: slack_url}]
    pagerduty_configs: [{routing_key_file: pd_key, url: %q}]
    webhook_configs: [{url_file: hook_url}]
`, filepath.Join(dir, "data"), peer.URL))

	logPath := filepath.Join(dir, "vigil.log")
	p := startLogged(t, cfgPath, logPath)
	var answers strings.Builder
	do := func(method, path, token, body string) int {
		req, err := http.NewRequest(method, p.url+path, strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		fmt.Fprintf(&answers, "%s %s %d %v\n%s\n", method, path, resp.StatusCode, resp.Header, b)
		return resp.StatusCode
	}
	pred := `{"model":"fraud","id":"a","features":{"amount":1},"prediction":1}`
	require.Equal(t, http.StatusUnauthorized, do("POST", "/api/v1/predictions", "", pred))
	require.Equal(t, http.StatusUnauthorized, do("POST", "/api/v1/predictions", ingestToken+"x", pred))
	require.Equal(t, http.StatusUnauthorized, do("POST", "/api/v1/predictions", strings.ToUpper(ingestToken), pred))

	// The alert fires, every delivery fails a few times, then all arrive.
	deadline := time.Now().Add(30 * time.Second)
	for failing.Load() > -3 {
		require.True(t, time.Now().Before(deadline), "the deliveries did not go through")
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, http.StatusUnauthorized, do("POST", "/-/reload", ingestToken, ""))
	require.Equal(t, http.StatusUnauthorized, do("POST", "/-/reload", adminToken+"x", ""))
	require.Equal(t, http.StatusOK, do("POST", "/-/reload", adminToken, ""))
	for _, path := range []string{"/api/v1/models", "/api/v1/models/fraud", "/api/v1/alerts", "/api/v1/alerts/history",
		"/api/v1/silences", "/", "/models/fraud", "/metrics", "/-/ready", "/-/healthy"} {
		do("GET", path, "", "")
	}
	require.Equal(t, http.StatusAccepted, do("POST", "/api/v1/predictions", ingestToken, pred))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.exited)

	// vigil check config prints what it found.
	var out, errb strings.Builder
	require.Equal(t, 0, run([]string{"check", "config", cfgPath}, &out, &errb), errb.String())

	outputs := map[string]string{"HTTP answers": answers.String(), "check config": out.String() + errb.String()}
	logs, err := os.ReadFile(logPath)
	require.NoError(t, err)
	outputs["log"] = string(logs)
	require.Contains(t, outputs["log"], "retry", "the failing deliveries were logged")
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		outputs[path] = string(b)
		return err
	}))
	require.Greater(t, len(outputs), 5, "the store has files to search")
	for name, text := range outputs {
		for _, s := range secrets {
			require.NotContains(t, text, s, "%s shows a secret", name)
		}
	}
}
