package alerting

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Defaults of the root route, as in Alertmanager; child routes inherit their parent's.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// Integration kinds: a receiver's <kind>_configs lists. The builder passed to
// ApplyConfig is asked for one Notifier per entry, by kind.
const (
	KindSlack        = "slack"
	KindPagerDuty    = "pagerduty"
	KindWebhook      = "webhook"
	KindAlertmanager = "alertmanager"
	KindConsole      = "console"
)

// Config is vigil's alerting section: Alertmanager's route, receivers, inhibit_rules
// and time_intervals, with Alertmanager's field names and meaning. It is usually
// inlined in vigil's root config; LoadConfig reads it on its own.
//
// Differences from Alertmanager: receivers take vigil's integrations (slack_configs,
// pagerduty_configs, webhook_configs, alertmanager_configs, console_configs) and the
// extension max_notifications_per_minute; routes have no `labels`; the top-level
// `mute_time_intervals` (deprecated in Alertmanager) is not read, use time_intervals.
type Config struct {
	Route         *Route         `yaml:"route,omitempty"`
	Receivers     []Receiver     `yaml:"receivers,omitempty"`
	InhibitRules  []InhibitRule  `yaml:"inhibit_rules,omitempty"`
	TimeIntervals []TimeInterval `yaml:"time_intervals,omitempty"`
}

// Route is one node of the routing tree. An alert enters at the root and descends
// depth-first into the first child whose matchers match (and into later siblings too
// while the matched child has continue: true); the deepest matching nodes take it.
// Unset fields inherit the parent's value (receiver, group_by, the three intervals);
// mute_time_intervals and active_time_intervals are not inherited, as in Alertmanager.
type Route struct {
	Receiver string `yaml:"receiver,omitempty"`
	// GroupBy lists the labels alerts are grouped by; ['...'] groups by all labels, and
	// an explicit [] puts every alert of the route in one group.
	GroupBy  []string `yaml:"group_by,omitempty"`
	Matchers Matchers `yaml:"matchers,omitempty"`
	// Match and MatchRE are Alertmanager's deprecated equality and regex matchers,
	// accepted so that existing routing trees carry over.
	Match               map[string]string `yaml:"match,omitempty"`
	MatchRE             map[string]string `yaml:"match_re,omitempty"`
	Continue            bool              `yaml:"continue,omitempty"`
	GroupWait           *Duration         `yaml:"group_wait,omitempty"`
	GroupInterval       *Duration         `yaml:"group_interval,omitempty"`
	RepeatInterval      *Duration         `yaml:"repeat_interval,omitempty"`
	MuteTimeIntervals   []string          `yaml:"mute_time_intervals,omitempty"`
	ActiveTimeIntervals []string          `yaml:"active_time_intervals,omitempty"`
	Routes              []*Route          `yaml:"routes,omitempty"`
}

// Receiver names a set of integrations that a route sends to.
type Receiver struct {
	Name string `yaml:"name"`
	// MaxNotificationsPerMinute caps the messages sent to this receiver (vigil's
	// extension, 0 = no cap): past it within a minute, further groups are held and
	// folded into one digest message (Message.Digest) sent when the minute ends.
	MaxNotificationsPerMinute int `yaml:"max_notifications_per_minute,omitempty"`
	// Integrations holds the entries of the receiver's <kind>_configs lists, kept raw:
	// the integration decodes its own config strictly (IntegrationConfig.Decode).
	Integrations []IntegrationConfig `yaml:"-"`
}

// receiverKinds lists the integration kinds in the order a receiver's entries are built.
var receiverKinds = []string{KindSlack, KindPagerDuty, KindWebhook, KindAlertmanager, KindConsole}

