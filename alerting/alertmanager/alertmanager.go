// Package alertmanager forwards vigil's alerts to an existing Alertmanager (or cluster)
// with POST /api/v2/alerts, for teams whose routing, silences and receivers already live
// there.
//
// Each alert is posted with its labels, annotations (plus "value" and "threshold" where
// the rule did not set them: the value is never a label), startsAt and generatorURL;
// resolved alerts carry endsAt so that Alertmanager resolves them at once. Network errors,
// timeouts, 429 and 5xx are retryable (with Retry-After); other answers are permanent and
// carry Alertmanager's text. Credentials never appear in an error or a log line.
package alertmanager

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/internal/notifyutil"
)

// DefaultTimeout bounds one request when Options.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// Options are what New needs besides the config.
type Options struct {
	// BaseDir is the directory password_file and bearer_token_file are relative to (the
	// config file's directory); empty means the working directory.
	BaseDir string
	// HTTPClient sends the requests; nil means a client with a DefaultTimeout timeout. A
	// client without a Timeout is copied and given DefaultTimeout: a peer that never
	// answers must not hold a delivery forever.
	HTTPClient *http.Client
	// Logger receives debug and warning lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock that says which alerts have resolved; nil means time.Now.
	Now func() time.Time
}

// Notifier forwards alert groups to one Alertmanager or cluster. It implements
// alerting.Notifier and is safe for concurrent use.
type Notifier struct {
	cfg       Config
	endpoints []string
	username  string
	password  Secret
	token     Secret
	client    *http.Client
	logger    *slog.Logger
	now       func() time.Time
	redact    notifyutil.Redactor // every form in which a credential could be echoed back
}

var _ alerting.Notifier = (*Notifier)(nil)

// New checks cfg, resolves its credentials (${ENV} or *_file against opts.BaseDir) and
// returns a Notifier.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, endpoints: cfg.endpoints(), client: notifyutil.WithTimeout(opts.HTTPClient, DefaultTimeout), logger: opts.Logger, now: opts.Now}
	var secrets []string
	if b := cfg.BasicAuth; b != nil {
		pw, err := notifyutil.ResolveSecret("basic_auth.password", b.Password, b.PasswordFile, opts.BaseDir)
		if err != nil {
			return nil, err
		}
		n.username, n.password = b.Username, Secret(pw)
		secrets = append(secrets, pw, base64.StdEncoding.EncodeToString([]byte(b.Username+":"+pw)))
	}
	if cfg.BearerToken != "" || cfg.BearerTokenFile != "" {
		tok, err := notifyutil.ResolveSecret("bearer_token", cfg.BearerToken, cfg.BearerTokenFile, opts.BaseDir)
		if err != nil {
			return nil, err
		}
		n.token = Secret(tok)
		secrets = append(secrets, tok)
	}
	n.redact = notifyutil.NewRedactor(secrets...)
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	n.logger = n.logger.With("integration", "alertmanager")
	if n.now == nil {
		n.now = time.Now
	}
	return n, nil
}

// PostableAlert is one alert as POST /api/v2/alerts takes it. EndsAt is set only once the
// alert has resolved.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Alerts returns the alerts of m as Alertmanager takes them at now, leaving out the
// resolved ones unless sendResolved.
func Alerts(m *alerting.Message, now time.Time, sendResolved bool) []PostableAlert {
	out := []PostableAlert{}
	for _, a := range m.Alerts {
		p := PostableAlert{
			Labels:       a.Labels,
			Annotations:  notifyutil.AnnotationsWithValue(a),
			StartsAt:     a.StartsAt.UTC(),
			GeneratorURL: a.GeneratorURL,
		}
		if a.Resolved(now) {
			if !sendResolved {
				continue
			}
			p.EndsAt = a.EndsAt.UTC()
		}
		out = append(out, p)
	}
	return out
}

// Build returns the builder of this integration for alerting.Builders: it decodes one
// alertmanager_configs entry with decode (strictly, defaults set, validated) and calls New
// with opts.
func Build(opts Options) func(decode func(any) error) (alerting.Notifier, error) {
	return notifyutil.Build(DefaultConfig, func(c Config) (*Notifier, error) { return New(c, opts) })
}

// SendResolved implements alerting.ResolvedSender: it reports the config's send_resolved.
func (n *Notifier) SendResolved() bool { return n.cfg.SendResolved }

// Notify posts m's alerts to every configured Alertmanager. It succeeds when one of them
// takes the alerts, and returns no state.
func (n *Notifier) Notify(ctx context.Context, m *alerting.Message) (map[string]string, error) {
	alerts := Alerts(m, n.now(), n.cfg.SendResolved)
	if len(alerts) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: encode alerts: %w", err)
	}
	errs := make([]error, len(n.endpoints))
	var wg sync.WaitGroup
	for i, ep := range n.endpoints {
		wg.Go(func() { errs[i] = n.post(ctx, ep, body) })
	}
	wg.Wait()

	var failed []error
	var after time.Duration
	retryable := false
	for _, err := range errs {
		if err == nil {
			continue
		}
		failed = append(failed, err)
		if d, ok := alerting.IsRetryable(err); ok {
			retryable, after = true, max(after, d)
		}
	}
	switch {
	case len(failed) == 0:
		n.logger.Debug("notification sent", "status", m.Status, "alerts", len(alerts), "alertmanagers", len(n.endpoints))
		return nil, nil
	case len(failed) < len(n.endpoints):
		// The cluster shares alerts: one member that took them is enough.
		for _, err := range failed {
			n.logger.Warn("an Alertmanager did not take the alerts; another did", "err", err)
		}
		return nil, nil
	}
	err = errors.Join(failed...)
	if retryable {
		return nil, alerting.Retryable(err, after)
	}
	return nil, err
}

func (n *Notifier) post(ctx context.Context, ep string, body []byte) error {
	if n.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(n.cfg.Timeout))
		defer cancel()
	}
	prefix := "alertmanager " + ep
	req, err := notifyutil.NewJSONRequest(ctx, ep, body)
	if err != nil {
		return n.redact.Error(prefix, err)
	}
	switch {
	case n.username != "":
		req.SetBasicAuth(n.username, n.password.Reveal())
	case n.token != "":
		req.Header.Set("Authorization", "Bearer "+n.token.Reveal())
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// The endpoint is in the prefix already; the *url.Error would repeat it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = notifyutil.Opaque(ue.Err.Error(), err)
		}
		return alerting.Retryable(n.redact.Error(prefix, err), 0)
	}
	defer notifyutil.Drain(resp)
	return n.redact.Check(prefix, resp, n.now())
}
