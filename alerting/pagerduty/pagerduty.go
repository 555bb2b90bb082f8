// Package pagerduty delivers vigil's alert groups to PagerDuty through the Events API v2,
// with go-pagerduty.
//
// One alert group is one PagerDuty alert: its dedup_key is a SHA-256 of the group key, so
// it is the same on trigger and resolve, across restarts and across vigil replicas. The
// payload names the model (component), feature (group) and rule (class); custom_details
// carry every alert's labels, annotations, value, threshold and links. Network errors,
// timeouts, 408, 429 and 5xx are retryable (with Retry-After when PagerDuty sends one);
// other errors are permanent and carry PagerDuty's error text, never the routing key.
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"
	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/internal/notifyutil"
)

// DefaultTimeout bounds one request when Options.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// PagerDuty's limits: summary length, event size.
const (
	maxSummaryRunes = 1024
	maxEventBytes   = 512_000
	maxDetailAlerts = 50
	maxLinks        = 20
)

// Event actions.
const (
	actionTrigger = "trigger"
	actionResolve = "resolve"
)

// Options are what New needs besides the config.
type Options struct {
	// BaseDir is the directory routing_key_file is relative to (the config file's
	// directory); empty means the working directory.
	BaseDir string
	// HTTPClient sends the requests; nil means a client with a DefaultTimeout timeout. A
	// client without a Timeout is copied and given DefaultTimeout: a peer that never
	// answers must not hold a delivery forever.
	HTTPClient *http.Client
	// Logger receives debug and warning lines; nil discards them.
	Logger *slog.Logger
	// URL, when set, replaces the config's url (tests).
	URL string
	// Now is the clock for "firing for" durations; nil means time.Now.
	Now func() time.Time
}

// Notifier sends alert groups to one PagerDuty integration. It implements
// alerting.Notifier and is safe for concurrent use.
type Notifier struct {
	cfg        Config
	routingKey Secret
	redact     notifyutil.Redactor
	client     *pd.Client
	clientURL  *template.Template
	severity   *template.Template
	details    map[string]*template.Template
	links      []linkTemplate
	logger     *slog.Logger
	now        func() time.Time
}

type linkTemplate struct{ href, text *template.Template }

var _ alerting.Notifier = (*Notifier)(nil)

