// Package slack delivers vigil's alert groups to Slack as Block Kit messages, through an
// incoming webhook or as a bot that edits and threads under the group's first message.
//
// A message says what a person needs to act: the alert and model in the header; per alert
// the model, feature, segment and version, the value against its threshold, how long it
// has fired, and buttons to the dashboard (annotation dashboard_url) and runbook
// (annotation runbook_url). Delivery errors are classified for vigil's outbox: network
// errors, timeouts, 5xx and 429 are retryable (429 with Slack's Retry-After); anything
// else is permanent and carries Slack's own error text. Neither the webhook URL nor the
// token ever appears in an error or a log line.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/internal/notifyutil"
)

// DefaultTimeout bounds one request when Options.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// State keys of a bot-mode message: the channel ID and ts of the group's first message,
// and the status last sent for the group.
const (
	StateChannel = "channel"
	StateTS      = "ts"
	StateStatus  = "status"
)

// Slack's Block Kit limits (https://api.slack.com/reference/block-kit/blocks) and how much
// of a group one message shows.
const (
	maxHeaderRunes  = 150
	maxTextRunes    = 3000
	maxFieldRunes   = 2000
	maxAlertsShown  = 10
	maxGroupsShown  = 20
	maxLinesInGroup = 10
)

// Options are what New needs besides the config.
type Options struct {
	// BaseDir is the directory api_url_file and token_file are relative to (the config
	// file's directory); empty means the working directory.
	BaseDir string
	// HTTPClient sends the requests; nil means a client with a DefaultTimeout timeout. A
	// client without a Timeout is copied and given DefaultTimeout: a peer that never
	// answers must not hold a delivery forever.
	HTTPClient *http.Client
	// Logger receives debug and warning lines; nil discards them.
	Logger *slog.Logger
	// APIURL is the Web API's base URL in bot mode (tests); empty means Slack's.
	APIURL string
	// Now is the clock for "firing for" durations; nil means time.Now.
	Now func() time.Time
}

// Notifier sends alert groups to one Slack destination. It implements alerting.Notifier
// and is safe for concurrent use.
type Notifier struct {
	cfg        Config
	webhookURL Secret
	api        *slackapi.Client
	client     *http.Client
	title      *template.Template
	text       *template.Template
	logger     *slog.Logger
	now        func() time.Time
	// redact hides the token or the webhook URL in errors.
	redact notifyutil.Redactor
}

var _ alerting.Notifier = (*Notifier)(nil)

// New checks cfg, resolves its secrets (${ENV} and *_file against opts.BaseDir) and
// returns a Notifier.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, logger: opts.Logger, now: opts.Now}
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	n.logger = n.logger.With("integration", "slack")
	if n.now == nil {
		n.now = time.Now
	}
	n.client = notifyutil.RecordingClient(notifyutil.WithTimeout(opts.HTTPClient, DefaultTimeout))
	n.title, _ = notifyutil.ParseTemplate("title", cfg.Title)
	n.text, _ = notifyutil.ParseTemplate("text", cfg.Text)

	if cfg.Bot() {
		token, err := notifyutil.ResolveSecret("token", cfg.Token, cfg.TokenFile, opts.BaseDir)
		if err != nil {
			return nil, err
		}
		api := opts.APIURL
		if api == "" {
			api = slackapi.APIURL
		}
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		n.api = slackapi.New(token, slackapi.OptionAPIURL(api), slackapi.OptionHTTPClient(n.client))
		n.redact = notifyutil.NewRedactor(token)
		return n, nil
	}
	u, err := notifyutil.ResolveSecret("api_url", cfg.APIURL, cfg.APIURLFile, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	if err := notifyutil.CheckSecretURL(u); err != nil {
		return nil, fmt.Errorf("api_url: %w", err)
	}
	n.webhookURL = Secret(u)
	n.redact = notifyutil.Redactor{}.WithURL(u)
	return n, nil
}

