package pagerduty

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vigilml/vigil/alerting/internal/notifyutil/notifytest"
	"go.yaml.in/yaml/v3"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(t *testing.T, c *Config)
		err  string
	}{
		{
			name: "defaults",
			yaml: "routing_key: ${PD_ROUTING_KEY}\n",
			want: func(t *testing.T, c *Config) {
				require.Equal(t, DefaultURL, c.URL)
				require.Equal(t, "vigil", c.Client)
				require.Equal(t, "vigil", c.Source)
				require.Equal(t, "{{ .ExternalURL }}", c.ClientURL)
				require.True(t, c.SendResolved)
			},
		},
		{
			name: "everything",
			yaml: `routing_key_file: /etc/vigil/pd-key
url: https://events.eu.pagerduty.com/v2/enqueue
client: vigil-prod
client_url: '{{ .ExternalURL }}/alerts'
source: vigil-eu-1
severity: '{{ if eq .CommonLabels.team "risk" }}critical{{ else }}warning{{ end }}'
details: {team: '{{ .CommonLabels.team }}', firing: '{{ len .FiringAlerts }}'}
links:
  - {href: 'https://grafana.example/d/ml?var-model={{ .CommonLabels.model }}', text: Grafana}
send_resolved: false
`,
			want: func(t *testing.T, c *Config) {
				require.Equal(t, "/etc/vigil/pd-key", c.RoutingKeyFile)
				require.Len(t, c.Links, 1)
				require.Equal(t, "Grafana", c.Links[0].Text)
				require.Len(t, c.Details, 2)
				require.False(t, c.SendResolved)
			},
		},
		{name: "empty", yaml: "", err: "routing_key or routing_key_file is required"},
		{name: "no key", yaml: "client: x\n", err: "line 1: routing_key: routing_key or routing_key_file is required"},
		{name: "both keys", yaml: "routing_key: a\nrouting_key_file: b\n", err: "line 2: routing_key_file: at most one"},
		{name: "unknown key names its line", yaml: "routing_key: a\nservice_key: b\n", err: "line 2: field service_key not found"},
		{name: "unknown nested key", yaml: "routing_key: a\nlinks:\n  - href: https://x\n    title: y\n", err: "line 4: field title not found"},
		{name: "link without href", yaml: "routing_key: a\nlinks: [{text: y}]\n", err: "line 2: links: links[0].href is required"},
		{name: "bad url", yaml: "routing_key: a\nurl: events.pagerduty.com\n", err: "line 2: url: \"events.pagerduty.com\" is not an absolute http(s) URL"},
		{name: "url with credentials", yaml: "routing_key: a\nurl: https://u:SECRETPW@pd.example/v2/enqueue\n", err: "must not hold a query, fragment or credentials"},
		{name: "empty client", yaml: "routing_key: a\nclient: ''\n", err: "client: must not be empty"},
		{name: "reserved detail", yaml: "routing_key: a\ndetails: {alerts: x}\n", err: "line 2: details: key \"alerts\" is empty or reserved"},
		{name: "detail template", yaml: "routing_key: a\ndetails: {x: '{{ .Nope }}'}\n", err: "can't evaluate field Nope"},
		{name: "severity template", yaml: "routing_key: a\nseverity: '{{ .Status'\n", err: "line 2: severity: template: severity:1: unclosed action"},
		{name: "client_url template", yaml: "routing_key: a\nclient_url: '{{ nope }}'\n", err: "line 2: client_url: template: client_url:1: function \"nope\" not defined"},
		{name: "link template", yaml: "routing_key: a\nlinks: [{href: '{{ .X }}'}]\n", err: "links[0].href"},
		{name: "two documents", yaml: "routing_key: a\n---\nrouting_key: b\n", err: "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load([]byte(tt.yaml))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.NotContains(t, err.Error(), "SECRETPW")
				require.NotContains(t, err.Error(), "pagerdutyConfig")
				return
			}
			require.NoError(t, err)
			tt.want(t, c)
		})
	}
}