// UnmarshalYAML reads a receiver (func style, so unknown fields stay errors) and keeps
// each integration entry as a YAML node for its integration to decode.
func (r *Receiver) UnmarshalYAML(unmarshal func(any) error) error {
	var raw struct {
		Name                      string      `yaml:"name"`
		MaxNotificationsPerMinute int         `yaml:"max_notifications_per_minute"`
		Slack                     []yaml.Node `yaml:"slack_configs"`
		PagerDuty                 []yaml.Node `yaml:"pagerduty_configs"`
		Webhook                   []yaml.Node `yaml:"webhook_configs"`
		Alertmanager              []yaml.Node `yaml:"alertmanager_configs"`
		Console                   []yaml.Node `yaml:"console_configs"`
	}
	if err := unmarshal(&raw); err != nil {
		return err
	}
	*r = Receiver{Name: raw.Name, MaxNotificationsPerMinute: raw.MaxNotificationsPerMinute}
	lists := [][]yaml.Node{raw.Slack, raw.PagerDuty, raw.Webhook, raw.Alertmanager, raw.Console}
	for k, list := range lists {
		for i := range list {
			n := &list[i]
			if n.Kind != yaml.MappingNode {
				return fmt.Errorf("line %d: each entry of %s_configs must be a mapping", n.Line, receiverKinds[k])
			}
			r.Integrations = append(r.Integrations, IntegrationConfig{Kind: receiverKinds[k], Index: i, node: n})
		}
	}
	return nil
}

// IntegrationConfig is one entry of a receiver's <kind>_configs list, undecoded.
type IntegrationConfig struct {
	// Kind is the integration kind (KindSlack, ...); Index the entry's position in its list.
	Kind  string
	Index int
	node  *yaml.Node
}

// NewIntegrationConfig builds an entry from a Go value (a config struct or a map), for
// configs assembled in code: the demo, tests.
func NewIntegrationConfig(kind string, v any) (IntegrationConfig, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return IntegrationConfig{}, fmt.Errorf("%s config: %w", kind, err)
	}
	if n.Kind != yaml.MappingNode {
		return IntegrationConfig{}, fmt.Errorf("%s config must encode to a mapping", kind)
	}
	return IntegrationConfig{Kind: kind, node: &n}, nil
}

// Line is the entry's line in the config file (0 when built in code).
func (c IntegrationConfig) Line() int {
	if c.node == nil {
		return 0
	}
	return c.node.Line
}

// maxExpandedNodes bounds the YAML nodes an entry may expand to through aliases.
const maxExpandedNodes = 100000

