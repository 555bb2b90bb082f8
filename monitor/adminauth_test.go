package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestWebConfigTokens: the admin token is read like ingest's (inline with ${ENV}, or from
// a file), never shown, and may not equal the ingest token.
func TestWebConfigTokens(t *testing.T) {
	t.Setenv("VIGIL_TEST_ADMIN", "admin-from-env")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "admin"), []byte("admin-from-file\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "same"), []byte("t0ken\n"), 0o600))
	cases := []struct {
		name, cfg, want, err string
	}{
		{"unset", "models: []\n", "", ""},
		{"inline with env", "web: {admin_bearer_token: '${VIGIL_TEST_ADMIN}'}\n", "admin-from-env", ""},
		{"file, relative and trimmed", "web: {admin_bearer_token_file: admin}\n", "admin-from-file", ""},
		{"both", "web: {admin_bearer_token: x, admin_bearer_token_file: admin}\n", "", "web: at most one of admin_bearer_token and admin_bearer_token_file may be set"},
		{"missing file", "web: {admin_bearer_token_file: missing}\n", "", "web.admin_bearer_token_file"},
		{"unset env", "web: {admin_bearer_token: '${VIGIL_TEST_UNSET_VARIABLE}'}\n", "", "VIGIL_TEST_UNSET_VARIABLE is not set"},
		{"same as ingest", "ingest: {bearer_token: t0ken}\nweb: {admin_bearer_token_file: same}\n", "", "must differ from ingest.bearer_token"},
		{"unknown field", "web: {admin_token: x}\n", "", "admin_token not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte(c.cfg), 0o600))
			cfg, err := LoadFile(path)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				require.NotContains(t, err.Error(), "t0ken")
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, cfg.Web.AdminBearerToken.Reveal())
			out, err := yaml.Marshal(cfg.Web)
			require.NoError(t, err)
			if c.want != "" {
				require.NotContains(t, string(out), c.want)
				require.Contains(t, string(out), "<secret>")
				require.Equal(t, "<secret>", fmt.Sprint(cfg.Web.AdminBearerToken))
			}
		})
	}
}

// adminDaemon starts vigil with an ingest token file, an admin token file, alerting (for
// silences) and pprof on; it returns the base URL and the config's directory.
func adminDaemon(t *testing.T, adminToken string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ingest.token"), []byte("ingest-secret\n"), 0o600))
	web := ""
	if adminToken != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "admin.token"), []byte(adminToken+"\n"), 0o600))
		web = "web: {admin_bearer_token_file: admin.token}\n"
	}
	cfg := fmt.Sprintf(`global: {evaluation_interval: 1h, storage_path: %s}
ingest: {bearer_token_file: ingest.token}
%smodels:
  - name: fraud
    task: binary_classification
    window: {size: 100}
    reference: {window: first, size: 5}
    features: [{name: amount, type: numeric}]
route: {receiver: blackhole}
receivers: [{name: blackhole}]
`, filepath.Join(dir, "data"), web)
	path := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(), EnablePprof: true})
	require.NoError(t, err)
	require.NoError(t, m.Start())
	t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
	return "http://" + m.Addr().String(), dir
}