// Build returns the builder of this integration for alerting.Builders: it decodes one
// slack_configs entry with decode (strictly, defaults set, validated) and calls New with
// opts.
func Build(opts Options) func(decode func(any) error) (alerting.Notifier, error) {
	return notifyutil.Build(DefaultConfig, func(c Config) (*Notifier, error) { return New(c, opts) })
}

// SendResolved implements alerting.ResolvedSender: it reports the config's send_resolved.
func (n *Notifier) SendResolved() bool { return n.cfg.SendResolved }

// Notify sends m. In webhook mode it returns no state; in bot mode it returns the channel
// and ts of the group's first message and the status sent (see Config).
func (n *Notifier) Notify(ctx context.Context, m *alerting.Message) (map[string]string, error) {
	now := n.now()
	if m.Status == alerting.StatusResolved && !n.cfg.SendResolved {
		if n.api != nil && m.State[StateTS] != "" {
			return endedState(m.State), nil
		}
		return nil, nil
	}
	full, err := n.render(m, now)
	if err != nil {
		return nil, err
	}
	if n.api == nil {
		return nil, n.postWebhook(ctx, full)
	}
	return n.notifyBot(ctx, m, full, now)
}

// endedState marks a group's message as finished, so that the next firing of the group
// starts a new message.
func endedState(s map[string]string) map[string]string {
	return map[string]string{StateChannel: s[StateChannel], StateTS: s[StateTS], StateStatus: string(alerting.StatusResolved)}
}

func (n *Notifier) postWebhook(ctx context.Context, msg *message) error {
	wm := &slackapi.WebhookMessage{
		Channel:   n.cfg.Channel,
		Username:  n.cfg.Username,
		IconEmoji: n.cfg.IconEmoji,
		IconURL:   n.cfg.IconURL,
		Text:      msg.fallback,
		Blocks:    &slackapi.Blocks{BlockSet: msg.blocks},
	}
	rctx, x := notifyutil.Record(ctx)
	err := slackapi.PostWebhookCustomHTTPContext(rctx, n.webhookURL.Reveal(), n.client, wm)
	if err != nil {
		return n.classify("slack webhook", err, x)
	}
	n.logger.Debug("notification sent", "mode", "webhook", "blocks", len(msg.blocks))
	return nil
}

// notifyBot posts the group's first message, or follows up on it (see Config).
func (n *Notifier) notifyBot(ctx context.Context, m *alerting.Message, full *message, now time.Time) (map[string]string, error) {
	channel, ts := m.State[StateChannel], m.State[StateTS]
	ended := m.State[StateStatus] == string(alerting.StatusResolved)
	if channel != "" && ts != "" && ended && m.Status == alerting.StatusResolved {
		// The resolution was sent already; a resend only refreshes the first message.
		if n.cfg.UpdateMessage {
			if err := n.update(ctx, channel, ts, full); isRetryable(err) {
				return nil, err
			}
		}
		return endedState(m.State), nil
	}
	if channel == "" || ts == "" || ended || (!n.cfg.UpdateMessage && !n.cfg.ReplyInThread) {
		return n.postNew(ctx, m, full)
	}
	done := false
	if n.cfg.UpdateMessage {
		err := n.update(ctx, channel, ts, full)
		switch {
		case err == nil:
			done = true
		case isRetryable(err):
			return nil, err
		default:
			// The message was deleted or can no longer be edited: the reply (or a new
			// message) still carries the news.
			n.logger.Warn("could not update the group's first message", "err", err)
		}
	}
	if n.cfg.ReplyInThread {
		reply := n.renderReply(m, now)
		err := n.post(ctx, channel, ts, reply)
		switch {
		case err == nil:
			done = true
		case isRetryable(err):
			return nil, err
		default:
			n.logger.Warn("could not reply in the group's thread", "err", err)
			done = false
		}
	}
	if !done {
		return n.postNew(ctx, m, full)
	}
	n.logger.Debug("notification sent", "mode", "bot", "follow_up", true, "status", m.Status)
	return map[string]string{StateChannel: channel, StateTS: ts, StateStatus: string(m.Status)}, nil
}

