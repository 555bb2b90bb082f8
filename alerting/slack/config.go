package slack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/vigilml/vigil/alerting"
	"go.yaml.in/yaml/v3"
)

// Config is one entry of a receiver's slack_configs. It posts either through an incoming
// webhook (api_url or api_url_file) or as a bot (token or token_file, with channel).
//
// In bot mode the first message of an alert group is posted with chat.postMessage and its
// channel and ts are kept as the group's state. Each later message of the group (a repeat,
// new alerts, the resolution) then, by default, both edits that first message to show the
// group's current state (update_message) and posts a short reply in its thread
// (reply_in_thread): the channel shows no stale red, and people following the thread are
// notified. With both off, every message is posted anew, as in webhook mode. After a
// resolution the next firing of the group starts a new top-level message.
type Config struct {
	// APIURL is the incoming webhook URL; APIURLFile names a file holding it.
	APIURL     Secret `yaml:"api_url,omitempty"`
	APIURLFile string `yaml:"api_url_file,omitempty"`
	// Token is a bot token (xoxb-…) with chat:write; TokenFile names a file holding it.
	Token     Secret `yaml:"token,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`
	// Channel is the channel to post to: required in bot mode (a name such as #ml-alerts or
	// an ID), an optional override in webhook mode.
	Channel   string `yaml:"channel,omitempty"`
	Username  string `yaml:"username,omitempty"`
	IconEmoji string `yaml:"icon_emoji,omitempty"`
	IconURL   string `yaml:"icon_url,omitempty"`
	// Title replaces the header line; Text adds a section under it. Both are Go templates
	// over a [TemplateData], checked when the config is loaded.
	Title string `yaml:"title,omitempty"`
	Text  string `yaml:"text,omitempty"`
	// SendResolved sends a message when a group resolves (default true).
	SendResolved bool `yaml:"send_resolved"`
	// UpdateMessage (bot mode, default true) edits the group's first message on each later
	// message of the group.
	UpdateMessage bool `yaml:"update_message"`
	// ReplyInThread (bot mode, default true) posts each later message of the group as a
	// reply in the first message's thread.
	ReplyInThread bool `yaml:"reply_in_thread"`
}

// DefaultConfig returns the values used for every field a config leaves out. Build
// configs in Go from it, as a zero Config turns send_resolved off.
func DefaultConfig() Config {
	return Config{SendResolved: true, UpdateMessage: true, ReplyInThread: true}
}

// UnmarshalYAML sets the defaults, decodes strictly (an unknown key is an error naming its
// line) and validates, naming the line of the offending key.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type slackConfig Config // no methods: plain decoding, strictness kept
	if err := unmarshal((*slackConfig)(c)); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		// A func-style unmarshaler cannot see its node, but a map of nodes keeps each
		// value's line.
		var lines map[string]yaml.Node
		_ = unmarshal(&lines)
		return lineError(lines, err)
	}
	return nil
}

// Load decodes and validates one slack config (the YAML of one slack_configs entry).
// Secrets are not resolved here: New expands ${ENV} and reads the *_file fields.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty slack config: one of api_url, api_url_file, token and token_file is required")
		}
		return nil, cleanYAMLError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	// A null document decodes without calling UnmarshalYAML: validate here too.
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Bot reports whether the config posts with a bot token rather than a webhook.
func (c *Config) Bot() bool { return c.Token != "" || c.TokenFile != "" }

func (c *Config) validate() error {
	set := 0
	for _, s := range []string{string(c.APIURL), c.APIURLFile, string(c.Token), c.TokenFile} {
		if s != "" {
			set++
		}
	}
	switch {
	case set == 0:
		return fieldErr("api_url", "one of api_url, api_url_file, token and token_file is required")
	case set > 1:
		field := "api_url"
		if c.Bot() {
			field = "token"
		}
		return fieldErr(field, "at most one of api_url, api_url_file, token and token_file may be set")
	}
	if c.APIURL != "" && !envRE.MatchString(string(c.APIURL)) {
		if err := checkWebhookURL(string(c.APIURL)); err != nil {
			return fieldErr("api_url", "%w", err)
		}
	}
	if c.Bot() && c.Channel == "" {
		return fieldErr("channel", "is required with token or token_file")
	}
	if c.IconEmoji != "" && c.IconURL != "" {
		return fieldErr("icon_url", "at most one of icon_emoji and icon_url may be set")
	}
	if c.IconURL != "" {
		if u, err := url.Parse(c.IconURL); err != nil || !u.IsAbs() {
			return fieldErr("icon_url", "%q is not an absolute URL", c.IconURL)
		}
	}
	if _, err := parseTemplate("title", c.Title); err != nil {
		return fieldErr("title", "%w", err)
	}
	if _, err := parseTemplate("text", c.Text); err != nil {
		return fieldErr("text", "%w", err)
	}
	return nil
}