// call sends one request with an optional bearer token and returns status, header, body.
func call(t *testing.T, method, url, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func silenceBody() string {
	now := time.Now().UTC()
	return fmt.Sprintf(`{"matchers":[{"name":"model","value":"fraud","isRegex":false,"isEqual":true}],"startsAt":%q,"endsAt":%q,"createdBy":"t","comment":"c"}`,
		now.Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
}

// TestAdminEndpointsNeedAdminToken: every admin route answers 401 without the admin token
// (ingest's token included) and does nothing; with it, the route works.
func TestAdminEndpointsNeedAdminToken(t *testing.T) {
	base, _ := adminDaemon(t, "admin-secret")
	// countSilences counts the silences not yet expired.
	countSilences := func() int {
		status, _, body := call(t, "GET", base+"/api/v1/silences", "", "")
		require.Equal(t, 200, status, body)
		var sils []struct{ EndsAt time.Time }
		require.NoError(t, json.Unmarshal([]byte(body), &sils))
		n := 0
		for _, s := range sils {
			if s.EndsAt.After(time.Now()) {
				n++
			}
		}
		return n
	}
	// newSilence makes a silence with the admin token, for DELETE to expire.
	newSilence := func() string {
		status, _, body := call(t, "POST", base+"/api/v1/silences", "admin-secret", silenceBody())
		require.Equal(t, 200, status, body)
		_, id, ok := strings.Cut(body, `"silenceID":"`)
		require.True(t, ok, body)
		id, _, _ = strings.Cut(id, `"`)
		return id
	}
	routes := []struct {
		name, method, path, body string
		okStatus                 int
		silenceDelta             int // silences added when the request is let through
	}{
		{"reload", "POST", "/-/reload", "", 200, 0},
		{"add silence", "POST", "/api/v1/silences", silenceBody(), 200, 1},
		{"expire silence", "DELETE", "/api/v1/silences/", "", 200, -1},
		{"pprof index", "GET", "/debug/pprof/", "", 200, 0},
		{"pprof cmdline", "GET", "/debug/pprof/cmdline", "", 200, 0},
		{"pprof heap", "GET", "/debug/pprof/heap?debug=1", "", 200, 0},
	}
	tokens := []struct {
		name, token string
		allowed     bool
	}{
		{"no token", "", false},
		{"ingest token", "ingest-secret", false},
		{"wrong token", "admin-secre", false},
		{"admin token", "admin-secret", true},
	}
	for _, rt := range routes {
		for _, tk := range tokens {
			t.Run(rt.name+"/"+tk.name, func(t *testing.T) {
				path := rt.path
				if rt.method == http.MethodDelete {
					path += newSilence()
				}
				before := countSilences()
				status, hdr, body := call(t, rt.method, base+path, tk.token, rt.body)
				after := countSilences()
				if !tk.allowed {
					require.Equal(t, http.StatusUnauthorized, status, body)
					require.Equal(t, `Bearer realm="vigil admin"`, hdr.Get("WWW-Authenticate"))
					require.Contains(t, body, "admin bearer token")
					require.Equal(t, before, after, "a refused request changed the silences")
					return
				}
				require.Equal(t, rt.okStatus, status, body)
				require.Equal(t, before+rt.silenceDelta, after)
			})
		}
	}
	// Reading stays open: only changes and internals are admin.
	for _, p := range []string{"/api/v1/silences", "/api/v1/alerts", "/api/v1/models", "/metrics", "/-/ready"} {
		status, _, body := call(t, "GET", base+p, "", "")
		require.Equal(t, 200, status, p+": "+body)
	}
}

// TestIngestTokenUnaffectedByAdminToken: ingest takes its own token, never the admin's.
func TestIngestTokenUnaffectedByAdminToken(t *testing.T) {
	base, _ := adminDaemon(t, "admin-secret")
	one := `{"model":"fraud","id":"a","prediction":1,"features":{"amount":1}}`
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {"admin-secret", 401}, {"ingest-secret", 202}} {
		status, hdr, body := call(t, "POST", base+"/api/v1/predictions", c.token, one)
		require.Equal(t, c.want, status, "token %q: %s", c.token, body)
		if c.want == 401 {
			require.Equal(t, `Bearer realm="vigil"`, hdr.Get("WWW-Authenticate"))
		}
	}
}

// TestAdminTokenRotatedOnReload: a new token file takes effect with the reload that reads it.
func TestAdminTokenRotatedOnReload(t *testing.T) {
	base, dir := adminDaemon(t, "old-admin")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "admin.token"), []byte("new-admin\n"), 0o600))
	status, _, body := call(t, "POST", base+"/-/reload", "old-admin", "")
	require.Equal(t, 200, status, "the reload that rotates is authorised by the running token: %s", body)
	status, _, _ = call(t, "POST", base+"/-/reload", "old-admin", "")
	require.Equal(t, 401, status, "the old token is refused after the reload")
	status, _, body = call(t, "POST", base+"/-/reload", "new-admin", "")
	require.Equal(t, 200, status, body)
	status, _, body = call(t, "POST", base+"/api/v1/silences", "new-admin", silenceBody())
	require.Equal(t, 200, status, body)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
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

