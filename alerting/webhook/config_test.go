package webhook

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
		{name: "file with defaults", yaml: "url_file: /etc/vigil/hook\n", want: Config{URLFile: "/etc/vigil/hook", SendResolved: true}},
		{name: "everything", yaml: "url: ${HOOK_URL}\nmax_alerts: 20\nsend_resolved: false\ntimeout: 5s\n",
			want: Config{URL: "${HOOK_URL}", MaxAlerts: 20, Timeout: model.Duration(5 * time.Second)}},
		{name: "empty", yaml: "", err: "url or url_file is required"},
		{name: "no url", yaml: "max_alerts: 1\n", err: "line 1: url: url or url_file is required"},
		{name: "both", yaml: "url: https://h/x\nurl_file: f\n", err: "line 2: url_file: at most one"},
		{name: "unknown key names its line", yaml: "url_file: f\nhttp_config: {}\n", err: "line 2: field http_config not found"},
		{name: "negative max_alerts", yaml: "url_file: f\nmax_alerts: -1\n", err: "line 2: max_alerts: must not be negative"},
		{name: "bad timeout", yaml: "url_file: f\ntimeout: soon\n", err: `not a valid duration string: "soon"`},
		{name: "bad url, not echoed", yaml: "url: 'hooks.example/SECRETPATH'\n", err: "line 1: url: is not an absolute http(s) URL"},
		{name: "two documents", yaml: "url_file: f\n---\nurl_file: g\n", err: "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load([]byte(tt.yaml))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.NotContains(t, err.Error(), "SECRETPATH")
				require.NotContains(t, err.Error(), "webhookConfig")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, *c)
		})
	}
}

func TestUnknownNestedKeyFails(t *testing.T) {
	type receiver struct {
		Name           string    `yaml:"name"`
		WebhookConfigs []*Config `yaml:"webhook_configs"`
	}
	for src, want := range map[string]string{
		"name: r\nwebhook_configs:\n  - url_file: f\n    max_alert: 3\n":  "line 4: field max_alert not found",
		"name: r\nwebhook_configs:\n  - url_file: f\n  - max_alerts: 3\n": "line 4: url: url or url_file is required",
	} {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
		dec.KnownFields(true)
		var r receiver
		require.ErrorContains(t, dec.Decode(&r), want)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c := DefaultConfig()
	c.URL = "https://hooks.example/T/NEVERSHOWN?token=NEVERSHOWN"
	notifytest.RequireHidden(t, "NEVERSHOWN", c, &c, c.URL)
}

func TestNewResolvesSecrets(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hook"), []byte("https://hooks.example/FROMFILE\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad"), []byte("FROMFILE-not-a-url"), 0o600))
	t.Setenv("VIGIL_TEST_HOOK", "https://hooks.example/FROMENV")
	tests := []struct{ name, url, file, err string }{
		{name: "file", file: "hook"},
		{name: "env", url: "${VIGIL_TEST_HOOK}"},
		{name: "env inside", url: "${VIGIL_TEST_HOOK}?x=1"},
		{name: "unset env", url: "https://h/${VIGIL_TEST_HOOK_UNSET}", err: "url: environment variable VIGIL_TEST_HOOK_UNSET is not set"},
		{name: "bad url in file", file: "bad", err: "url: is not an absolute http(s) URL"},
		{name: "missing file", file: "nope", err: "url_file: open " + filepath.Join(dir, "nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.URL, c.URLFile = Secret(tt.url), tt.file
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
		"url_file: f\n", "url: ${U}\nmax_alerts: 3\ntimeout: 1m\n", "url: https://h/x\nsend_resolved: false\n",
		"url_file: f\ntimeout: 0s\n", "- 1\n", "url: [a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data)
		if err != nil {
			return
		}
		require.NoError(t, c.validate())
		out, err := yaml.Marshal(c)
		require.NoError(t, err)
		if c.URL == "" {
			back, err := Load(out)
			require.NoError(t, err, "%s", out)
			require.Equal(t, *c, *back)
		}
	})
}

func TestBuild(t *testing.T) {
	n := notifytest.RequireBuild(t, Build(Options{BaseDir: t.TempDir()}), "url: https://hooks.example/x\n", "url_file: missing\n")
	require.IsType(t, &Notifier{}, n)
}
