package slack

import (
	"net/url"

	"github.com/vigilml/vigil/alerting/internal/notifyutil"
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
	return notifyutil.UnmarshalConfig(unmarshal, (*slackConfig)(c), c.validate)
}

// Load decodes and validates one slack config (the YAML of one slack_configs entry).
// Secrets are not resolved here: New expands ${ENV} and reads the *_file fields.
func Load(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	if err := notifyutil.Load(data, &cfg, cfg.validate, "empty slack config: one of api_url, api_url_file, token and token_file is required"); err != nil {
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
		return notifyutil.FieldErr("api_url", "one of api_url, api_url_file, token and token_file is required")
	case set > 1:
		field := "api_url"
		if c.Bot() {
			field = "token"
		}
		return notifyutil.FieldErr(field, "at most one of api_url, api_url_file, token and token_file may be set")
	}
	if c.APIURL != "" && !notifyutil.HasEnv(string(c.APIURL)) {
		if err := notifyutil.CheckSecretURL(string(c.APIURL)); err != nil {
			return notifyutil.FieldErr("api_url", "%w", err)
		}
	}
	if c.Bot() && c.Channel == "" {
		return notifyutil.FieldErr("channel", "is required with token or token_file")
	}
	if c.IconEmoji != "" && c.IconURL != "" {
		return notifyutil.FieldErr("icon_url", "at most one of icon_emoji and icon_url may be set")
	}
	if c.IconURL != "" {
		if u, err := url.Parse(c.IconURL); err != nil || !u.IsAbs() {
			return notifyutil.FieldErr("icon_url", "%q is not an absolute URL", c.IconURL)
		}
	}
	if _, err := notifyutil.ParseTemplate("title", c.Title); err != nil {
		return notifyutil.FieldErr("title", "%w", err)
	}
	if _, err := notifyutil.ParseTemplate("text", c.Text); err != nil {
		return notifyutil.FieldErr("text", "%w", err)
	}
	return nil
}

// TemplateData is what the title and text templates see: the Message's fields (.Status,
// .Receiver, .GroupKey, .GroupLabels, .CommonLabels, .CommonAnnotations, .Alerts,
// .ExternalURL, .Digest) and its alerts split by state at the time of sending. Templates
// also get the functions upper, lower, join (sep, list), value (a number as messages show
// it) and duration (a time.Duration as messages show it). A missing map key is empty.
type TemplateData = notifyutil.TemplateData

// Secret is a config value that must never be shown: it prints, marshals and logs as
// "<secret>". Reveal returns the value where it is used.
type Secret = notifyutil.Secret
