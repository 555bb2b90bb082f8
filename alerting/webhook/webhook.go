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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/vigilml/vigil/alerting"
)

// DefaultTimeout bounds one request when Options.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// Version is the webhook payload's version, as Alertmanager's.
const Version = "4"

const maxErrorBody = 1 << 10

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
	redact []string // (secret, replacement) pairs
}

var _ alerting.Notifier = (*Notifier)(nil)

// New checks cfg, resolves its URL (${ENV} or url_file against opts.BaseDir) and returns a
// Notifier.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	u, err := resolveSecret("url", cfg.URL, cfg.URLFile, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	if err := checkURL(u); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	n := &Notifier{cfg: cfg, url: Secret(u), client: withTimeout(opts.HTTPClient), logger: opts.Logger, now: opts.Now, redact: secretsOfURL(u)}
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
	return func(decode func(any) error) (alerting.Notifier, error) {
		cfg := DefaultConfig()
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		n, err := New(cfg, opts)
		if err != nil {
			return nil, err // a nil interface, not a nil *Notifier
		}
		return n, nil
	}
}

// withTimeout returns c, or a copy of it with DefaultTimeout when it has no timeout (or a
// new client when c is nil).
func withTimeout(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Timeout: DefaultTimeout}
	}
	if c.Timeout > 0 {
		return c
	}
	cc := *c
	cc.Timeout = DefaultTimeout
	return &cc
}

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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url.Reveal(), bytes.NewReader(body))
	if err != nil {
		return nil, n.scrubbed(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil")
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, alerting.Retryable(n.scrubbed(transportError(err)), 0)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if err := n.check(resp); err != nil {
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
			Annotations:  withValue(a),
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

// withValue returns the alert's annotations with "value" and "threshold" added where the
// rule did not set them.
func withValue(a *alerting.Alert) map[string]string {
	out := maps.Clone(a.Annotations)
	if out == nil {
		out = map[string]string{}
	}
	if _, ok := out["value"]; !ok {
		out["value"] = strconv.FormatFloat(a.Value, 'g', -1, 64)
	}
	if _, ok := out["threshold"]; !ok {
		out["threshold"] = strconv.FormatFloat(a.Threshold, 'g', -1, 64)
	}
	return out
}

// orEmpty makes a nil map an empty one: Alertmanager sends {} and receivers expect it.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// check classifies the answer: 2xx is success; 429 and 5xx are retryable (after
// Retry-After); anything else is permanent with the receiver's text.
func (n *Notifier) check(resp *http.Response) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	err := n.scrubbed(fmt.Errorf("%s%s", resp.Status, bodyText(b)))
	if code == http.StatusTooManyRequests || code >= 500 {
		return alerting.Retryable(err, retryAfter(resp.Header, n.now()))
	}
	return err
}

// transportError rewrites a *url.Error without its URL, which is a secret.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		where := "(url not shown)"
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			where = u.Scheme + "://" + u.Host + "/" + secretMask
		}
		return &scrubError{msg: ue.Op + " " + where + ": " + ue.Err.Error(), cause: ctxErr(err)}
	}
	return err
}

func ctxErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

// scrubError is an error message with every secret replaced. It unwraps only to a context
// error, never to the original error, whose text may hold the secret.
type scrubError struct {
	msg   string
	cause error
}

// Error returns the scrubbed message.
func (e *scrubError) Error() string { return e.msg }

// Unwrap returns the context error behind the failure, if any.
func (e *scrubError) Unwrap() error { return e.cause }

func (n *Notifier) scrubbed(err error) error {
	msg := "webhook: " + err.Error()
	for i := 0; i+1 < len(n.redact); i += 2 {
		if n.redact[i] != "" {
			msg = strings.ReplaceAll(msg, n.redact[i], n.redact[i+1])
		}
	}
	return &scrubError{msg: msg, cause: ctxErr(err)}
}

// secretsOfURL lists, as (secret, replacement) pairs, the forms in which the URL may
// appear in an error: whole, its path and query, and its credentials.
func secretsOfURL(s string) []string {
	u, err := url.Parse(s)
	if err != nil {
		return []string{s, secretMask}
	}
	out := []string{s, u.Scheme + "://" + u.Host + "/" + secretMask}
	if p := u.RequestURI(); len(p) > 1 {
		out = append(out, strings.TrimPrefix(p, "/"), secretMask)
	}
	if u.RawQuery != "" {
		out = append(out, u.RawQuery, secretMask)
	}
	if u.User != nil {
		out = append(out, u.User.String(), secretMask)
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw, secretMask)
		}
	}
	return out
}

// bodyText is ": <peer's text>", trimmed and bounded, or "".
func bodyText(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "�"))
	if s == "" {
		return ""
	}
	if len(s) > maxErrorBody {
		s = s[:maxErrorBody] + "…"
	}
	return ": " + s
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; 0 when absent or
// unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}
