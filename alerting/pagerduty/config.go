package pagerduty

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/vigilml/vigil/alerting/internal/notifyutil"
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
	return notifyutil.UnmarshalConfig(unmarshal, (*pagerdutyConfig)(c), c.validate)
}

// Load decodes and validates one pagerduty config (the YAML of one pagerduty_configs
// entry). Secrets are not resolved here: New expands ${ENV} and reads routing_key_file.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	if err := notifyutil.Load(data, &cfg, cfg.validate, "empty pagerduty config: routing_key or routing_key_file is required"); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	switch {
	case c.RoutingKey == "" && c.RoutingKeyFile == "":
		return notifyutil.FieldErr("routing_key", "routing_key or routing_key_file is required")
	case c.RoutingKey != "" && c.RoutingKeyFile != "":
		return notifyutil.FieldErr("routing_key_file", "at most one of routing_key and routing_key_file may be set")
	}
	if _, err := eventsBase(c.URL); err != nil {
		return notifyutil.FieldErr("url", "%w", err)
	}
	if c.Client == "" {
		return notifyutil.FieldErr("client", "must not be empty")
	}
	if c.Source == "" {
		return notifyutil.FieldErr("source", "must not be empty")
	}
	for _, f := range []struct{ name, text string }{{"client_url", c.ClientURL}, {"severity", c.Severity}} {
		if _, err := notifyutil.ParseTemplate(f.name, f.text); err != nil {
			return notifyutil.FieldErr(f.name, "%w", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Details)) {
		v := c.Details[k]
		if k == "" || slices.Contains(reservedDetails, k) {
			return notifyutil.FieldErr("details", "key %q is empty or reserved (vigil fills %s)", k, strings.Join(reservedDetails, ", "))
		}
		if _, err := notifyutil.ParseTemplate("details."+k, v); err != nil {
			return notifyutil.FieldErr("details", "%w", err)
		}
	}
	for i, l := range c.Links {
		if l.Href == "" {
			return notifyutil.FieldErr("links", "links[%d].href is required", i)
		}
		if _, err := notifyutil.ParseTemplate(fmt.Sprintf("links[%d].href", i), l.Href); err != nil {
			return notifyutil.FieldErr("links", "%w", err)
		}
		if _, err := notifyutil.ParseTemplate(fmt.Sprintf("links[%d].text", i), l.Text); err != nil {
			return notifyutil.FieldErr("links", "%w", err)
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
type TemplateData = notifyutil.TemplateData

// Secret is a config value that must never be shown: it prints, marshals and logs as
// "<secret>". Reveal returns the value where it is used.
type Secret = notifyutil.Secret