func TestUnknownNestedKeyFails(t *testing.T) {
	type receiver struct {
		Name             string    `yaml:"name"`
		PagerdutyConfigs []*Config `yaml:"pagerduty_configs"`
	}
	for src, want := range map[string]string{
		"name: r\npagerduty_configs:\n  - routing_key: a\n    severty: critical\n":                 "line 4: field severty not found",
		"name: r\npagerduty_configs:\n  - routing_key: a\n    links:\n      - {href: x, alt: y}\n": "line 5: field alt not found",
		"name: r\npagerduty_configs:\n  - client: x\n":                                             "line 3: routing_key: routing_key or routing_key_file is required",
	} {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
		dec.KnownFields(true)
		var r receiver
		require.ErrorContains(t, dec.Decode(&r), want)
	}
}

func TestEventsBase(t *testing.T) {
	for in, want := range map[string]string{
		DefaultURL: "https://events.pagerduty.com",
		"https://events.eu.pagerduty.com/v2/enqueue/": "https://events.eu.pagerduty.com",
		"http://127.0.0.1:8080":                       "http://127.0.0.1:8080",
		"http://proxy.example/pagerduty/v2/enqueue":   "http://proxy.example/pagerduty",
	} {
		got, err := eventsBase(in)
		require.NoError(t, err)
		require.Equal(t, want, got, in)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c := DefaultConfig()
	c.RoutingKey = "R0UTINGKEYNEVERSHOWN"
	notifytest.RequireHidden(t, "NEVERSHOWN", c, c.RoutingKey)
	y, err := yaml.Marshal(c)
	require.NoError(t, err)
	require.Contains(t, string(y), "routing_key: <secret>")
}

func TestNewResolvesSecrets(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key"), []byte("KEYFROMFILE\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	t.Setenv("VIGIL_TEST_PD_KEY", "KEYFROMENV")
	tests := []struct {
		name, key, file, err string
	}{
		{name: "file", file: "key"},
		{name: "env", key: "${VIGIL_TEST_PD_KEY}"},
		{name: "unset env", key: "${VIGIL_TEST_PD_UNSET}", err: "routing_key: environment variable VIGIL_TEST_PD_UNSET is not set"},
		{name: "empty env value", key: "${VIGIL_TEST_PD_EMPTY}", err: "routing_key: is empty"},
		{name: "missing file", file: "nope", err: "routing_key_file: open " + filepath.Join(dir, "nope")},
		{name: "empty file", file: "empty", err: "routing_key_file: file " + filepath.Join(dir, "empty") + " is empty"},
	}
	t.Setenv("VIGIL_TEST_PD_EMPTY", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.RoutingKey, c.RoutingKeyFile = Secret(tt.key), tt.file
			n, err := New(c, Options{BaseDir: dir})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.NotContains(t, err.Error(), "KEYFROM")
				return
			}
			require.NoError(t, err)
			require.Contains(t, []string{"KEYFROMFILE", "KEYFROMENV"}, n.routingKey.Reveal())
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"routing_key: ${K}\n",
		"routing_key_file: k\nurl: https://events.eu.pagerduty.com/v2/enqueue\nsend_resolved: false\n",
		"routing_key_file: k\ndetails: {a: '{{ .Status }}'}\nlinks: [{href: 'https://x/{{ .Receiver }}', text: t}]\n",
		"routing_key_file: k\nseverity: '{{ .CommonLabels.severity }}'\nclient_url: ''\n",
		"[]", "routing_key: {a: 1}\n",
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
		if c.RoutingKey == "" {
			back, err := Load(out)
			require.NoError(t, err, "%s", out)
			again, err := yaml.Marshal(back)
			require.NoError(t, err)
			require.Equal(t, string(out), string(again))
		}
	})
}

func TestBuild(t *testing.T) {
	n := notifytest.RequireBuild(t, Build(Options{BaseDir: t.TempDir()}), "routing_key: abc\n", "routing_key: ${VIGIL_TEST_UNSET_KEY}\n")
	require.IsType(t, &Notifier{}, n)
}
