package rules

import (
	"fmt"
	"math"
	"time"
)

// State is where an alert is in its life: inactive → pending → firing →
// inactive (resolved).
type State int

// The alert states. The order matters: a higher state is more severe.
const (
	// StateInactive is an alert whose condition does not hold. An alert in
	// this state with a ResolvedAt was firing and is kept for
	// [ResolvedRetention] so that its resolution is sent again.
	StateInactive State = iota
	// StatePending is an alert whose condition holds for less than `for`.
	StatePending
	// StateFiring is an alert whose condition has held for `for`.
	StateFiring
)

// ResolvedRetention is how long a resolved alert is kept, and returned by
// Eval, after it resolves, so that a lost notification is sent again (as
// Prometheus does).
const ResolvedRetention = 15 * time.Minute

// String returns "inactive", "pending" or "firing".
func (s State) String() string {
	switch s {
	case StateInactive:
		return "inactive"
	case StatePending:
		return "pending"
	case StateFiring:
		return "firing"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) {
	if s < StateInactive || s > StateFiring {
		return nil, fmt.Errorf("unknown alert state %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	switch string(b) {
	case "inactive":
		*s = StateInactive
	case "pending":
		*s = StatePending
	case "firing":
		*s = StateFiring
	default:
		return fmt.Errorf("unknown alert state %q", b)
	}
	return nil
}

// Alert is one alert: the state of a rule for one (model, feature,
// segment, version). Alerts returned by the [Manager] are copies; their
// Labels, Annotations and Values maps are shared and must not be modified.
type Alert struct {
	// Rule is the rule's name, also the alertname label.
	Rule string
	// Model, Feature, Segment and Version identify the alert within the
	// rule; all but Model may be empty.
	Model, Feature, Segment, Version string
	// Severity is the rule's severity, also the severity label.
	Severity string
	// State is inactive (resolved), pending or firing.
	State State
	// Labels identify the alert: alertname, model, feature, segment and
	// version when not empty, severity and the rule's labels. The value is
	// never a label.
	Labels map[string]string
	// Annotations are the rule's annotations, rendered.
	Annotations map[string]string
	// Value is the last value judged (1 or 0 for a boolean expr), NaN if
	// none was ever judged.
	Value float64
	// Values holds each signal's last judged value by name.
	Values map[string]float64
	// Samples is the sample count behind the last evaluation's value.
	Samples int
	// NoData is true when the last evaluation had no value to judge
	// (missing, NaN or below min_samples).
	NoData bool
	// WholeModel is true for a no_data: alert alert standing for a model
	// with no value at all; it resolves when any value returns.
	WholeModel bool
	// ActiveAt is when the alert became pending; FiredAt when it fired;
	// ResolvedAt when it resolved (zero while pending or firing).
	ActiveAt, FiredAt, ResolvedAt time.Time
	// KeepFiringSince is when the condition stopped holding while
	// keep_firing_for keeps the alert firing; zero otherwise.
	KeepFiringSince time.Time
	// LastEvalAt is the time of the last evaluation.
	LastEvalAt time.Time
}

// Resolved reports whether the alert fired and has since resolved.
func (a *Alert) Resolved() bool { return a.State == StateInactive && !a.ResolvedAt.IsZero() }

// Snapshot is the persisted state of one alert, JSON-friendly, as
// [Manager.State] returns it and [Manager.Restore] takes it back. Held and
// KeptFor are the time the condition has held while pending and the time
// keep_firing_for has run; with LastEvalAt and LastVerdict they let a
// restarted vigil continue every clock where it stopped.
type Snapshot struct {
	Rule            string        `json:"rule"`
	Model           string        `json:"model"`
	Feature         string        `json:"feature,omitempty"`
	Segment         string        `json:"segment,omitempty"`
	Version         string        `json:"version,omitempty"`
	State           State         `json:"state"`
	Value           *float64      `json:"value,omitempty"`
	Samples         int           `json:"samples,omitempty"`
	NoData          bool          `json:"no_data,omitempty"`
	WholeModel      bool          `json:"whole_model,omitempty"`
	ActiveAt        time.Time     `json:"active_at,omitzero"`
	FiredAt         time.Time     `json:"fired_at,omitzero"`
	ResolvedAt      time.Time     `json:"resolved_at,omitzero"`
	KeepFiringSince time.Time     `json:"keep_firing_since,omitzero"`
	LastEvalAt      time.Time     `json:"last_eval_at,omitzero"`
	LastVerdict     bool          `json:"last_verdict,omitempty"`
	Held            time.Duration `json:"held_ns,omitempty"`
	KeptFor         time.Duration `json:"kept_for_ns,omitempty"`
}

// finite returns &v for a finite v, nil otherwise (JSON has no NaN).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