// TestUnprotectedAdminWarning: without an admin token the admin endpoints answer callers
// on this host, and a listener reachable from other machines says once at start that
// others get 403.
func TestUnprotectedAdminWarning(t *testing.T) {
	for _, c := range []struct {
		name, addr, web string
		warn            bool
	}{
		{"loopback", "127.0.0.1:0", "", false},
		{"all interfaces", "0.0.0.0:0", "", true},
		{"all interfaces with token", "0.0.0.0:0", "web: {admin_bearer_token: a}\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\n"+c.web+"models: []\n"), 0o600))
			var logs syncBuffer
			m, err := New(Options{ConfigFile: path, ListenAddress: c.addr, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			require.NoError(t, err)
			require.NoError(t, m.Start())
			defer func() { require.NoError(t, m.Stop(context.Background())) }()
			_, port, _ := strings.Cut(m.Addr().String(), "]:")
			if port == "" {
				_, port, _ = strings.Cut(m.Addr().String(), ":")
			}
			status, _, body := call(t, "POST", "http://127.0.0.1:"+port+"/-/reload", "", "")
			if c.web == "" {
				require.Equal(t, 200, status, body)
			} else {
				require.Equal(t, 401, status, body)
			}
			require.Equal(t, b2i(c.warn), strings.Count(logs.String(), "admin endpoints answer only callers on this host"), logs.String())
		})
	}
}

// TestAdminEndpointsWithoutTokenOnlyFromThisHost: with no admin token the admin endpoints
// answer loopback callers only (403 to the rest); with one, the token decides wherever
// the call comes from.
func TestAdminEndpointsWithoutTokenOnlyFromThisHost(t *testing.T) {
	newMonitor := func(t *testing.T, web string) *Monitor {
		dir := t.TempDir()
		path := filepath.Join(dir, "vigil.yaml")
		require.NoError(t, os.WriteFile(path, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\n"+web+"models: []\n"), 0o600))
		m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(), EnablePprof: true})
		require.NoError(t, err)
		require.NoError(t, m.Start())
		t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
		return m
	}
	open, guarded := newMonitor(t, ""), newMonitor(t, "web: {admin_bearer_token: adm1n}\n")
	for _, c := range []struct {
		name   string
		m      *Monitor
		remote string
		auth   string
		want   int
	}{
		{"no token, IPv4 loopback", open, "127.0.0.1:40000", "", 200},
		{"no token, IPv6 loopback", open, "[::1]:40000", "", 200},
		{"no token, v4-mapped loopback", open, "[::ffff:127.0.0.1]:40000", "", 200},
		{"no token, another host", open, "10.0.0.7:40000", "", 403},
		{"no token, another IPv6 host", open, "[2001:db8::1]:40000", "", 403},
		{"no token, another host sending one anyway", open, "10.0.0.7:40000", "Bearer adm1n", 403},
		{"token, another host with it", guarded, "10.0.0.7:40000", "Bearer adm1n", 200},
		{"token, another host without it", guarded, "10.0.0.7:40000", "", 401},
		{"token, loopback without it", guarded, "127.0.0.1:40000", "", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, target := range []struct{ method, path string }{{"POST", "/-/reload"}, {"GET", "/debug/pprof/"}} {
				req := httptest.NewRequest(target.method, target.path, nil)
				req.RemoteAddr = c.remote
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				rec := httptest.NewRecorder()
				c.m.Handler().ServeHTTP(rec, req)
				require.Equal(t, c.want, rec.Code, "%s %s: %s", target.method, target.path, rec.Body)
				if c.want == 403 {
					require.Contains(t, rec.Body.String(), "web.admin_bearer_token")
				}
			}
		})
	}
}
