package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(t *testing.T, c *Config)
		err  string // substring of the error; empty: no error
	}{
		{
			name: "webhook file with defaults",
			yaml: "api_url_file: /etc/vigil/slack-webhook\nchannel: '#ml-alerts'\n",
			want: func(t *testing.T, c *Config) {
				require.Equal(t, "/etc/vigil/slack-webhook", c.APIURLFile)
				require.Equal(t, "#ml-alerts", c.Channel)
				require.True(t, c.SendResolved)
				require.True(t, c.UpdateMessage)
				require.True(t, c.ReplyInThread)
				require.False(t, c.Bot())
			},
		},
		{
			name: "bot with env token and switches",
			yaml: "token: ${SLACK_TOKEN}\nchannel: C0123\nupdate_message: false\nsend_resolved: false\n",
			want: func(t *testing.T, c *Config) {
				require.True(t, c.Bot())
				require.False(t, c.UpdateMessage)
				require.True(t, c.ReplyInThread)
				require.False(t, c.SendResolved)
			},
		},
		{
			name: "templates",
			yaml: "api_url: https://hooks.slack.com/services/T/B/X\ntitle: '{{ .CommonLabels.alertname }} ({{ len .FiringAlerts }})'\ntext: '{{ range .Alerts }}{{ value .Value }} {{ end }}'\n",
			want: func(t *testing.T, c *Config) { require.NotEmpty(t, c.Title) },
		},
		{name: "empty", yaml: "", err: "one of api_url, api_url_file, token and token_file is required"},
		{name: "null", yaml: "~\n", err: "one of api_url, api_url_file, token and token_file is required"},
		{name: "nothing to post with", yaml: "channel: x\n", err: "line 1: api_url: one of api_url"},
		{name: "unknown key names its line", yaml: "api_url_file: x\n\nchanel: '#typo'\n", err: "line 3: field chanel not found"},
		{name: "two destinations", yaml: "api_url_file: x\ntoken: y\nchannel: c\n", err: "line 2: token: at most one of"},
		{name: "url and url file", yaml: "api_url: https://h/x\napi_url_file: x\n", err: "line 1: api_url: at most one of"},
		{name: "bot without channel", yaml: "token_file: tok\n", err: "channel: is required with token"},
		{name: "bad url", yaml: "api_url: 'hooks.slack.com/services/T/B/SECRETPATH'\n", err: "line 1: api_url: is not an absolute http(s) URL"},
		{name: "both icons", yaml: "api_url_file: x\nicon_emoji: ':x:'\nicon_url: https://i/x.png\n", err: "line 3: icon_url: at most one"},
		{name: "bad icon url", yaml: "api_url_file: x\nicon_url: x.png\n", err: "icon_url: \"x.png\" is not an absolute URL"},
		{name: "template syntax", yaml: "api_url_file: x\ntitle: '{{ .Status '\n", err: "line 2: title: template: title:1: unclosed action"},
		{name: "template unknown field", yaml: "api_url_file: x\ntext: '{{ .Nope }}'\n", err: "line 2: text: template: text:1:3: executing \"text\" at <.Nope>: can't evaluate field Nope"},
		{name: "template unknown function", yaml: "api_url_file: x\ntext: '{{ nope }}'\n", err: "function \"nope\" not defined"},
		{name: "wrong type", yaml: "api_url_file: x\nsend_resolved: maybe\n", err: "line 2: cannot unmarshal !!str `maybe` into bool"},
		{name: "two documents", yaml: "api_url_file: x\n---\nbogus: 1\n", err: "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load([]byte(tt.yaml))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.NotContains(t, err.Error(), "SECRETPATH")
				require.NotContains(t, err.Error(), "slackConfig", "Go type names are cleaned")
				return
			}
			require.NoError(t, err)
			tt.want(t, c)
		})
	}
}

// The root config embeds slack configs in a list: an unknown key inside one must still fail
// (yaml v3 loses KnownFields under node-style UnmarshalYAML, go-yaml/yaml#460).
func TestUnknownNestedKeyFails(t *testing.T) {
	type receiver struct {
		Name         string    `yaml:"name"`
		SlackConfigs []*Config `yaml:"slack_configs"`
	}
	src := "name: r\nslack_configs:\n  - api_url_file: x\n    colour: red\n"
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	var r receiver
	err := dec.Decode(&r)
	require.ErrorContains(t, err, "line 4: field colour not found")

	// A validation error inside the list names the entry's key line too.
	dec = yaml.NewDecoder(bytes.NewReader([]byte("name: r\nslack_configs:\n  - api_url_file: x\n    token: y\n")))
	dec.KnownFields(true)
	err = dec.Decode(&r)
	require.ErrorContains(t, err, "line 4: token: at most one of")
}