// Decode decodes the entry into v strictly: a field v does not have is an error, as
// everywhere in vigil's config, and errors name the line in the original file. v may
// implement yaml's func-style Unmarshaler to set defaults. (Decoding a yaml.Node with
// node.Decode would silently drop unknown fields, go-yaml/yaml#460; Decode re-reads the
// entry through a strict decoder instead.)
func (c IntegrationConfig) Decode(v any) error {
	if c.node == nil {
		return errors.New("empty integration config")
	}
	budget := maxExpandedNodes
	n, err := expandAliases(c.node, &budget)
	if err != nil {
		return err
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Errorf("line %d: %w", c.node.Line, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err = dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var re yaml.Node
	if yaml.Unmarshal(b, &re) != nil || len(re.Content) == 0 {
		return err
	}
	lines := map[int]int{}
	mapLines(n, re.Content[0], lines)
	fix := func(s string) string {
		return lineRE.ReplaceAllStringFunc(s, func(m string) string {
			k, _ := strconv.Atoi(m[len("line "):])
			if orig, ok := lines[k]; ok {
				return "line " + strconv.Itoa(orig)
			}
			return m
		})
	}
	return flatYAMLError(err, fix)
}

// flatYAMLError turns the YAML library's error into one line per problem, joined by
// "; ", with lines remapped by fix and Go type names removed.
func flatYAMLError(err error, fix func(string) string) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = cleanTypeNames(fix(e))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return errors.New(cleanTypeNames(fix(strings.TrimPrefix(err.Error(), "yaml: "))))
}

var lineRE = regexp.MustCompile(`line \d+`)

// typeNameRE finds the Go type names yaml puts in its errors ("in type slack.Config").
var typeNameRE = regexp.MustCompile(`in type [\w.*]+`)

// cleanTypeNames removes Go type names a user cannot act on from YAML errors.
func cleanTypeNames(s string) string { return typeNameRE.ReplaceAllString(s, "here") }

// expandAliases copies n with aliases replaced by what they point at, so that an entry
// re-encoded on its own keeps the values of anchors defined elsewhere in the file.
func expandAliases(n *yaml.Node, budget *int) (*yaml.Node, error) {
	*budget--
	if *budget < 0 {
		return nil, fmt.Errorf("line %d: the integration config expands to too many nodes through aliases", n.Line)
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		c, err := expandAliases(n.Alias, budget)
		if err != nil {
			return nil, err
		}
		c.Line, c.Column = n.Line, n.Column
		return c, nil
	}
	c := *n
	c.Anchor = ""
	c.Content = nil
	for _, ch := range n.Content {
		e, err := expandAliases(ch, budget)
		if err != nil {
			return nil, err
		}
		c.Content = append(c.Content, e)
	}
	return &c, nil
}

// mapLines walks the original and the re-read tree together and records, for each line
// of the re-read one, the original line.
func mapLines(orig, re *yaml.Node, lines map[int]int) {
	if _, ok := lines[re.Line]; !ok {
		lines[re.Line] = orig.Line
	}
	for i := 0; i < len(orig.Content) && i < len(re.Content); i++ {
		mapLines(orig.Content[i], re.Content[i], lines)
	}
}

// InhibitRule mutes target alerts while a source alert fires whose labels listed in
// Equal have the same values (a label missing on both sides counts as equal), as in
// Alertmanager. An alert matching both sides is not inhibited by alerts that also do.
type InhibitRule struct {
	SourceMatchers Matchers `yaml:"source_matchers,omitempty"`
	TargetMatchers Matchers `yaml:"target_matchers,omitempty"`
	// The deprecated Alertmanager forms, accepted so that existing rules carry over.
	SourceMatch   map[string]string `yaml:"source_match,omitempty"`
	SourceMatchRE map[string]string `yaml:"source_match_re,omitempty"`
	TargetMatch   map[string]string `yaml:"target_match,omitempty"`
	TargetMatchRE map[string]string `yaml:"target_match_re,omitempty"`
	Equal         []string          `yaml:"equal,omitempty"`
}

// Matchers is a list of Alertmanager matchers, written as strings:
// ['severity="critical"', 'model=~"fraud.*"', 'team!=ml', 'env!~"dev|test"'].
// One string may hold several, comma separated ('{a="1", b="2"}').
type Matchers labels.Matchers

// UnmarshalYAML parses the matchers. A list of strings has no fields to lose, so taking
// the node here keeps strictness and gives the line of a bad matcher.
func (m *Matchers) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: matchers must be a list of strings such as 'severity=\"critical\"'", node.Line)
	}
	var out Matchers
	for _, n := range node.Content {
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: a matcher must be a string such as 'severity=\"critical\"'", n.Line)
		}
		ms, err := ParseMatchers(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		out = append(out, ms...)
	}
	*m = out
	return nil
}

// MarshalYAML writes the matchers as strings.
func (m Matchers) MarshalYAML() (any, error) {
	out := make([]string, len(m))
	for i, x := range m {
		out[i] = x.String()
	}
	return out, nil
}

// ParseMatchers parses Alertmanager matcher syntax: one matcher (`severity="critical"`,
// `model=~"fraud.*"`, `team!=ml`), or several comma separated, optionally in braces.
// It tries Alertmanager's current (UTF-8) parser, then the classic one, as Alertmanager
// does by default.
func ParseMatchers(s string) (labels.Matchers, error) {
	if strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "{}")) == "" {
		return nil, errors.New("empty matcher")
	}
	ms, err := parseUTF8Matchers(s)
	if err == nil {
		return ms, nil
	}
	classic, cerr := labels.ParseMatchers(s)
	if cerr != nil {
		return nil, fmt.Errorf("bad matcher %q: %w", s, err)
	}
	return classic, nil
}

