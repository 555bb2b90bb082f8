// Package alerting routes vigil's alerts to people: Alertmanager's routing tree, grouping,
// silences and inhibition, with delivery that survives restarts and outages (a durable
// outbox and notification log, retries that honour Retry-After), and the integrations in
// its sub-packages (Slack, PagerDuty, webhook, Alertmanager forwarding).
package alerting

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Alert is one alert as the rules produce it. Labels identify it (alertname, model,
// feature, segment, severity and the rule's labels); the value lives in Annotations and
// Value, never in Labels.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"` // zero while firing
	GeneratorURL string            `json:"generatorURL,omitempty"`
	// Value is the signal's value at the last evaluation and Threshold what it was
	// compared with, for messages and PagerDuty custom_details.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
}

// Resolved reports whether the alert had ended at t.
func (a *Alert) Resolved(t time.Time) bool { return !a.EndsAt.IsZero() && !a.EndsAt.After(t) }

// Status is a message's or an alert's state as integrations name it.
type Status string

// The two statuses.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Message is what one integration of a receiver is asked to deliver: the current state of
// one alert group.
type Message struct {
	// Receiver is the receiver's name; GroupKey identifies the group stably across
	// restarts (route and group labels): PagerDuty's dedup_key derives from it.
	Receiver string
	GroupKey string
	// Status is firing while any alert of the group fires.
	Status            Status
	GroupLabels       map[string]string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	// Alerts holds the group's firing alerts and those resolved since the last message.
	Alerts []*Alert
	// ExternalURL is vigil's own URL, for links back.
	ExternalURL string
	// State is what this integration returned for the previous message of the same group
	// (nil for the first), e.g. a Slack channel and message ts so a resolve updates or
	// threads to the original. It is stored durably with the notification log.
	State map[string]string
	// Digest is true when the receiver's rate cap folded several groups into this one
	// message; Alerts then spans groups.
	Digest bool
	// Groups holds, for a digest, the folded groups' own messages (each with its own
	// GroupKey, Status, Alerts and State). An integration that keys state by group, as
	// PagerDuty's dedup_key does, acts per entry of Groups; one that shows text (Slack)
	// may render Alerts as one message. Nil unless Digest.
	Groups []*Message
}

// Firing returns the message's firing alerts at t.
func (m *Message) Firing(t time.Time) []*Alert {
	var out []*Alert
	for _, a := range m.Alerts {
		if !a.Resolved(t) {
			out = append(out, a)
		}
	}
	return out
}

// Notifier delivers messages for one integration (one entry of a receiver's
// slack_configs, pagerduty_configs, webhook_configs or alertmanager_configs). It returns
// the state to remember for the group's next message. An error that wraps a
// *RetryableError is retried (after its RetryAfter when set); any other error is
// permanent and the message is dropped with a log line and a failure count.
type Notifier interface {
	Notify(ctx context.Context, m *Message) (state map[string]string, err error)
}

// ResolvedSender is implemented by a Notifier whose config has send_resolved: it says
// whether the integration wants resolved alerts. Without it, resolved alerts are sent.
// When it returns false, resolved alerts are left out of messages and a message with
// nothing firing is not sent at all (it is still recorded in the notification log), as
// in Alertmanager.
type ResolvedSender interface {
	SendResolved() bool
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, m *Message) (map[string]string, error)

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, m *Message) (map[string]string, error) {
	return f(ctx, m)
}

// RetryableError marks a delivery failure worth retrying: a timeout, a 5xx, a 429. When
// the peer said when to come back (Retry-After), RetryAfter carries it.
type RetryableError struct {
	Err        error
	RetryAfter time.Duration
}

// Error implements error.
func (e *RetryableError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error, for errors.Is and errors.As.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable wraps err as retryable, with an optional delay the peer asked for.
func Retryable(err error, after time.Duration) error {
	return &RetryableError{Err: err, RetryAfter: after}
}

// IsRetryable reports whether err asks for a retry, and after how long (0: use backoff).
func IsRetryable(err error) (time.Duration, bool) {
	var re *RetryableError
	if errors.As(err, &re) {
		return re.RetryAfter, true
	}
	return 0, false
}
