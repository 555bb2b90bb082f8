package rules

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// Op compares a rule's value with its threshold.
type Op string

// The comparison operators.
const (
	OpLess         Op = "<"
	OpLessEqual    Op = "<="
	OpGreater      Op = ">"
	OpGreaterEqual Op = ">="
	OpEqual        Op = "=="
	OpNotEqual     Op = "!="
)

// compare reports whether v op t holds. NaN never holds.
func (o Op) compare(v, t float64) bool {
	switch o {
	case OpLess:
		return v < t
	case OpLessEqual:
		return v <= t
	case OpGreater:
		return v > t
	case OpGreaterEqual:
		return v >= t
	case OpEqual:
		return v == t
	case OpNotEqual:
		return v != t && !math.IsNaN(v)
	}
	return false
}

// NoData says what a rule does with a value it cannot judge: a value that is
// missing, NaN, or computed from fewer than min_samples samples.
type NoData string

// The no_data modes.
const (
	// NoDataKeep leaves the alert's state as it is and stops its `for` and
	// `keep_firing_for` clocks until data returns. It is the default.
	NoDataKeep NoData = "keep"
	// NoDataOK treats no data as the condition not holding: a pending alert
	// is dropped and a firing one resolves (after keep_firing_for).
	NoDataOK NoData = "ok"
	// NoDataAlert treats no data as the condition holding, so that a dead
	// feed pages after `for`.
	NoDataAlert NoData = "alert"
)

// The severities a rule may carry.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// The labels vigil sets on every alert; a rule's labels may not set them.
const (
	LabelAlertName = "alertname"
	LabelModel     = "model"
	LabelFeature   = "feature"
	LabelSegment   = "segment"
	LabelVersion   = "version"
	LabelSeverity  = "severity"
)

var reservedLabels = []string{LabelAlertName, LabelModel, LabelFeature, LabelSegment, LabelVersion, LabelSeverity}

// Duration is a config duration in Prometheus's notation: 30s, 5m, 1h, 3d, 1w, 1h30m.
type Duration = yamlconf.Duration

// Config is one rule as written in YAML, in a rule file's `rules:` list or in
// the `rules:` section of vigil's config. See the package documentation for
// the meaning of each field.
type Config struct {
	// Name is the rule's name and its alerts' alertname; required and unique.
	Name string `yaml:"name"`
	// Models are path.Match globs over model names; empty means every model.
	Models []string `yaml:"models,omitempty"`
	// Signal is the one statistic the rule compares; it excludes Expr.
	Signal string `yaml:"signal,omitempty"`
	// Expr is a CEL expression over signals; it excludes Signal.
	Expr string `yaml:"expr,omitempty"`
	// Feature, Segment and Version are globs over the value's feature,
	// segment and version; nil matches every value, "" only the values
	// without one (the model as a whole).
	Feature *string `yaml:"feature,omitempty"`
	Segment *string `yaml:"segment,omitempty"`
	Version *string `yaml:"version,omitempty"`
	// Op, Threshold and Clear: the condition holds when value Op Threshold,
	// and once active stays until the value is no longer Op Clear.
	Op        Op       `yaml:"op,omitempty"`
	Threshold *float64 `yaml:"threshold,omitempty"`
	Clear     *float64 `yaml:"clear,omitempty"`
	// For is how long the condition must hold before the alert fires.
	For Duration `yaml:"for,omitempty"`
	// KeepFiringFor keeps a firing alert firing this long after the condition stops holding.
	KeepFiringFor Duration `yaml:"keep_firing_for,omitempty"`
	// MinSamples is the fewest samples a windowed value needs to be judged.
	MinSamples int `yaml:"min_samples,omitempty"`
	// NoData is what a value that cannot be judged does: keep, ok or alert.
	NoData NoData `yaml:"no_data,omitempty"`
	// Severity is critical, warning (default) or info.
	Severity string `yaml:"severity,omitempty"`
	// Labels are added to every alert's labels; they are static.
	Labels map[string]string `yaml:"labels,omitempty"`
	// Annotations are text/template templates rendered for every alert.
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// DefaultConfig returns a rule's defaults for every field the YAML leaves out.
func DefaultConfig() Config {
	return Config{NoData: NoDataKeep, Severity: SeverityWarning}
}

// UnmarshalYAML sets the defaults before the rule's fields are read. It is
// func-style so that a decoder's KnownFields(true) reaches nested keys.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type plain Config
	return unmarshal((*plain)(c))
}

