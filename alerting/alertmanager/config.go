package alertmanager

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/vigilml/vigil/alerting/internal/notifyutil"
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
	return notifyutil.UnmarshalConfig(unmarshal, (*alertmanagerConfig)(c), c.validate)
}

// Load decodes and validates one alertmanager config (the YAML of one
// alertmanager_configs entry). Secrets are not resolved here: New expands ${ENV} and reads
// the *_file fields.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	if err := notifyutil.Load(data, &cfg, cfg.validate, "empty alertmanager config: url is required"); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	if len(c.URL) == 0 {
		return notifyutil.FieldErr("url", "at least one Alertmanager URL is required")
	}
	seen := map[string]bool{}
	for _, s := range c.URL {
		ep, err := endpoint(s)
		if err != nil {
			return notifyutil.FieldErr("url", "%w", err)
		}
		if seen[ep] {
			return notifyutil.FieldErr("url", "%s is listed twice", ep)
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
		return notifyutil.FieldErr("bearer_token", "at most one of basic_auth, bearer_token and bearer_token_file may be set")
	}
	if b := c.BasicAuth; b != nil {
		switch {
		case b.Username == "":
			return notifyutil.FieldErr("basic_auth", "username is required")
		case b.Password == "" && b.PasswordFile == "":
			return notifyutil.FieldErr("basic_auth", "password or password_file is required")
		case b.Password != "" && b.PasswordFile != "":
			return notifyutil.FieldErr("basic_auth", "at most one of password and password_file may be set")
		}
	}
	if c.Timeout < 0 {
		return notifyutil.FieldErr("timeout", "must not be negative")
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

// Secret is a config value that must never be shown: it prints, marshals and logs as
// "<secret>". Reveal returns the value where it is used.
type Secret = notifyutil.Secret

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