// postNew posts a top-level message and makes it the group's anchor.
func (n *Notifier) postNew(ctx context.Context, m *alerting.Message, full *message) (map[string]string, error) {
	rctx, x := notifyutil.Record(ctx)
	channel, ts, err := n.api.PostMessageContext(rctx, n.cfg.Channel, n.msgOptions(full, "")...)
	if err != nil {
		return nil, n.classify("chat.postMessage", err, x)
	}
	n.logger.Debug("notification sent", "mode", "bot", "follow_up", false, "status", m.Status)
	return map[string]string{StateChannel: channel, StateTS: ts, StateStatus: string(m.Status)}, nil
}

func (n *Notifier) post(ctx context.Context, channel, threadTS string, msg *message) error {
	rctx, x := notifyutil.Record(ctx)
	_, _, err := n.api.PostMessageContext(rctx, channel, n.msgOptions(msg, threadTS)...)
	return n.classify("chat.postMessage", err, x)
}

func (n *Notifier) update(ctx context.Context, channel, ts string, msg *message) error {
	rctx, x := notifyutil.Record(ctx)
	_, _, _, err := n.api.UpdateMessageContext(rctx, channel, ts,
		slackapi.MsgOptionText(msg.fallback, false), slackapi.MsgOptionBlocks(msg.blocks...))
	return n.classify("chat.update", err, x)
}

func (n *Notifier) msgOptions(msg *message, threadTS string) []slackapi.MsgOption {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(msg.fallback, false), slackapi.MsgOptionBlocks(msg.blocks...)}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	if n.cfg.Username != "" {
		opts = append(opts, slackapi.MsgOptionUsername(n.cfg.Username))
	}
	if n.cfg.IconEmoji != "" {
		opts = append(opts, slackapi.MsgOptionIconEmoji(n.cfg.IconEmoji))
	}
	if n.cfg.IconURL != "" {
		opts = append(opts, slackapi.MsgOptionIconURL(n.cfg.IconURL))
	}
	return opts
}

// ---- Rendering ----

// message is a rendered Slack message: Block Kit blocks and the plain text Slack shows in
// notifications and where blocks cannot be shown.
type message struct {
	blocks   []slackapi.Block
	fallback string
}

// render builds the full message for m: a header, the optional text, then one section per
// alert (or, for a digest, one per group).
func (n *Notifier) render(m *alerting.Message, now time.Time) (*message, error) {
	data := notifyutil.NewTemplateData(m, now)
	header := headerText(m, now)
	if n.title != nil {
		s, err := notifyutil.Execute("slack", n.title, data)
		if err != nil {
			return nil, err
		}
		if s = strings.TrimSpace(s); s != "" {
			header = s
		}
	}
	msg := &message{fallback: fallbackText(m, header)}
	msg.blocks = append(msg.blocks, slackapi.NewHeaderBlock(plain(notifyutil.Truncate(header, maxHeaderRunes))))
	if n.text != nil {
		s, err := notifyutil.Execute("slack", n.text, data)
		if err != nil {
			return nil, err
		}
		if s = strings.TrimSpace(s); s != "" {
			msg.blocks = append(msg.blocks, slackapi.NewSectionBlock(mrkdwn(notifyutil.Truncate(s, maxTextRunes)), nil, nil))
		}
	}
	if m.Digest {
		msg.blocks = append(msg.blocks, digestBlocks(m, now)...)
	} else {
		msg.blocks = append(msg.blocks, alertBlocks(m, now)...)
	}
	msg.blocks = append(msg.blocks, footer(m))
	return msg, nil
}

// renderReply builds the short thread reply of a bot-mode follow-up.
func (n *Notifier) renderReply(m *alerting.Message, now time.Time) *message {
	head := headerText(m, now)
	var b strings.Builder
	b.WriteString("*" + esc(head) + "*")
	alerts := ordered(m.Alerts, now)
	withName := notifyutil.Common(m, "alertname") == "" || notifyutil.Common(m, "model") == ""
	for i, a := range alerts {
		if i == maxLinesInGroup {
			fmt.Fprintf(&b, "\n…and %d more", len(alerts)-i)
			break
		}
		b.WriteString("\n" + alertLine(a, now, withName))
	}
	return &message{
		blocks:   []slackapi.Block{slackapi.NewSectionBlock(mrkdwn(notifyutil.Truncate(b.String(), maxTextRunes)), nil, nil)},
		fallback: fallbackText(m, head),
	}
}

