package webhook

import (
	"github.com/prometheus/common/model"
	"github.com/vigilml/vigil/alerting/internal/notifyutil"
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
	return notifyutil.UnmarshalConfig(unmarshal, (*webhookConfig)(c), c.validate)
}

// Load decodes and validates one webhook config (the YAML of one webhook_configs entry).
// Secrets are not resolved here: New expands ${ENV} and reads url_file.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	if err := notifyutil.Load(data, &cfg, cfg.validate, "empty webhook config: url or url_file is required"); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	switch {
	case c.URL == "" && c.URLFile == "":
		return notifyutil.FieldErr("url", "url or url_file is required")
	case c.URL != "" && c.URLFile != "":
		return notifyutil.FieldErr("url_file", "at most one of url and url_file may be set")
	case c.MaxAlerts < 0:
		return notifyutil.FieldErr("max_alerts", "must not be negative")
	case c.Timeout < 0:
		return notifyutil.FieldErr("timeout", "must not be negative")
	}
	if c.URL != "" && !notifyutil.HasEnv(string(c.URL)) {
		if err := notifyutil.CheckSecretURL(string(c.URL)); err != nil {
			return notifyutil.FieldErr("url", "%w", err)
		}
	}
	return nil
}

// Secret is a config value that must never be shown: it prints, marshals and logs as
// "<secret>". Reveal returns the value where it is used.
type Secret = notifyutil.Secret