// Duration is a config duration in Prometheus's notation: 30s, 5m, 4h, 1d, 1h30m.
type Duration time.Duration

// UnmarshalYAML parses a duration and names the line of a bad one (a scalar has no
// fields, so taking the node here loses no strictness).
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a string such as 30s, 5m or 4h", node.Line)
	}
	v, err := model.ParseDuration(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (write e.g. 30s, 5m, 4h): %w", node.Line, node.Value, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in the notation it is read in.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats the duration as Prometheus does (1h30m, 1d).
func (d Duration) String() string { return model.Duration(d).String() }

// FieldError is a config error tied to a field, by its dotted path from the alerting
// section's root ("route.routes[1].receiver") and, when known, its line.
type FieldError struct {
	Field string
	Line  int
	Err   error
}

// Error implements error: "line 12: route.routes[1].receiver: receiver "x" is not declared".
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// LoadConfig reads an alerting section on its own (route, receivers, inhibit_rules,
// time_intervals at the top) strictly and validates it. Errors name the line.
// Integration configs are decoded later, by the builder given to ApplyConfig or
// BuildReceivers.
func LoadConfig(data []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, flatYAMLError(err, func(s string) string { return s })
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document")
	}
	if err := cfg.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && fe.Line == 0 {
			var root yaml.Node
			if yaml.Unmarshal(data, &root) == nil {
				fe.Line = LineOf(&root, fe.Field)
			}
		}
		return nil, err
	}
	return &cfg, nil
}

// LineOf finds the line of a dotted field path such as "route.routes[1].receiver" in a
// YAML tree; it returns the line of the deepest part it finds, or 0.
func LineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for part := range strings.SplitSeq(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		var k, v *yaml.Node
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					k, v = n.Content[i], n.Content[i+1]
					break
				}
			}
		}
		if k == nil {
			return line
		}
		line, n = k.Line, v
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// Validate checks the section: a root route with a receiver and no matchers, every
// receiver and time interval a route names exists, names are unique, intervals are
// positive (group_wait may be 0), group_by is well formed. It leaves the config as is.
func (c *Config) Validate() error {
	receivers := map[string]bool{}
	for i, r := range c.Receivers {
		at := fmt.Sprintf("receivers[%d]", i)
		switch {
		case r.Name == "":
			return fieldErr(at+".name", "is required")
		case receivers[r.Name]:
			return fieldErr(at+".name", "receiver %q is declared twice", r.Name)
		case r.MaxNotificationsPerMinute < 0:
			return fieldErr(at+".max_notifications_per_minute", "must not be negative")
		}
		receivers[r.Name] = true
	}
	intervals := map[string]bool{}
	for i, ti := range c.TimeIntervals {
		at := fmt.Sprintf("time_intervals[%d]", i)
		switch {
		case ti.Name == "":
			return fieldErr(at+".name", "is required")
		case intervals[ti.Name]:
			return fieldErr(at+".name", "time interval %q is declared twice", ti.Name)
		}
		intervals[ti.Name] = true
	}
	for i, ir := range c.InhibitRules {
		at := fmt.Sprintf("inhibit_rules[%d]", i)
		if _, _, err := ir.matchers(); err != nil {
			return fieldErr(at, "%w", err)
		}
		for j, l := range ir.Equal {
			if l == "" {
				return fieldErr(fmt.Sprintf("%s.equal[%d]", at, j), "a label name must not be empty")
			}
		}
	}
	r := c.Route
	if r == nil {
		if len(c.Receivers) > 0 {
			return fieldErr("route", "is required when receivers are declared")
		}
		return nil
	}
	switch {
	case r.Receiver == "":
		return fieldErr("route.receiver", "the root route must name a default receiver")
	case len(r.Matchers) > 0 || len(r.Match) > 0 || len(r.MatchRE) > 0:
		return fieldErr("route.matchers", "the root route must not have matchers: it takes every alert")
	case r.Continue:
		return fieldErr("route.continue", "the root route cannot continue")
	case len(r.MuteTimeIntervals) > 0:
		return fieldErr("route.mute_time_intervals", "the root route must not have mute time intervals")
	case len(r.ActiveTimeIntervals) > 0:
		return fieldErr("route.active_time_intervals", "the root route must not have active time intervals")
	}
	return r.validate("route", receivers, intervals, 0)
}