// headerText is "🔴 FIRING: AccuracyDrop · fraud", with the number of firing alerts when
// there are several, "✅ RESOLVED: …" once resolved, or a digest's count of groups.
func headerText(m *alerting.Message, now time.Time) string {
	firing := len(m.Firing(now))
	status := "FIRING"
	if m.Status == alerting.StatusResolved {
		status = "RESOLVED"
	}
	emoji := statusEmoji(m.Status, groupSeverity(m, now))
	if m.Digest {
		groups := groupAlerts(m.Alerts)
		return fmt.Sprintf("%s %s: %d alert groups, %d alerts firing", emoji, status, len(groups), firing)
	}
	subject := strings.Join(notifyutil.NonEmpty(notifyutil.Common(m, "alertname"), notifyutil.Common(m, "model")), " · ")
	if subject == "" {
		subject = fmt.Sprintf("%d alerts", len(m.Alerts))
	}
	if m.Status == alerting.StatusFiring && firing > 1 {
		status = fmt.Sprintf("FIRING (%d)", firing)
	}
	return emoji + " " + status + ": " + subject
}

func fallbackText(m *alerting.Message, header string) string {
	s := header
	if sum := m.CommonAnnotations["summary"]; sum != "" && !m.Digest {
		s += " — " + sum
	}
	return notifyutil.Truncate(s, maxTextRunes)
}

// alertBlocks shows each alert (firing ones first): a section with its summary and
// figures, then its links as buttons.
func alertBlocks(m *alerting.Message, now time.Time) []slackapi.Block {
	var blocks []slackapi.Block
	alerts := ordered(m.Alerts, now)
	for i, a := range alerts {
		if i == maxAlertsShown {
			blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(fmt.Sprintf("…and %d more alerts not shown", len(alerts)-i))))
			break
		}
		if i > 0 {
			blocks = append(blocks, slackapi.NewDividerBlock())
		}
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(notifyutil.Truncate(alertTitle(a, now), maxTextRunes)), alertFields(a, now), nil))
		if btns := buttons(a, i); len(btns) > 0 {
			blocks = append(blocks, slackapi.NewActionBlock("", btns...))
		}
	}
	return blocks
}

func alertTitle(a *alerting.Alert, now time.Time) string {
	title := a.Annotations["summary"]
	if title == "" {
		title = strings.Join(notifyutil.NonEmpty(a.Labels["alertname"], a.Labels["model"]), " on ")
	}
	s := "*" + esc(title) + "*"
	if a.Resolved(now) {
		s = "✅ Resolved: " + s
	}
	if d := a.Annotations["description"]; d != "" {
		s += "\n" + esc(d)
	}
	return s
}

func alertFields(a *alerting.Alert, now time.Time) []*slackapi.TextBlockObject {
	var fields []*slackapi.TextBlockObject
	add := func(name, value string) {
		if value != "" {
			fields = append(fields, mrkdwn(notifyutil.Truncate("*"+name+"*\n"+value, maxFieldRunes)))
		}
	}
	add("Model", esc(a.Labels["model"]))
	add("Version", esc(a.Labels["version"]))
	add("Feature", esc(a.Labels["feature"]))
	add("Segment", esc(a.Labels["segment"]))
	if a.Resolved(now) {
		add("Last value", notifyutil.ValueText(a))
		add("Fired for", notifyutil.HumanizeDuration(a.EndsAt.Sub(a.StartsAt)))
	} else {
		add("Value", notifyutil.ValueText(a))
		add("Firing for", notifyutil.HumanizeDuration(now.Sub(a.StartsAt)))
	}
	add("Severity", esc(a.Labels["severity"]))
	return fields
}