// File is a rule file: the same `rules:` list as in vigil's config.
type File struct {
	Rules []Config `yaml:"rules"`
}

// Error is a config error that names where in the file it is.
type Error = yamlconf.Error

func fieldErr(field, format string, args ...any) error {
	return yamlconf.FieldErr(field, format, args...)
}

// LoadFile reads, validates and compiles the rule file at path. Errors are
// *Error values naming the file and line.
func LoadFile(path string) ([]*Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rule file: %w", err)
	}
	rules, err := Load(data)
	if err != nil {
		if ce, ok := errors.AsType[*Error](err); ok {
			ce.File = path
		}
		return nil, err
	}
	return rules, nil
}

// maxFileBytes bounds a rule file; larger ones are refused before parsing.
const maxFileBytes = 8 << 20

// Load parses, validates and compiles a rule file's contents. Errors are
// *Error values naming the line.
func Load(data []byte) ([]*Rule, error) {
	if len(data) > maxFileBytes {
		return nil, &Error{Err: fmt.Errorf("the file is larger than %d bytes", maxFileBytes)}
	}
	var f File
	if err := yamlconf.DecodeStrict(data, &f); err != nil {
		return nil, err
	}
	rules, err := Compile(f.Rules)
	if err != nil {
		return nil, yamlconf.WithLine(err, data)
	}
	return rules, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)