func TestSecretNeverPrints(t *testing.T) {
	const secret = "xoxb-never-shown"
	c := DefaultConfig()
	c.Token = secret
	c.APIURL = "https://hooks.slack.com/services/T/B/never-shown-either"
	c.Channel = "C1"

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", c, "token", c.Token)
	y, err := yaml.Marshal(c)
	require.NoError(t, err)
	j, err := json.Marshal(c)
	require.NoError(t, err)
	for _, out := range []string{
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Token), fmt.Sprint(&c), string(y), string(j), logs.String(),
	} {
		require.NotContains(t, out, "never-shown")
	}
	require.Contains(t, string(y), "token: <secret>")
	require.Equal(t, secret, c.Token.Reveal())
	require.Empty(t, Secret("").String())
}

func TestNewResolvesSecrets(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hook"), []byte("https://hooks.example/services/FROMFILE\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty"), []byte(" \n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad"), []byte("not a url SECRETBAD"), 0o600))
	t.Setenv("VIGIL_TEST_SLACK_TOKEN", "xoxb-from-env")

	tests := []struct {
		name string
		cfg  func(c *Config)
		err  string
	}{
		{name: "file relative to base dir", cfg: func(c *Config) { c.APIURLFile = "hook" }},
		{name: "absolute file", cfg: func(c *Config) { c.APIURLFile = filepath.Join(dir, "hook") }},
		{name: "env token", cfg: func(c *Config) { c.Token, c.Channel = "${VIGIL_TEST_SLACK_TOKEN}", "C1" }},
		{name: "unset env names the variable", cfg: func(c *Config) { c.Token, c.Channel = "${VIGIL_TEST_UNSET_A}x${VIGIL_TEST_UNSET_B}", "C1" },
			err: "token: environment variable VIGIL_TEST_UNSET_A, VIGIL_TEST_UNSET_B is not set"},
		{name: "env url checked once expanded", cfg: func(c *Config) { c.APIURL = "${VIGIL_TEST_SLACK_TOKEN}" },
			err: "api_url: is not an absolute http(s) URL"},
		{name: "missing file", cfg: func(c *Config) { c.TokenFile, c.Channel = "nope", "C1" }, err: "token_file: open " + filepath.Join(dir, "nope")},
		{name: "empty file", cfg: func(c *Config) { c.APIURLFile = "empty" }, err: "api_url_file: file " + filepath.Join(dir, "empty") + " is empty"},
		{name: "bad url in file", cfg: func(c *Config) { c.APIURLFile = "bad" }, err: "api_url: is not an absolute http(s) URL"},
		{name: "invalid config", cfg: func(c *Config) {}, err: "api_url: one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.cfg(&c)
			n, err := New(c, Options{BaseDir: dir})
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				for _, s := range []string{"SECRETBAD", "xoxb-from-env", "FROMFILE"} {
					require.NotContains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			require.NotNil(t, n)
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"api_url_file: x\n",
		"token: ${T}\nchannel: C1\nupdate_message: false\n",
		"api_url: https://hooks.slack.com/services/T/B/X\ntitle: '{{ .Status }}'\ntext: '{{ range .Alerts }}{{ .Labels.model }}{{ end }}'\n",
		"api_url_file: x\nicon_emoji: ':fire:'\nusername: vigil\nsend_resolved: false\n",
		"- a\n", "{}", "token: [1]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data)
		if err != nil {
			return
		}
		// Whatever loads is valid, marshals without its secrets, and loads back the same.
		require.NoError(t, c.validate())
		out, err := yaml.Marshal(c)
		require.NoError(t, err)
		if c.Token == "" && c.APIURL == "" {
			back, err := Load(out)
			require.NoError(t, err, "%s", out)
			again, err := yaml.Marshal(back)
			require.NoError(t, err)
			require.Equal(t, string(out), string(again))
		}
	})
}

func TestBuild(t *testing.T) {
	decoder := func(src string) func(any) error {
		return func(v any) error {
			dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
			dec.KnownFields(true)
			return dec.Decode(v)
		}
	}
	build := Build(Options{BaseDir: t.TempDir()})
	n, err := build(decoder("api_url: https://hooks.slack.com/services/T/B/X\n"))
	require.NoError(t, err)
	require.IsType(t, &Notifier{}, n)
	n, err = build(decoder("api_url: https://hooks.slack.com/services/T/B/X\n" + "bogus: 1\n"))
	require.ErrorContains(t, err, "field bogus not found")
	require.Nil(t, n, "a nil interface, not a typed nil")
	n, err = build(decoder("token_file: missing\nchannel: C1\n"))
	require.Error(t, err)
	require.Nil(t, n)
}
