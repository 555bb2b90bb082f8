package alertmanager

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"github.com/vigilml/vigil/alerting/internal/notifyutil/notifytest"
	"go.yaml.in/yaml/v3"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Config
		err  string
	}{
		{name: "one url", yaml: "url: http://alertmanager:9093\n", want: Config{URL: URLs{"http://alertmanager:9093"}, SendResolved: true}},
		{name: "a cluster with auth", yaml: "url: [http://am-0:9093, 'http://am-1:9093/']\nbasic_auth: {username: vigil, password_file: am-pass}\ntimeout: 3s\n",
			want: Config{URL: URLs{"http://am-0:9093", "http://am-1:9093/"}, BasicAuth: &BasicAuth{Username: "vigil", PasswordFile: "am-pass"},
				Timeout: model.Duration(3 * time.Second), SendResolved: true}},
		{name: "bearer", yaml: "url: https://am.example/prefix\nbearer_token: ${AM_TOKEN}\nsend_resolved: false\n",
			want: Config{URL: URLs{"https://am.example/prefix"}, BearerToken: "${AM_TOKEN}"}},
		{name: "empty", yaml: "", err: "url is required"},
		{name: "no url", yaml: "timeout: 1s\n", err: "line 1: url: at least one Alertmanager URL is required"},
		{name: "empty list", yaml: "url: []\n", err: "line 1: url: at least one"},
		{name: "bad url", yaml: "url: [http://ok:9093, 'am:9093']\n", err: `line 1: url: "am:9093" is not an absolute http(s) URL`},
		{name: "credentials in url", yaml: "url: http://vigil:SECRETPW@am:9093\n", err: "line 1: url: \"http://vigil:xxxxx@am:9093\" holds credentials: use basic_auth"},
		{name: "query", yaml: "url: http://am:9093/?x=1\n", err: "must not hold a query"},
		{name: "twice", yaml: "url: [http://am:9093, http://am:9093/api/v2/alerts]\n", err: "url: http://am:9093/api/v2/alerts is listed twice"},
		{name: "url not a string", yaml: "url: {a: b}\n", err: "line 1: cannot unmarshal !!map into []string"},
		{name: "two auths", yaml: "url: http://am:9093\nbearer_token: a\nbasic_auth: {username: u, password: p}\n", err: "line 2: bearer_token: at most one of basic_auth"},
		{name: "basic without user", yaml: "url: http://am:9093\nbasic_auth: {password: p}\n", err: "line 2: basic_auth: username is required"},
		{name: "basic without password", yaml: "url: http://am:9093\nbasic_auth: {username: u}\n", err: "basic_auth: password or password_file is required"},
		{name: "basic with both", yaml: "url: http://am:9093\nbasic_auth: {username: u, password: p, password_file: f}\n", err: "at most one of password and password_file"},
		{name: "unknown key", yaml: "url: http://am:9093\napi_version: v2\n", err: "line 2: field api_version not found"},
		{name: "unknown nested key", yaml: "url: http://am:9093\nbasic_auth:\n  username: u\n  pasword: p\n", err: "line 4: field pasword not found"},
		{name: "negative timeout", yaml: "url: http://am:9093\ntimeout: -1s\n", err: "not a valid duration string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load([]byte(tt.yaml))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.NotContains(t, err.Error(), "SECRETPW")
				require.NotContains(t, err.Error(), "alertmanagerConfig")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, *c)
		})
	}
}

func TestEndpoints(t *testing.T) {
	c := Config{URL: URLs{"http://am-0:9093", "http://am-1:9093/", "https://h.example/alertmanager/api/v2/alerts", "http://am-0:9093/"}}
	require.Equal(t, []string{
		"http://am-0:9093/api/v2/alerts", "http://am-1:9093/api/v2/alerts", "https://h.example/alertmanager/api/v2/alerts",
	}, c.endpoints())
}

