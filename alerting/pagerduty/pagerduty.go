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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	pd "github.com/PagerDuty/go-pagerduty"
	"github.com/vigilml/vigil/alerting"
)

// DefaultTimeout bounds one request when Options.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// PagerDuty's limits: summary length, event size.
const (
	maxSummaryRunes = 1024
	maxEventBytes   = 512_000
	maxDetailAlerts = 50
	maxLinks        = 20
	maxErrorBody    = 1 << 10
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
	key, err := resolveSecret("routing_key", cfg.RoutingKey, cfg.RoutingKeyFile, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, routingKey: Secret(key), logger: opts.Logger, now: opts.Now, details: map[string]*template.Template{}}
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	n.logger = n.logger.With("integration", "pagerduty")
	if n.now == nil {
		n.now = time.Now
	}
	base, _ := eventsBase(cfg.URL)
	n.client = pd.NewClient("", pd.WithV2EventsAPIEndpoint(base))
	n.client.HTTPClient = recordingClient(withTimeout(opts.HTTPClient))

	// The templates were checked by validate.
	n.clientURL, _ = parseTemplate("client_url", cfg.ClientURL)
	n.severity, _ = parseTemplate("severity", cfg.Severity)
	for k, v := range cfg.Details {
		n.details[k], _ = parseTemplate("details."+k, v)
	}
	for i, l := range cfg.Links {
		href, _ := parseTemplate(fmt.Sprintf("links[%d].href", i), l.Href)
		text, _ := parseTemplate(fmt.Sprintf("links[%d].text", i), l.Text)
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

// Notify triggers (while the group fires) or resolves the group's PagerDuty alert. It
// returns no state: the dedup_key is derived from the group key.
func (n *Notifier) Notify(ctx context.Context, m *alerting.Message) (map[string]string, error) {
	if m.GroupKey == "" {
		return nil, errors.New("pagerduty: the message has no group key to derive a dedup_key from")
	}
	ev := &pd.V2Event{
		RoutingKey: n.routingKey.Reveal(),
		Action:     actionTrigger,
		DedupKey:   DedupKey(m.GroupKey),
	}
	if m.Status == alerting.StatusResolved {
		if !n.cfg.SendResolved {
			return nil, nil
		}
		// PagerDuty needs nothing but the key to resolve; a payload would be ignored.
		ev.Action = actionResolve
	} else if err := n.fill(ev, m); err != nil {
		return nil, err
	}
	x := &exchange{}
	_, err := n.client.ManageEventWithContext(context.WithValue(ctx, exchangeKey{}, x), ev)
	if err := n.classify(err, x); err != nil {
		return nil, err
	}
	n.logger.Debug("notification sent", "action", ev.Action, "dedup_key", ev.DedupKey, "alerts", len(m.Alerts))
	return nil, nil
}

// fill adds a trigger's payload, client and links.
func (n *Notifier) fill(ev *pd.V2Event, m *alerting.Message) error {
	now := n.now()
	data := templateData(m, now)
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
		Component: common(m, "model"),
		Group:     common(m, "feature"),
		Class:     common(m, "alertname"),
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
		best = MapSeverity(common(m, "severity"))
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
		what := strings.Join(nonEmpty(a.Labels["model"], a.Labels["feature"], a.Labels["segment"]), " · ")
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
	subject := strings.Join(nonEmpty(common(m, "alertname"), common(m, "model"), common(m, "feature"), common(m, "segment")), " · ")
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
			what = valueText(a) + " for " + humanizeDuration(now.Sub(a.StartsAt))
			if where := strings.Join(nonEmpty(a.Labels["feature"], a.Labels["segment"], a.Labels["version"]), " · "); where != "" {
				what = where + ": " + what
			}
		}
		b.WriteString(": " + what)
		if len(firing) > 1 {
			fmt.Fprintf(&b, " (and %d more)", len(firing)-1)
		}
	}
	return truncate(b.String(), maxSummaryRunes)
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
			For:          humanizeDuration(now.Sub(a.StartsAt)),
			DashboardURL: a.Annotations["dashboard_url"],
			RunbookURL:   a.Annotations["runbook_url"],
			GeneratorURL: a.GeneratorURL,
		}
		if a.Resolved(now) {
			d.Status = string(alerting.StatusResolved)
			d.EndsAt = a.EndsAt.UTC()
			d.For = humanizeDuration(a.EndsAt.Sub(a.StartsAt))
		}
		alerts = append(alerts, d)
	}
	details["alerts"] = alerts
}

func templateData(m *alerting.Message, now time.Time) TemplateData {
	d := TemplateData{Message: m}
	for _, a := range m.Alerts {
		if a.Resolved(now) {
			d.ResolvedAlerts = append(d.ResolvedAlerts, a)
		} else {
			d.FiringAlerts = append(d.FiringAlerts, a)
		}
	}
	return d
}