// buttons links an alert to its dashboard, runbook and source. Slack rejects a whole
// message over one bad button URL, so only absolute http(s) URLs become buttons.
func buttons(a *alerting.Alert, i int) []slackapi.BlockElement {
	var out []slackapi.BlockElement
	for _, l := range alertLinks(a) {
		b := slackapi.NewButtonBlockElement(fmt.Sprintf("%s_%d", l.id, i), "", plain(l.text))
		b.URL = l.url
		out = append(out, b)
	}
	return out
}

type link struct{ id, text, url string }

func alertLinks(a *alerting.Alert) []link {
	var out []link
	for _, l := range []link{
		{"dashboard", "Dashboard", a.Annotations["dashboard_url"]},
		{"runbook", "Runbook", a.Annotations["runbook_url"]},
		{"source", "Open in vigil", a.GeneratorURL},
	} {
		if validLinkURL(l.url) {
			out = append(out, l)
		}
	}
	return out
}

func validLinkURL(s string) bool {
	if s == "" || len(s) > 3000 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")
}

// digestBlocks lists the groups a digest folds together, one section each. The message
// does not say which group an alert came from, so alerts are grouped by alertname and
// model, the default group_by.
func digestBlocks(m *alerting.Message, now time.Time) []slackapi.Block {
	var blocks []slackapi.Block
	groups := groupAlerts(m.Alerts)
	for gi, g := range groups {
		if gi == maxGroupsShown {
			blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(fmt.Sprintf("…and %d more groups not shown", len(groups)-gi))))
			break
		}
		alerts := ordered(g.alerts, now)
		firing := 0
		for _, a := range alerts {
			if !a.Resolved(now) {
				firing++
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s *%s* — %d firing", statusEmojiOf(alerts, now), esc(g.name), firing)
		if r := len(alerts) - firing; r > 0 {
			fmt.Fprintf(&b, ", %d resolved", r)
		}
		for i, a := range alerts {
			if i == maxLinesInGroup {
				fmt.Fprintf(&b, "\n…and %d more", len(alerts)-i)
				break
			}
			b.WriteString("\n" + alertLine(a, now, false))
		}
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(notifyutil.Truncate(b.String(), maxTextRunes)), nil, nil))
	}
	return blocks
}

// alertLine is one alert on one line: "• amount · country=DE: 0.31 (threshold 0.2),
// firing for 25m · Dashboard · Runbook". withName puts the alert and model first.
func alertLine(a *alerting.Alert, now time.Time, withName bool) string {
	var parts []string
	if withName {
		parts = notifyutil.NonEmpty(a.Labels["alertname"], a.Labels["model"])
	}
	parts = append(parts, notifyutil.NonEmpty(a.Labels["feature"], a.Labels["segment"], a.Labels["version"])...)
	if len(parts) == 0 {
		parts = notifyutil.NonEmpty(a.Labels["model"])
	}
	s := "• " + esc(strings.Join(parts, " · ")) + ": " + notifyutil.ValueText(a)
	if a.Resolved(now) {
		s += ", resolved after " + notifyutil.HumanizeDuration(a.EndsAt.Sub(a.StartsAt))
	} else {
		s += ", firing for " + notifyutil.HumanizeDuration(now.Sub(a.StartsAt))
	}
	for _, l := range alertLinks(a) {
		s += " · <" + escURL(l.url) + "|" + l.text + ">"
	}
	return s
}

type group struct {
	name   string
	alerts []*alerting.Alert
}

func groupAlerts(alerts []*alerting.Alert) []*group {
	var out []*group
	index := map[string]*group{}
	for _, a := range alerts {
		name := strings.Join(notifyutil.NonEmpty(a.Labels["alertname"], a.Labels["model"]), " · ")
		g := index[name]
		if g == nil {
			g = &group{name: name}
			index[name] = g
			out = append(out, g)
		}
		g.alerts = append(g.alerts, a)
	}
	return out
}

func footer(m *alerting.Message) slackapi.Block {
	s := "Sent by vigil"
	if validLinkURL(m.ExternalURL) {
		s = "Sent by <" + escURL(m.ExternalURL) + "|vigil>"
	}
	if m.Receiver != "" {
		s += " · receiver " + esc(m.Receiver)
	}
	return slackapi.NewContextBlock("", mrkdwn(s))
}