func TestUnknownNestedKeyFails(t *testing.T) {
	type receiver struct {
		Name                string    `yaml:"name"`
		AlertmanagerConfigs []*Config `yaml:"alertmanager_configs"`
	}
	for src, want := range map[string]string{
		"name: r\nalertmanager_configs:\n  - url: http://am:9093\n    urls: [x]\n":                          "line 4: field urls not found",
		"name: r\nalertmanager_configs:\n  - url: http://am:9093\n    basic_auth: {username: u, pass: p}\n": "line 4: field pass not found",
		"name: r\nalertmanager_configs:\n  - url: http://am:9093\n    basic_auth: {username: u}\n":          "line 4: basic_auth: password or password_file is required",
	} {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
		dec.KnownFields(true)
		var r receiver
		require.ErrorContains(t, dec.Decode(&r), want)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c := DefaultConfig()
	c.URL = URLs{"http://am:9093"}
	c.BasicAuth = &BasicAuth{Username: "u", Password: "PASSNEVERSHOWN"}
	c.BearerToken = "TOKENNEVERSHOWN"
	notifytest.RequireHidden(t, "NEVERSHOWN", c, c.BasicAuth, *c.BasicAuth)
	y, err := yaml.Marshal(c)
	require.NoError(t, err)
	require.Contains(t, string(y), "url: http://am:9093\n", "one URL marshals as a string")
}

func TestNewResolvesSecrets(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pw"), []byte("PWFROMFILE\n"), 0o600))
	t.Setenv("VIGIL_TEST_AM_TOKEN", "TOKENFROMENV")
	tests := []struct {
		name string
		cfg  func(c *Config)
		err  string
	}{
		{name: "password file", cfg: func(c *Config) { c.BasicAuth = &BasicAuth{Username: "u", PasswordFile: "pw"} }},
		{name: "password env", cfg: func(c *Config) { c.BasicAuth = &BasicAuth{Username: "u", Password: "${VIGIL_TEST_AM_TOKEN}"} }},
		{name: "token env", cfg: func(c *Config) { c.BearerToken = "${VIGIL_TEST_AM_TOKEN}" }},
		{name: "token unset env", cfg: func(c *Config) { c.BearerToken = "${VIGIL_TEST_AM_UNSET}" }, err: "bearer_token: environment variable VIGIL_TEST_AM_UNSET is not set"},
		{name: "token missing file", cfg: func(c *Config) { c.BearerTokenFile = "nope" }, err: "bearer_token_file: open " + filepath.Join(dir, "nope")},
		{name: "password missing file", cfg: func(c *Config) { c.BasicAuth = &BasicAuth{Username: "u", PasswordFile: "/nonexistent/pw"} }, err: "basic_auth.password_file: open /nonexistent/pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.URL = URLs{"http://am:9093"}
			tt.cfg(&c)
			_, err := New(c, Options{BaseDir: dir})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.NotContains(t, err.Error(), "FROM")
				return
			}
			require.NoError(t, err)
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"url: http://am:9093\n", "url: [http://a:1, http://b:2/x]\ntimeout: 2s\n",
		"url: http://am:9093\nbasic_auth: {username: u, password_file: p}\n", "url: http://am:9093\nbearer_token_file: t\nsend_resolved: false\n",
		"url: [[1]]\n", "url: ~\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data)
		if err != nil {
			return
		}
		require.NoError(t, c.validate())
		require.NotEmpty(t, c.endpoints())
		out, err := yaml.Marshal(c)
		require.NoError(t, err)
		if c.BearerToken == "" && (c.BasicAuth == nil || c.BasicAuth.Password == "") {
			back, err := Load(out)
			require.NoError(t, err, "%s", out)
			require.Equal(t, *c, *back)
		}
	})
}

func TestBuild(t *testing.T) {
	n := notifytest.RequireBuild(t, Build(Options{BaseDir: t.TempDir()}), "url: http://am:9093\n", "url: http://am:9093\nbearer_token_file: missing\n")
	require.IsType(t, &Notifier{}, n)
}