// execute runs t (nil gives ""); an error is permanent: a retry would fail the same way.
func execute(t *template.Template, data TemplateData) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("pagerduty %s template: %w", t.Name(), err)
	}
	return b.String(), nil
}

// common returns a label shared by the group's alerts, or "".
func common(m *alerting.Message, name string) string {
	if v := m.CommonLabels[name]; v != "" {
		return v
	}
	return m.GroupLabels[name]
}

func valueText(a *alerting.Alert) string {
	if math.IsNaN(a.Value) {
		return "no data"
	}
	return formatValue(a.Value) + " (threshold " + formatValue(a.Threshold) + ")"
}

func nonEmpty(s ...string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// truncate cuts s to at most n runes, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatValue shows a number with about four significant digits: 0.8123, 12.35, 12346.
func formatValue(v float64) string {
	abs := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v == math.Trunc(v) && abs < 1e15:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case abs >= 1e-3 && abs < 1e15:
		prec := max(0, 3-int(math.Floor(math.Log10(abs))))
		s := strconv.FormatFloat(v, 'f', prec, 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// humanizeDuration shows a duration in at most its two largest units, stopping at a zero
// unit: 45s, 25m 10s, 1h 5m, 2d 3h, 1d (for 1d 0h 5m).
func humanizeDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d <= 0 {
		return "0s"
	}
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		v := d / u.d
		if v == 0 {
			if len(parts) > 0 {
				break
			}
			continue
		}
		parts = append(parts, strconv.FormatInt(int64(v), 10)+u.name)
		d -= v * u.d
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

// ---- Errors ----

type exchangeKey struct{}

// exchange is what the recording transport saw of one request: go-pagerduty's errors keep
// neither the Events API's error text nor the headers.
type exchange struct {
	status int
	header http.Header
	body   []byte
	err    error
}

type recorder struct{ next http.RoundTripper }

// RoundTrip records the status, headers and the start of a failed response's body for the
// request's exchange, when the request carries one.
func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		return resp, err
	}
	if err != nil {
		x.err = err
		return resp, err
	}
	x.status, x.header = resp.StatusCode, resp.Header
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		x.body = b
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

func recordingClient(c *http.Client) *http.Client {
	cc := *c
	next := cc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc.Transport = recorder{next: next}
	return &cc
}

// classify turns go-pagerduty's error into a permanent error or an
// alerting.RetryableError, with PagerDuty's error text and without the routing key.
func (n *Notifier) classify(err error, x *exchange) error {
	if err == nil {
		return nil
	}
	var apiErr pd.APIError
	switch {
	case x.err != nil:
		// The library flattens the *url.Error (with %v) but its text is the informative one:
		// the transport only sees "request canceled" when the client's timeout fires.
		msg := strings.TrimPrefix(err.Error(), "error calling the API endpoint: ")
		return alerting.Retryable(n.scrubbed(&scrubError{msg: msg, cause: ctxErr(x.err)}), 0)
	case errors.As(err, &apiErr):
		// The library's message loses the Events API's error text; the recorder kept it.
		text := errorText(x.body)
		if text == "" {
			text = ": " + apiErr.Error()
		}
		e := n.scrubbed(fmt.Errorf("%d %s%s", apiErr.StatusCode, http.StatusText(apiErr.StatusCode), text))
		if apiErr.Temporary() || apiErr.StatusCode == http.StatusRequestTimeout {
			return alerting.Retryable(e, retryAfter(x.header, n.now()))
		}
		return e
	case x.status >= 200 && x.status < 300:
		// Accepted, but the answer was not the JSON expected: the event is in.
		n.logger.Warn("unreadable answer to an accepted event", "status", x.status, "err", n.scrubbed(err))
		return nil
	}
	// The request was never sent (it could not be built).
	return n.scrubbed(err)
}

// errorText is ": <status>: <message>: <errors>" from the Events API's error JSON, or its
// raw text, bounded.
func errorText(b []byte) string {
	var e struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "�"))
	if json.Unmarshal(b, &e) == nil && (e.Message != "" || len(e.Errors) > 0) {
		s = strings.Join(nonEmpty(e.Status, e.Message, strings.Join(e.Errors, "; ")), ": ")
	}
	if s == "" {
		return ""
	}
	if len(s) > maxErrorBody {
		s = s[:maxErrorBody] + "…"
	}
	return ": " + s
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

// scrubError is an error message with the routing key replaced. It unwraps only to a
// context error, never to the original error, whose text may hold the key.
type scrubError struct {
	msg   string
	cause error
}

// Error returns the scrubbed message.
func (e *scrubError) Error() string { return e.msg }

// Unwrap returns the context error behind the failure, if any.
func (e *scrubError) Unwrap() error { return e.cause }

func (n *Notifier) scrubbed(err error) error {
	msg := "pagerduty: " + err.Error()
	if k := n.routingKey.Reveal(); k != "" {
		msg = strings.ReplaceAll(msg, k, secretMask)
	}
	return &scrubError{msg: msg, cause: ctxErr(err)}
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
