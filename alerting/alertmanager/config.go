package alertmanager

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
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// APIPath is where Alertmanager takes alerts, under each configured URL.
const APIPath = "/api/v2/alerts"

// Config is one entry of a receiver's alertmanager_configs: one Alertmanager, or the
// members of one Alertmanager cluster, that vigil's alerts are forwarded to with
// POST /api/v2/alerts, for teams whose routing already lives there.
//
// Alertmanager resolves a firing alert it has not heard of for its resolve_timeout (5m by
// default), and vigil sends firing alerts without an end time: route these receivers with
// a repeat_interval shorter than that, as Prometheus resends every minute.
type Config struct {
	// URL is the Alertmanager's base URL (such as http://alertmanager:9093, or with a
	// path prefix), or a list of them: each is sent every message, and delivery succeeds
	// when one of them takes it (the cluster shares alerts).
	URL URLs `yaml:"url"`
	// BasicAuth, BearerToken and BearerTokenFile authenticate (at most one of them).
	BasicAuth       *BasicAuth `yaml:"basic_auth,omitempty"`
	BearerToken     Secret     `yaml:"bearer_token,omitempty"`
	BearerTokenFile string     `yaml:"bearer_token_file,omitempty"`
	// Timeout bounds one request (0: the HTTP client's timeout, 10s by default).
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// SendResolved forwards resolutions, with endsAt set, so that Alertmanager resolves
	// the alerts at once (default true).
	SendResolved bool `yaml:"send_resolved"`
}

// BasicAuth is HTTP basic authentication; Password and PasswordFile exclude each other.
type BasicAuth struct {
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
}

// URLs is one URL or a list of them: YAML takes either `url: http://am:9093` or
// `url: [http://am-0:9093, http://am-1:9093]`.
type URLs []string

// UnmarshalYAML reads a string or a list of strings.
func (u *URLs) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*u = URLs{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return err
	}
	*u = many
	return nil
}

// MarshalYAML writes one URL as a string, several as a list.
func (u URLs) MarshalYAML() (any, error) {
	if len(u) == 1 {
		return u[0], nil
	}
	return []string(u), nil
}

// DefaultConfig returns the values used for every field a config leaves out. Build
// configs in Go from it, as a zero Config turns send_resolved off.
func DefaultConfig() Config { return Config{SendResolved: true} }

// UnmarshalYAML sets the defaults, decodes strictly (an unknown key is an error naming its
// line) and validates, naming the line of the offending key.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type alertmanagerConfig Config // no methods: plain decoding, strictness kept
	if err := unmarshal((*alertmanagerConfig)(c)); err != nil {
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

// Load decodes and validates one alertmanager config (the YAML of one
// alertmanager_configs entry). Secrets are not resolved here: New expands ${ENV} and reads
// the *_file fields.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty alertmanager config: url is required")
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
	if len(c.URL) == 0 {
		return fieldErr("url", "at least one Alertmanager URL is required")
	}
	seen := map[string]bool{}
	for _, s := range c.URL {
		ep, err := endpoint(s)
		if err != nil {
			return fieldErr("url", "%w", err)
		}
		if seen[ep] {
			return fieldErr("url", "%s is listed twice", ep)
		}
		seen[ep] = true
	}
	auths := 0
	for _, set := range []bool{c.BasicAuth != nil, c.BearerToken != "", c.BearerTokenFile != ""} {
		if set {
			auths++
		}
	}
	if auths > 1 {
		return fieldErr("bearer_token", "at most one of basic_auth, bearer_token and bearer_token_file may be set")
	}
	if b := c.BasicAuth; b != nil {
		switch {
		case b.Username == "":
			return fieldErr("basic_auth", "username is required")
		case b.Password == "" && b.PasswordFile == "":
			return fieldErr("basic_auth", "password or password_file is required")
		case b.Password != "" && b.PasswordFile != "":
			return fieldErr("basic_auth", "at most one of password and password_file may be set")
		}
	}
	if c.Timeout < 0 {
		return fieldErr("timeout", "must not be negative")
	}
	return nil
}

// endpoint turns a configured base URL into the alerts endpoint. A URL that already ends
// in /api/v2/alerts is taken as it is.
func endpoint(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.User != nil {
		return "", fmt.Errorf("%q holds credentials: use basic_auth", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not hold a query or fragment", s)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), APIPath) + APIPath
	u.RawPath = ""
	return u.String(), nil
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

// endpoints returns the alerts endpoint of every configured URL, in order.
func (c *Config) endpoints() []string {
	out := make([]string, 0, len(c.URL))
	for _, s := range c.URL {
		if ep, err := endpoint(s); err == nil && !slices.Contains(out, ep) {
			out = append(out, ep)
		}
	}
	return out
}
