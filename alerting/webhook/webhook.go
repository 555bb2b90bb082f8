// Package webhook POSTs vigil's alert groups to a URL as Alertmanager's webhook JSON
// (version 4), so receivers written for Alertmanager work unchanged.
//
// Each alert's value and threshold are added to its annotations ("value", "threshold")
// unless the rule set them already: the value is never a label. Network errors, timeouts,
// 429 and 5xx are retryable, with the receiver's Retry-After (seconds or an HTTP date);
// other answers are permanent and carry the receiver's text. The URL, a secret, never
// appears in an error or a log line.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/common/model"
	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/internal/notifyutil"
)

// DefaultTimeout bounds one request when Options.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// Version is the webhook payload's version, as Alertmanager's.
const Version = "4"

// Payload is the JSON body POSTed for one message: Alertmanager's webhook payload,
// version 4, field for field and in Alertmanager's order.
type Payload struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
}

// Alert is one alert of a Payload. EndsAt is the zero time while the alert fires, as
// Alertmanager sends it for an alert without an end; Fingerprint is Alertmanager's
// fingerprint of the labels.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Options are what New needs besides the config.
type Options struct {
	// BaseDir is the directory url_file is relative to (the config file's directory);
	// empty means the working directory.
	BaseDir string
	// HTTPClient sends the requests; nil means a client with a DefaultTimeout timeout. A
	// client without a Timeout is copied and given DefaultTimeout: a peer that never
	// answers must not hold a delivery forever.
	HTTPClient *http.Client
	// Logger receives debug lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock that says which alerts have resolved; nil means time.Now.
	Now func() time.Time
}

// Notifier POSTs alert groups to one webhook. It implements alerting.Notifier and is safe
// for concurrent use.
type Notifier struct {
	cfg    Config
	url    Secret
	client *http.Client
	logger *slog.Logger
	now    func() time.Time
	redact notifyutil.Redactor
}

var _ alerting.Notifier = (*Notifier)(nil)

// New checks cfg, resolves its URL (${ENV} or url_file against opts.BaseDir) and returns a
// Notifier.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	u, err := notifyutil.ResolveSecret("url", cfg.URL, cfg.URLFile, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	if err := notifyutil.CheckSecretURL(u); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	n := &Notifier{
		cfg: cfg, url: Secret(u), client: notifyutil.WithTimeout(opts.HTTPClient, DefaultTimeout),
		logger: opts.Logger, now: opts.Now, redact: notifyutil.Redactor{}.WithURL(u),
	}
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	n.logger = n.logger.With("integration", "webhook")
	if n.now == nil {
		n.now = time.Now
	}
	return n, nil
}

// Build returns the builder of this integration for alerting.Builders: it decodes one
// webhook_configs entry with decode (strictly, defaults set, validated) and calls New with
// opts.
func Build(opts Options) func(decode func(any) error) (alerting.Notifier, error) {
	return notifyutil.Build(DefaultConfig, func(c Config) (*Notifier, error) { return New(c, opts) })
}

// SendResolved implements alerting.ResolvedSender: it reports the config's send_resolved.
func (n *Notifier) SendResolved() bool { return n.cfg.SendResolved }

// Notify POSTs m as a Payload. It returns no state.
func (n *Notifier) Notify(ctx context.Context, m *alerting.Message) (map[string]string, error) {
	if m.Status == alerting.StatusResolved && !n.cfg.SendResolved {
		return nil, nil
	}
	body, err := json.Marshal(NewPayload(m, n.cfg.MaxAlerts, n.now()))
	if err != nil {
		return nil, fmt.Errorf("webhook: encode payload: %w", err)
	}
	if n.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(n.cfg.Timeout))
		defer cancel()
	}
	req, err := notifyutil.NewJSONRequest(ctx, n.url.Reveal(), body)
	if err != nil {
		return nil, n.redact.Error("webhook", err)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, alerting.Retryable(n.redact.Error("webhook", notifyutil.TransportError(err, true)), 0)
	}
	defer notifyutil.Drain(resp)
	// 2xx is success; 429 and 5xx are retryable (after Retry-After); anything else is
	// permanent with the receiver's text.
	if err := n.redact.Check("webhook", resp, n.now()); err != nil {
		return nil, err
	}
	n.logger.Debug("notification sent", "status", m.Status, "alerts", len(m.Alerts), "code", resp.StatusCode)
	return nil, nil
}

// NewPayload builds the webhook payload of m at now, keeping at most maxAlerts alerts (0:
// all).
func NewPayload(m *alerting.Message, maxAlerts int, now time.Time) *Payload {
	p := &Payload{
		Receiver:          m.Receiver,
		Status:            string(m.Status),
		Alerts:            []Alert{},
		GroupLabels:       orEmpty(m.GroupLabels),
		CommonLabels:      orEmpty(m.CommonLabels),
		CommonAnnotations: orEmpty(m.CommonAnnotations),
		ExternalURL:       m.ExternalURL,
		Version:           Version,
		GroupKey:          m.GroupKey,
	}
	alerts := m.Alerts
	if maxAlerts > 0 && len(alerts) > maxAlerts {
		p.TruncatedAlerts = uint64(len(alerts) - maxAlerts)
		alerts = alerts[:maxAlerts]
	}
	for _, a := range alerts {
		status := alerting.StatusFiring
		if a.Resolved(now) {
			status = alerting.StatusResolved
		}
		p.Alerts = append(p.Alerts, Alert{
			Status:       string(status),
			Labels:       orEmpty(a.Labels),
			Annotations:  notifyutil.AnnotationsWithValue(a),
			StartsAt:     a.StartsAt.UTC(),
			EndsAt:       a.EndsAt.UTC(),
			GeneratorURL: a.GeneratorURL,
			Fingerprint:  Fingerprint(a.Labels),
		})
	}
	return p
}

// Fingerprint is Alertmanager's fingerprint of a label set (16 hex digits).
func Fingerprint(labels map[string]string) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// orEmpty makes a nil map an empty one: Alertmanager sends {} and receivers expect it.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
