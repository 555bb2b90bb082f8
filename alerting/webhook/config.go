package webhook

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

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Config is one entry of a receiver's webhook_configs: a URL that receives each alert
// group as Alertmanager's webhook JSON (version 4), so receivers written for Alertmanager
// work unchanged.
type Config struct {
	// URL is where to POST; URLFile names a file holding it. The whole URL is a secret
	// (it often carries a token in its path or query).
	URL     Secret `yaml:"url,omitempty"`
	URLFile string `yaml:"url_file,omitempty"`
	// MaxAlerts caps the alerts in one message (0: all); the payload's truncatedAlerts
	// says how many were left out.
	MaxAlerts int `yaml:"max_alerts"`
	// SendResolved sends a message when a group resolves (default true).
	SendResolved bool `yaml:"send_resolved"`
	// Timeout bounds one request (0: the HTTP client's timeout, 10s by default).
	Timeout model.Duration `yaml:"timeout,omitempty"`
}

// DefaultConfig returns the values used for every field a config leaves out. Build
// configs in Go from it, as a zero Config turns send_resolved off.
func DefaultConfig() Config { return Config{SendResolved: true} }

// UnmarshalYAML sets the defaults, decodes strictly (an unknown key is an error naming its
// line) and validates, naming the line of the offending key.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type webhookConfig Config // no methods: plain decoding, strictness kept
	if err := unmarshal((*webhookConfig)(c)); err != nil {
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

// Load decodes and validates one webhook config (the YAML of one webhook_configs entry).
// Secrets are not resolved here: New expands ${ENV} and reads url_file.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty webhook config: url or url_file is required")
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
	case c.URL == "" && c.URLFile == "":
		return fieldErr("url", "url or url_file is required")
	case c.URL != "" && c.URLFile != "":
		return fieldErr("url_file", "at most one of url and url_file may be set")
	case c.MaxAlerts < 0:
		return fieldErr("max_alerts", "must not be negative")
	case c.Timeout < 0:
		return fieldErr("timeout", "must not be negative")
	}
	if c.URL != "" && !envRE.MatchString(string(c.URL)) {
		if err := checkURL(string(c.URL)); err != nil {
			return fieldErr("url", "%w", err)
		}
	}
	return nil
}

// checkURL checks a webhook URL without ever quoting it: it is a secret.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("is not an absolute http(s) URL (value not shown: it is a secret)")
	}
	return nil
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