// maxRouteDepth bounds the routing tree's depth.
const maxRouteDepth = 64

func (r *Route) validate(at string, receivers, intervals map[string]bool, depth int) error {
	if depth > maxRouteDepth {
		return fieldErr(at, "routes nest deeper than %d levels", maxRouteDepth)
	}
	if r.Receiver != "" && !receivers[r.Receiver] {
		return fieldErr(at+".receiver", "receiver %q is not declared", r.Receiver)
	}
	if r.GroupBy != nil {
		seen := map[string]bool{}
		for i, l := range r.GroupBy {
			f := fmt.Sprintf("%s.group_by[%d]", at, i)
			switch {
			case l == "":
				return fieldErr(f, "a label name must not be empty")
			case l == "..." && len(r.GroupBy) > 1:
				return fieldErr(at+".group_by", "'...' groups by all labels and cannot be combined with other labels")
			case seen[l]:
				return fieldErr(f, "label %q is listed twice", l)
			}
			seen[l] = true
		}
	}
	if _, err := r.matchers(); err != nil {
		return fieldErr(at+".match_re", "%w", err)
	}
	if r.GroupWait != nil && *r.GroupWait < 0 {
		return fieldErr(at+".group_wait", "must not be negative")
	}
	if r.GroupInterval != nil && *r.GroupInterval <= 0 {
		return fieldErr(at+".group_interval", "must be positive")
	}
	if r.RepeatInterval != nil && *r.RepeatInterval <= 0 {
		return fieldErr(at+".repeat_interval", "must be positive")
	}
	for i, n := range r.MuteTimeIntervals {
		if !intervals[n] {
			return fieldErr(fmt.Sprintf("%s.mute_time_intervals[%d]", at, i), "time interval %q is not declared", n)
		}
	}
	for i, n := range r.ActiveTimeIntervals {
		if !intervals[n] {
			return fieldErr(fmt.Sprintf("%s.active_time_intervals[%d]", at, i), "time interval %q is not declared", n)
		}
	}
	for i, ch := range r.Routes {
		if ch == nil {
			return fieldErr(fmt.Sprintf("%s.routes[%d]", at, i), "is empty")
		}
		if err := ch.validate(fmt.Sprintf("%s.routes[%d]", at, i), receivers, intervals, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// matchers returns all of the route's matchers (matchers, match, match_re), sorted.
func (r *Route) matchers() (labels.Matchers, error) {
	ms, err := mergeMatchers(r.Matchers, r.Match, r.MatchRE)
	return ms, err
}

func (ir *InhibitRule) matchers() (source, target labels.Matchers, err error) {
	if source, err = mergeMatchers(ir.SourceMatchers, ir.SourceMatch, ir.SourceMatchRE); err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	if target, err = mergeMatchers(ir.TargetMatchers, ir.TargetMatch, ir.TargetMatchRE); err != nil {
		return nil, nil, fmt.Errorf("target: %w", err)
	}
	return source, target, nil
}

func mergeMatchers(ms Matchers, eq, re map[string]string) (labels.Matchers, error) {
	out := slices.Clone(labels.Matchers(ms))
	for _, n := range sortedKeys(eq) {
		m, err := labels.NewMatcher(labels.MatchEqual, n, eq[n])
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	for _, n := range sortedKeys(re) {
		m, err := labels.NewMatcher(labels.MatchRegexp, n, re[n])
		if err != nil {
			return nil, fmt.Errorf("regex for %s: %w", n, err)
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b *labels.Matcher) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := int(a.Type) - int(b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
