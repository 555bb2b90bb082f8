package pagerduty

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/vigilml/vigil/alerting"
	"go.yaml.in/yaml/v3"
)

// DefaultURL is PagerDuty's Events API v2 endpoint. EU accounts use
// https://events.eu.pagerduty.com/v2/enqueue.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Config is one entry of a receiver's pagerduty_configs: an Events API v2 integration.
// Each alert group is one PagerDuty alert: a trigger while it fires (repeats update it),
// then a resolve, both with the same dedup_key, derived from the group key.
type Config struct {
	// RoutingKey is the integration's routing key; RoutingKeyFile names a file holding it.
	RoutingKey     Secret `yaml:"routing_key,omitempty"`
	RoutingKeyFile string `yaml:"routing_key_file,omitempty"`
	// URL is the enqueue endpoint (default DefaultURL). A URL that does not end in
	// /v2/enqueue is taken as a base to which /v2/enqueue is added.
	URL string `yaml:"url,omitempty"`
	// Client and ClientURL name the monitoring client in PagerDuty's UI (defaults "vigil"
	// and "{{ .ExternalURL }}"); ClientURL is a template.
	Client    string `yaml:"client,omitempty"`
	ClientURL string `yaml:"client_url"`
	// Source is payload.source (default "vigil").
	Source string `yaml:"source,omitempty"`
	// Severity, a template, overrides the severity otherwise mapped from the firing
	// alerts' severity label (critical, warning and info map to themselves, anything else
	// to error; the most severe alert wins). It must give critical, error, warning or info.
	Severity string `yaml:"severity,omitempty"`
	// Details are added to custom_details; the values are templates.
	Details map[string]string `yaml:"details,omitempty"`
	// Links are added to each event's links, after the alerts' dashboard and runbook
	// links (annotations dashboard_url and runbook_url).
	Links []Link `yaml:"links,omitempty"`
	// SendResolved resolves the PagerDuty alert when the group resolves (default true).
	SendResolved bool `yaml:"send_resolved"`
}

// Link is a link shown on the PagerDuty alert; Href and Text are templates.
type Link struct {
	Href string `yaml:"href"`
	Text string `yaml:"text,omitempty"`
}

// DefaultConfig returns the values used for every field a config leaves out. Build
// configs in Go from it, as a zero Config turns send_resolved off.
func DefaultConfig() Config {
	return Config{
		URL:          DefaultURL,
		Client:       "vigil",
		ClientURL:    "{{ .ExternalURL }}",
		Source:       "vigil",
		SendResolved: true,
	}
}

// reservedDetails are the custom_details keys vigil fills itself.
var reservedDetails = []string{"alerts", "alerts_truncated", "num_firing", "num_resolved", "group_labels"}

// UnmarshalYAML sets the defaults, decodes strictly (an unknown key is an error naming its
// line) and validates, naming the line of the offending key.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type pagerdutyConfig Config // no methods: plain decoding, strictness kept
	if err := unmarshal((*pagerdutyConfig)(c)); err != nil {
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

// Load decodes and validates one pagerduty config (the YAML of one pagerduty_configs
// entry). Secrets are not resolved here: New expands ${ENV} and reads routing_key_file.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty pagerduty config: routing_key or routing_key_file is required")
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

func (c *Config) validate() error {
	switch {
	case c.RoutingKey == "" && c.RoutingKeyFile == "":
		return fieldErr("routing_key", "routing_key or routing_key_file is required")
	case c.RoutingKey != "" && c.RoutingKeyFile != "":
		return fieldErr("routing_key_file", "at most one of routing_key and routing_key_file may be set")
	}
	if _, err := eventsBase(c.URL); err != nil {
		return fieldErr("url", "%w", err)
	}
	if c.Client == "" {
		return fieldErr("client", "must not be empty")
	}
	if c.Source == "" {
		return fieldErr("source", "must not be empty")
	}
	for _, f := range []struct{ name, text string }{{"client_url", c.ClientURL}, {"severity", c.Severity}} {
		if _, err := parseTemplate(f.name, f.text); err != nil {
			return fieldErr(f.name, "%w", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Details)) {
		v := c.Details[k]
		if k == "" || slices.Contains(reservedDetails, k) {
			return fieldErr("details", "key %q is empty or reserved (vigil fills %s)", k, strings.Join(reservedDetails, ", "))
		}
		if _, err := parseTemplate("details."+k, v); err != nil {
			return fieldErr("details", "%w", err)
		}
	}
	for i, l := range c.Links {
		if l.Href == "" {
			return fieldErr("links", "links[%d].href is required", i)
		}
		if _, err := parseTemplate(fmt.Sprintf("links[%d].href", i), l.Href); err != nil {
			return fieldErr("links", "%w", err)
		}
		if _, err := parseTemplate(fmt.Sprintf("links[%d].text", i), l.Text); err != nil {
			return fieldErr("links", "%w", err)
		}
	}
	return nil
}

// eventsBase turns the configured enqueue URL into the base URL go-pagerduty wants (it
// adds /v2/enqueue itself).
func eventsBase(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must not hold a query, fragment or credentials", u.Redacted())
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v2/enqueue")
	u.RawPath = ""
	return u.String(), nil
}

// TemplateData is what the templates (client_url, severity, details, links) see: the
// Message's fields (.Status, .Receiver, .GroupKey, .GroupLabels, .CommonLabels,
// .CommonAnnotations, .Alerts, .ExternalURL, .Digest) and its alerts split by state at the
// time of sending. Templates also get the functions upper, lower, join (sep, list), value
// (a number as messages show it) and duration (a time.Duration as messages show it). A
// missing map key is empty.
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