// labelNameRE is Prometheus's label name syntax.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Compile validates rule configs and compiles them: signals, expressions and
// templates are checked here, so that nothing fails at evaluation. Errors
// are *Error values whose Field is a path such as "rules[2].clear" (the
// caller that holds the YAML turns it into a line).
func Compile(cfgs []Config) ([]*Rule, error) {
	rules := make([]*Rule, 0, len(cfgs))
	seen := make(map[string]int, len(cfgs))
	for i := range cfgs {
		at := fmt.Sprintf("rules[%d]", i)
		if j, dup := seen[cfgs[i].Name]; dup && cfgs[i].Name != "" {
			return nil, fieldErr(at+".name", "rule %q is already defined by rules[%d]", cfgs[i].Name, j)
		}
		seen[cfgs[i].Name] = i
		r, err := compile(cfgs[i], at)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// NewRule validates and compiles one rule config.
func NewRule(cfg Config) (*Rule, error) { return compile(cfg, "") }

func join(at, field string) string {
	if at == "" {
		return field
	}
	return at + "." + field
}

// validate checks the fields that need no compilation and fills defaults
// that the YAML decoder did not (for configs built in Go).
func (c *Config) validate(at string) error {
	if c.NoData == "" {
		c.NoData = NoDataKeep
	}
	if c.Severity == "" {
		c.Severity = SeverityWarning
	}
	switch {
	case c.Name == "":
		return fieldErr(join(at, "name"), "a rule needs a name")
	case !nameRE.MatchString(c.Name):
		return fieldErr(join(at, "name"), "%q is not a valid rule name (letters, digits, _ . : -; not starting with a digit)", c.Name)
	}
	for i, g := range c.Models {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			return fieldErr(fmt.Sprintf("%s[%d]", join(at, "models"), i), "%q is not a valid glob", g)
		}
	}
	for _, f := range []struct {
		name string
		glob *string
	}{{"feature", c.Feature}, {"segment", c.Segment}, {"version", c.Version}} {
		if f.glob == nil {
			continue
		}
		if _, err := path.Match(*f.glob, ""); err != nil {
			return fieldErr(join(at, f.name), "%q is not a valid glob", *f.glob)
		}
	}
	switch c.NoData {
	case NoDataKeep, NoDataOK, NoDataAlert:
	default:
		return fieldErr(join(at, "no_data"), "must be keep, ok or alert, not %q", c.NoData)
	}
	switch c.Severity {
	case SeverityCritical, SeverityWarning, SeverityInfo:
	default:
		return fieldErr(join(at, "severity"), "must be critical, warning or info, not %q", c.Severity)
	}
	if c.MinSamples < 0 {
		return fieldErr(join(at, "min_samples"), "must not be negative")
	}
	if c.For < 0 || c.KeepFiringFor < 0 {
		return fieldErr(join(at, "for"), "durations must not be negative")
	}
	for _, k := range sortedKeys(c.Labels) {
		v := c.Labels[k]
		switch {
		case !labelNameRE.MatchString(k):
			return fieldErr(join(at, "labels."+k), "%q is not a valid label name", k)
		case isReserved(k):
			return fieldErr(join(at, "labels."+k), "label %q is set by vigil (use severity: for the severity)", k)
		case strings.Contains(v, "{{"):
			return fieldErr(join(at, "labels."+k), "labels are an alert's identity and are static: put templates (and the value) in annotations")
		}
	}
	for _, k := range sortedKeys(c.Annotations) {
		if !labelNameRE.MatchString(k) {
			return fieldErr(join(at, "annotations."+k), "%q is not a valid annotation name", k)
		}
	}
	return c.validateCondition(at)
}

// validateCondition checks op, threshold and clear. Expression rules are
// checked further once their output type is known.
func (c *Config) validateCondition(at string) error {
	switch {
	case c.Signal == "" && c.Expr == "":
		return fieldErr(join(at, "signal"), "a rule needs a signal or an expr")
	case c.Signal != "" && c.Expr != "":
		return fieldErr(join(at, "expr"), "a rule has a signal or an expr, not both")
	case c.Signal != "":
		if _, err := ParseSignal(c.Signal); err != nil {
			return fieldErr(join(at, "signal"), "%w", err)
		}
	}
	if c.Expr != "" && c.Op == "" && c.Threshold == nil && c.Clear == nil {
		return nil // a boolean expression; checked when compiled
	}
	switch c.Op {
	case OpLess, OpLessEqual, OpGreater, OpGreaterEqual, OpEqual, OpNotEqual:
	case "":
		return fieldErr(join(at, "op"), "a threshold rule needs an op (<, <=, >, >=, ==, !=)")
	default:
		return fieldErr(join(at, "op"), "must be one of <, <=, >, >=, ==, !=, not %q", c.Op)
	}
	if c.Threshold == nil {
		return fieldErr(join(at, "threshold"), "a threshold rule needs a threshold")
	}
	t := *c.Threshold
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return fieldErr(join(at, "threshold"), "must be a finite number")
	}
	if c.Clear == nil {
		return nil
	}
	cl := *c.Clear
	switch {
	case math.IsNaN(cl) || math.IsInf(cl, 0):
		return fieldErr(join(at, "clear"), "must be a finite number")
	case c.Op == OpEqual || c.Op == OpNotEqual:
		return fieldErr(join(at, "clear"), "clear needs an ordering op (<, <=, >, >=), not %s", c.Op)
	case (c.Op == OpLess || c.Op == OpLessEqual) && cl < t:
		return fieldErr(join(at, "clear"), "with op %s the alert resolves above the threshold: clear (%g) must be >= threshold (%g)", c.Op, cl, t)
	case (c.Op == OpGreater || c.Op == OpGreaterEqual) && cl > t:
		return fieldErr(join(at, "clear"), "with op %s the alert resolves below the threshold: clear (%g) must be <= threshold (%g)", c.Op, cl, t)
	}
	return nil
}

func isReserved(label string) bool {
	for _, r := range reservedLabels {
		if label == r {
			return true
		}
	}
	return false
}