// checkWebhookURL checks a webhook URL without ever quoting it: its path is the secret.
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("is not an absolute http(s) URL (value not shown: it is a secret)")
	}
	return nil
}

// TemplateData is what the title and text templates see: the Message's fields (.Status,
// .Receiver, .GroupKey, .GroupLabels, .CommonLabels, .CommonAnnotations, .Alerts,
// .ExternalURL, .Digest) and its alerts split by state at the time of sending. Templates
// also get the functions upper, lower, join (sep, list), value (a number as messages show
// it) and duration (a time.Duration as messages show it). A missing map key is empty.
type TemplateData struct {
	*alerting.Message
	FiringAlerts   []*alerting.Alert
	ResolvedAlerts []*alerting.Alert
}

var templateFuncs = template.FuncMap{
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"join":     func(sep string, s []string) string { return strings.Join(s, sep) },
	"value":    formatValue,
	"duration": humanizeDuration,
}

// parseTemplate parses text and runs it once over a sample message so that a reference to
// a field that does not exist fails at load, not at 3 a.m. An empty text gives nil.
func parseTemplate(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(io.Discard, sampleData()); err != nil {
		return nil, err
	}
	return t, nil
}

func sampleData() TemplateData {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &alerting.Alert{
		Labels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "feature": "amount",
			"segment": "country=DE", "version": "v3", "severity": "critical",
		},
		Annotations: map[string]string{
			"summary": "fraud accuracy is 0.812", "dashboard_url": "https://grafana.example/d/x",
			"runbook_url": "https://runbooks.example/accuracy",
		},
		StartsAt: start, Value: 0.812, Threshold: 0.85,
	}
	m := &alerting.Message{
		Receiver: "sample", GroupKey: "{}:{alertname=\"AccuracyDrop\"}", Status: alerting.StatusFiring,
		GroupLabels: map[string]string{"alertname": "AccuracyDrop"}, CommonLabels: a.Labels,
		CommonAnnotations: a.Annotations, Alerts: []*alerting.Alert{a}, ExternalURL: "http://vigil.example:9780",
	}
	return TemplateData{Message: m, FiringAlerts: m.Alerts}
}

// fieldError is a validation error about one key of the config.
type fieldError struct {
	field string
	err   error
}

// Error names the key, then the problem.
func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

// Unwrap returns the problem.
func (e *fieldError) Unwrap() error { return e.err }

func fieldErr(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

// lineError turns a validation error into a YAML type error naming the line of the key it
// is about (or the mapping's first line), the form the root config loader reports.
func lineError(nodes map[string]yaml.Node, err error) error {
	line := 0
	for _, n := range nodes {
		if line == 0 || n.Line < line {
			line = n.Line
		}
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		if n, ok := nodes[fe.field]; ok {
			line = n.Line
		}
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", line, err)}}
}

var typeNameRE = regexp.MustCompile(` in type [\w.]+`)

// cleanYAMLError drops Go type names, which a user cannot act on, from YAML errors.
func cleanYAMLError(err error) error {
	return errors.New(typeNameRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), ""))
}

// Secret is a config value that must never be shown: it prints, marshals and logs as
// "<secret>". Reveal returns the value where it is used.
type Secret string

const secretMask = "<secret>"

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// GoString implements fmt.GoStringer, so %#v hides it too.
func (s Secret) GoString() string { return s.String() }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} with the environment's value; an unset variable is an error
// that names the variable (never the value).
func expandEnv(s string) (string, error) {
	var missing []string
	out := envRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

// resolveSecret returns the value of a secret field or of its *_file twin (a path relative
// to baseDir), with ${ENV} expanded in the inline form.
func resolveSecret(field string, inline Secret, file, baseDir string) (string, error) {
	if file != "" {
		if !filepath.IsAbs(file) {
			file = filepath.Join(baseDir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", field, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s_file: file %s is empty", field, file)
		}
		return v, nil
	}
	v, err := expandEnv(string(inline))
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	if v == "" {
		return "", fmt.Errorf("%s: is empty", field)
	}
	return v, nil
}