// New checks cfg, resolves its routing key (${ENV} or routing_key_file against
// opts.BaseDir) and returns a Notifier.
func New(cfg Config, opts Options) (*Notifier, error) {
	if opts.URL != "" {
		cfg.URL = opts.URL
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	key, err := notifyutil.ResolveSecret("routing_key", cfg.RoutingKey, cfg.RoutingKeyFile, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	n := &Notifier{
		cfg: cfg, routingKey: Secret(key), redact: notifyutil.NewRedactor(key),
		logger: opts.Logger, now: opts.Now, details: map[string]*template.Template{},
	}
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	n.logger = n.logger.With("integration", "pagerduty")
	if n.now == nil {
		n.now = time.Now
	}
	base, _ := eventsBase(cfg.URL)
	n.client = pd.NewClient("", pd.WithV2EventsAPIEndpoint(base))
	n.client.HTTPClient = notifyutil.RecordingClient(notifyutil.WithTimeout(opts.HTTPClient, DefaultTimeout))

	// The templates were checked by validate.
	n.clientURL, _ = notifyutil.ParseTemplate("client_url", cfg.ClientURL)
	n.severity, _ = notifyutil.ParseTemplate("severity", cfg.Severity)
	for k, v := range cfg.Details {
		n.details[k], _ = notifyutil.ParseTemplate("details."+k, v)
	}
	for i, l := range cfg.Links {
		href, _ := notifyutil.ParseTemplate(fmt.Sprintf("links[%d].href", i), l.Href)
		text, _ := notifyutil.ParseTemplate(fmt.Sprintf("links[%d].text", i), l.Text)
		n.links = append(n.links, linkTemplate{href, text})
	}
	return n, nil
}

// DedupKey is the dedup_key of an alert group: the hex SHA-256 of its group key, stable
// across trigger and resolve, restarts and replicas.
func DedupKey(groupKey string) string {
	sum := sha256.Sum256([]byte(groupKey))
	return hex.EncodeToString(sum[:])
}

// Build returns the builder of this integration for alerting.Builders: it decodes one
// pagerduty_configs entry with decode (strictly, defaults set, validated) and calls New with
// opts.
func Build(opts Options) func(decode func(any) error) (alerting.Notifier, error) {
	return notifyutil.Build(DefaultConfig, func(c Config) (*Notifier, error) { return New(c, opts) })
}

// SendResolved implements alerting.ResolvedSender: it reports the config's send_resolved.
func (n *Notifier) SendResolved() bool { return n.cfg.SendResolved }

// Notify triggers (while the group fires) or resolves the group's PagerDuty alert. It
// returns no state: the dedup_key is derived from the group key.
//
// A digest (several groups folded into one message by the receiver's rate cap) is sent
// as one event per group, each with the group's own dedup_key, so that PagerDuty's
// alerts stay one per group and later messages of each group update or resolve its own.
// A retryable failure stops the digest and is returned (the retry sends every group
// again, which PagerDuty deduplicates); a permanent failure of one group does not keep
// the others from being sent, and is returned at the end.
func (n *Notifier) Notify(ctx context.Context, m *alerting.Message) (map[string]string, error) {
	if !m.Digest || len(m.Groups) == 0 {
		return nil, n.notify(ctx, m)
	}
	var errs []error
	for _, g := range m.Groups {
		err := n.notify(ctx, g)
		if after, ok := alerting.IsRetryable(err); ok {
			return nil, alerting.Retryable(errors.Join(append(errs, err)...), after)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return nil, errors.Join(errs...)
}

// notify sends the event of one group.
func (n *Notifier) notify(ctx context.Context, m *alerting.Message) error {
	if m.GroupKey == "" {
		return errors.New("pagerduty: the message has no group key to derive a dedup_key from")
	}
	ev := &pd.V2Event{
		RoutingKey: n.routingKey.Reveal(),
		Action:     actionTrigger,
		DedupKey:   DedupKey(m.GroupKey),
	}
	if m.Status == alerting.StatusResolved {
		if !n.cfg.SendResolved {
			return nil
		}
		// PagerDuty needs nothing but the key to resolve; a payload would be ignored.
		ev.Action = actionResolve
	} else if err := n.fill(ev, m); err != nil {
		return err
	}
	rctx, x := notifyutil.Record(ctx)
	_, err := n.client.ManageEventWithContext(rctx, ev)
	if err := n.classify(err, x); err != nil {
		return err
	}
	n.logger.Debug("notification sent", "action", ev.Action, "dedup_key", ev.DedupKey, "alerts", len(m.Alerts))
	return nil
}

// fill adds a trigger's payload, client and links.
func (n *Notifier) fill(ev *pd.V2Event, m *alerting.Message) error {
	now := n.now()
	data := notifyutil.NewTemplateData(m, now)
	clientURL, err := execute(n.clientURL, data)
	if err != nil {
		return err
	}
	severity, err := n.severityOf(m, data, now)
	if err != nil {
		return err
	}
	details := map[string]any{}
	for k, t := range n.details {
		v, err := execute(t, data)
		if err != nil {
			return err
		}
		details[k] = v
	}
	links, err := n.linksOf(m, data)
	if err != nil {
		return err
	}
	firing := data.FiringAlerts
	ev.Client = n.cfg.Client
	if validLinkURL(clientURL) {
		ev.ClientURL = clientURL
	}
	ev.Links = links
	ev.Payload = &pd.V2Payload{
		Summary:   summary(m, firing, now),
		Source:    n.cfg.Source,
		Severity:  severity,
		Component: notifyutil.Common(m, "model"),
		Group:     notifyutil.Common(m, "feature"),
		Class:     notifyutil.Common(m, "alertname"),
		Details:   details,
	}
	if len(firing) > 0 {
		first := firing[0].StartsAt
		for _, a := range firing {
			if a.StartsAt.Before(first) {
				first = a.StartsAt
			}
		}
		if !first.IsZero() {
			ev.Payload.Timestamp = first.UTC().Format(time.RFC3339)
		}
	}
	addAlertDetails(details, m, data, now)
	return n.fitSize(ev, details)
}

// fitSize keeps the event under PagerDuty's 512 KB: first fewer alerts in custom_details,
// then none.
func (n *Notifier) fitSize(ev *pd.V2Event, details map[string]any) error {
	for _, keep := range []int{-1, 10, 0} {
		if keep >= 0 {
			alerts, _ := details["alerts"].([]alertDetail)
			if len(alerts) > keep {
				details["alerts_truncated"] = len(alerts) - keep + truncatedOf(details)
				details["alerts"] = alerts[:keep]
			}
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("pagerduty: encode event: %w", err)
		}
		if len(b) <= maxEventBytes {
			return nil
		}
		n.logger.Warn("event too large for PagerDuty, trimming custom_details", "bytes", len(b))
	}
	ev.Payload.Details = map[string]any{"error": "custom_details removed: the event exceeded PagerDuty's 512 KB"}
	return nil
}

func truncatedOf(details map[string]any) int {
	t, _ := details["alerts_truncated"].(int)
	return t
}

// severityOf is the configured severity template's result, or the firing alerts' most
// severe mapped severity label.
func (n *Notifier) severityOf(m *alerting.Message, data TemplateData, now time.Time) (string, error) {
	if n.severity != nil {
		s, err := execute(n.severity, data)
		if err != nil {
			return "", err
		}
		s = strings.TrimSpace(s)
		if severityRank[s] == 0 {
			n.logger.Warn("severity template gave an unknown severity, using error", "severity", s)
			return "error", nil
		}
		return s, nil
	}
	best := ""
	for _, a := range m.Firing(now) {
		if s := MapSeverity(a.Labels["severity"]); severityRank[s] > severityRank[best] {
			best = s
		}
	}
	if best == "" {
		best = MapSeverity(notifyutil.Common(m, "severity"))
	}
	return best, nil
}

var severityRank = map[string]int{"critical": 4, "error": 3, "warning": 2, "info": 1}

// MapSeverity maps vigil's severity label to PagerDuty's: critical, warning and info map
// to themselves, anything else to error.
func MapSeverity(label string) string {
	switch label {
	case "critical", "warning", "info":
		return label
	}
	return "error"
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// linksOf gathers the alerts' dashboard and runbook links (once each) and the config's.
func (n *Notifier) linksOf(m *alerting.Message, data TemplateData) ([]any, error) {
	var out []any
	seen := map[string]bool{}
	add := func(href, text string) {
		if !validLinkURL(href) || seen[href] || len(out) >= maxLinks {
			return
		}
		seen[href] = true
		out = append(out, pdLink{Href: href, Text: text})
	}
	for _, a := range m.Alerts {
		what := strings.Join(notifyutil.NonEmpty(a.Labels["model"], a.Labels["feature"], a.Labels["segment"]), " · ")
		add(a.Annotations["dashboard_url"], strings.TrimSpace("Dashboard "+what))
		add(a.Annotations["runbook_url"], strings.TrimSpace("Runbook "+a.Labels["alertname"]))
	}
	for _, l := range n.links {
		href, err := execute(l.href, data)
		if err != nil {
			return nil, err
		}
		text, err := execute(l.text, data)
		if err != nil {
			return nil, err
		}
		add(strings.TrimSpace(href), strings.TrimSpace(text))
	}
	return out, nil
}

func validLinkURL(s string) bool {
	if s == "" {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")
}

// summary is "[FIRING:2] AccuracyDrop · fraud: fraud accuracy is 0.812 in country=DE (and
// 1 more)", at most 1024 characters.
func summary(m *alerting.Message, firing []*alerting.Alert, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[FIRING:%d] ", len(firing))
	subject := strings.Join(notifyutil.NonEmpty(notifyutil.Common(m, "alertname"), notifyutil.Common(m, "model"), notifyutil.Common(m, "feature"), notifyutil.Common(m, "segment")), " · ")
	if m.Digest || subject == "" {
		subject = "vigil digest"
		if !m.Digest {
			subject = fmt.Sprintf("%d alerts", len(m.Alerts))
		}
	}
	b.WriteString(subject)
	if len(firing) > 0 {
		a := firing[0]
		what := a.Annotations["summary"]
		if what == "" {
			what = notifyutil.ValueText(a) + " for " + notifyutil.HumanizeDuration(now.Sub(a.StartsAt))
			if where := strings.Join(notifyutil.NonEmpty(a.Labels["feature"], a.Labels["segment"], a.Labels["version"]), " · "); where != "" {
				what = where + ": " + what
			}
		}
		b.WriteString(": " + what)
		if len(firing) > 1 {
			fmt.Fprintf(&b, " (and %d more)", len(firing)-1)
		}
	}
	return notifyutil.Truncate(b.String(), maxSummaryRunes)
}

// alertDetail is one alert in custom_details.
type alertDetail struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Value        number            `json:"value"`
	Threshold    number            `json:"threshold"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       time.Time         `json:"ends_at,omitzero"`
	For          string            `json:"for"`
	DashboardURL string            `json:"dashboard_url,omitempty"`
	RunbookURL   string            `json:"runbook_url,omitempty"`
	GeneratorURL string            `json:"generator_url,omitempty"`
}

// number is a float that JSON can always carry: NaN and ±Inf become strings.
type number float64

// MarshalJSON writes finite numbers as numbers and the others as "NaN", "+Inf", "-Inf".
func (v number) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(`"` + strconv.FormatFloat(f, 'g', -1, 64) + `"`), nil
	}
	return json.Marshal(f)
}

func addAlertDetails(details map[string]any, m *alerting.Message, data TemplateData, now time.Time) {
	details["num_firing"] = len(data.FiringAlerts)
	details["num_resolved"] = len(data.ResolvedAlerts)
	if len(m.GroupLabels) > 0 {
		details["group_labels"] = m.GroupLabels
	}
	ordered := slices.Concat(data.FiringAlerts, data.ResolvedAlerts)
	var alerts []alertDetail
	for i, a := range ordered {
		if i == maxDetailAlerts {
			details["alerts_truncated"] = len(ordered) - i
			break
		}
		d := alertDetail{
			Status:       string(alerting.StatusFiring),
			Labels:       a.Labels,
			Annotations:  a.Annotations,
			Value:        number(a.Value),
			Threshold:    number(a.Threshold),
			StartsAt:     a.StartsAt.UTC(),
			For:          notifyutil.HumanizeDuration(now.Sub(a.StartsAt)),
			DashboardURL: a.Annotations["dashboard_url"],
			RunbookURL:   a.Annotations["runbook_url"],
			GeneratorURL: a.GeneratorURL,
		}
		if a.Resolved(now) {
			d.Status = string(alerting.StatusResolved)
			d.EndsAt = a.EndsAt.UTC()
			d.For = notifyutil.HumanizeDuration(a.EndsAt.Sub(a.StartsAt))
		}
		alerts = append(alerts, d)
	}
	details["alerts"] = alerts
}

// execute runs t (nil gives ""); an error is permanent: a retry would fail the same way.
func execute(t *template.Template, data TemplateData) (string, error) {
	return notifyutil.Execute("pagerduty", t, data)
}

// ---- Errors ----

// classify turns go-pagerduty's error into a permanent error or an
// alerting.RetryableError, with PagerDuty's error text and without the routing key.
func (n *Notifier) classify(err error, x *notifyutil.Exchange) error {
	if err == nil {
		return nil
	}
	var apiErr pd.APIError
	switch {
	case x.Err != nil:
		// The library flattens the *url.Error (with %v) but its text is the informative one:
		// the transport only sees "request canceled" when the client's timeout fires.
		msg := strings.TrimPrefix(err.Error(), "error calling the API endpoint: ")
		return alerting.Retryable(n.scrubbed(notifyutil.Opaque(msg, x.Err)), 0)
	case errors.As(err, &apiErr):
		// The library's message loses the Events API's error text; the recorder kept it.
		text := errorText(x.Body)
		if text == "" {
			text = ": " + apiErr.Error()
		}
		e := n.scrubbed(fmt.Errorf("%d %s%s", apiErr.StatusCode, http.StatusText(apiErr.StatusCode), text))
		if apiErr.Temporary() || apiErr.StatusCode == http.StatusRequestTimeout {
			return alerting.Retryable(e, notifyutil.RetryAfter(x.Header, n.now()))
		}
		return e
	case x.Status >= 200 && x.Status < 300:
		// Accepted, but the answer was not the JSON expected: the event is in.
		n.logger.Warn("unreadable answer to an accepted event", "status", x.Status, "err", n.scrubbed(err))
		return nil
	}
	// The request was never sent (it could not be built).
	return n.scrubbed(err)
}

// scrubbed is err as "pagerduty: <err>", without the routing key.
func (n *Notifier) scrubbed(err error) error { return n.redact.Error("pagerduty", err) }

// errorText is ": <status>: <message>: <errors>" from the Events API's error JSON, or its
// raw text, bounded.
func errorText(b []byte) string {
	var e struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	if json.Unmarshal(b, &e) == nil && (e.Message != "" || len(e.Errors) > 0) {
		return notifyutil.Bounded(strings.Join(notifyutil.NonEmpty(e.Status, e.Message, strings.Join(e.Errors, "; ")), ": "))
	}
	return notifyutil.BodyText(b)
}