// ordered returns the alerts with the firing ones first, keeping the given order otherwise.
func ordered(alerts []*alerting.Alert, now time.Time) []*alerting.Alert {
	out := slices.Clone(alerts)
	slices.SortStableFunc(out, func(a, b *alerting.Alert) int {
		ra, rb := a.Resolved(now), b.Resolved(now)
		switch {
		case ra == rb:
			return 0
		case !ra:
			return -1
		}
		return 1
	})
	return out
}

var severityRank = map[string]int{"critical": 3, "error": 3, "warning": 2, "info": 1}

func groupSeverity(m *alerting.Message, now time.Time) string {
	best := ""
	for _, a := range m.Firing(now) {
		if s := a.Labels["severity"]; severityRank[s] > severityRank[best] || best == "" {
			best = s
		}
	}
	return best
}

func statusEmoji(s alerting.Status, severity string) string {
	if s == alerting.StatusResolved {
		return "✅"
	}
	switch severity {
	case "warning":
		return "🟠"
	case "info":
		return "🔵"
	}
	return "🔴"
}

func statusEmojiOf(alerts []*alerting.Alert, now time.Time) string {
	m := &alerting.Message{Alerts: alerts, Status: alerting.StatusResolved}
	if len(m.Firing(now)) > 0 {
		m.Status = alerting.StatusFiring
	}
	return statusEmoji(m.Status, groupSeverity(m, now))
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

// esc escapes the three characters Slack's mrkdwn reserves.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// escURL makes a URL safe inside <url|text>.
func escURL(s string) string {
	return strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(s)
}

// ---- Errors ----

// retryableSlackErrors are Web API errors (ok:false) worth another try.
var retryableSlackErrors = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// classify turns a library error into a permanent error or an alerting.RetryableError,
// with Slack's error text and without any secret. x is what the recording transport saw:
// the library's errors keep neither Slack's error text nor Retry-After in HTTP-date form.
func (n *Notifier) classify(op string, err error, x *notifyutil.Exchange) error {
	if err == nil {
		return nil
	}
	var rl *slackapi.RateLimitedError
	var se slackapi.SlackErrorResponse
	switch {
	case x.Err != nil:
		return alerting.Retryable(n.redact.Error(op, notifyutil.TransportError(err, n.api == nil)), 0)
	case x.Status == 0:
		// The request was never sent (it could not be built).
		return n.redact.Error(op, err)
	case x.Status == http.StatusTooManyRequests:
		after := notifyutil.RetryAfter(x.Header, n.now())
		if errors.As(err, &rl) && after == 0 {
			after = rl.RetryAfter
		}
		return alerting.Retryable(n.redact.Error(op, fmt.Errorf("rate limited (429)%s", notifyutil.BodyText(x.Body))), after)
	case x.Status >= 500:
		return alerting.Retryable(n.redact.Error(op, fmt.Errorf("server error %d%s", x.Status, notifyutil.BodyText(x.Body))), notifyutil.RetryAfter(x.Header, n.now()))
	case x.Status >= 300:
		return n.redact.Error(op, fmt.Errorf("rejected with %d%s", x.Status, notifyutil.BodyText(x.Body)))
	case errors.As(err, &se):
		e := fmt.Errorf("slack error %q%s", se.Err, metadata(se))
		if retryableSlackErrors[se.Err] {
			return alerting.Retryable(n.redact.Error(op, e), notifyutil.RetryAfter(x.Header, n.now()))
		}
		return n.redact.Error(op, e)
	}
	return n.redact.Error(op, err)
}

func metadata(se slackapi.SlackErrorResponse) string {
	msgs := slices.Concat(se.ResponseMetadata.Messages, se.ResponseMetadata.Warnings)
	if len(msgs) == 0 {
		return ""
	}
	return ": " + strings.Join(msgs, "; ")
}

func isRetryable(err error) bool {
	_, ok := alerting.IsRetryable(err)
	return ok
}
