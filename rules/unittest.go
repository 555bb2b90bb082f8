package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// Summary is what CheckFile found in a valid rule file.
type Summary struct {
	// Rules is the number of rules; Names their names in file order.
	Rules int
	Names []string
}

// String reads as promtool's check output: "SUCCESS: 3 rules found".
func (s Summary) String() string {
	if s.Rules == 1 {
		return "SUCCESS: 1 rule found"
	}
	return fmt.Sprintf("SUCCESS: %d rules found", s.Rules)
}

// CheckFile validates a rule file as vigil would load it, for `vigil check
// rules FILE`. Errors are *Error values naming the file and line.
func CheckFile(path string) (Summary, error) {
	rules, err := LoadFile(path)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Rules: len(rules)}
	for _, r := range rules {
		s.Names = append(s.Names, r.Name())
	}
	return s, nil
}

// testFile is the file `vigil test rules` reads, in promtool's spirit.
type testFile struct {
	RuleFiles          []string    `yaml:"rule_files"`
	EvaluationInterval Duration    `yaml:"evaluation_interval"`
	Tests              []testGroup `yaml:"tests"`
}

// UnmarshalYAML sets the defaults before the file's fields are read.
func (f *testFile) UnmarshalYAML(unmarshal func(any) error) error {
	*f = testFile{EvaluationInterval: Duration(time.Minute)}
	type plain testFile
	return unmarshal((*plain)(f))
}

type testGroup struct {
	Name          string          `yaml:"name"`
	Interval      Duration        `yaml:"interval"`
	InputSeries   []inputSeries   `yaml:"input_series"`
	AlertRuleTest []alertTestCase `yaml:"alert_rule_test"`
}

type inputSeries struct {
	Model   string `yaml:"model"`
	Signal  string `yaml:"signal"`
	Feature string `yaml:"feature"`
	Segment string `yaml:"segment"`
	Version string `yaml:"version"`
	// Samples is a count for every value, or a series of counts in the
	// same notation as Values; omitted, every value has enough samples.
	Samples scalar `yaml:"samples"`
	Values  string `yaml:"values"`
}

type alertTestCase struct {
	EvalTime  Duration   `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []expAlert `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// scalar is a YAML scalar kept as its text: a number or a string.
type scalar struct {
	set  bool
	text string
}

// UnmarshalYAML takes any scalar. A scalar has no fields, so taking the
// node here loses no strictness.
func (s *scalar) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a number or a series such as \"1000x10 20\"", node.Line)
	}
	*s = scalar{set: true, text: node.Value}
	return nil
}

// series is an input series ready to replay.
type series struct {
	model, signal             string
	feature, segment, version string
	values                    []point
	samples                   []int // nil: always enough
}

// RunTests runs the unit tests in the test file at path, for `vigil test
// rules FILE`, writing promtool-style results to w. ok is false when a test
// failed; err is for a file that cannot be read or is invalid (then
// nothing ran).
func RunTests(path string, w io.Writer) (ok bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("read test file: %w", err)
	}
	tf, rules, err := loadTests(path, data)
	if err != nil {
		if ce, ok := errors.AsType[*Error](err); ok && ce.File == "" {
			ce.File = path
		}
		return false, err
	}
	inputs := make([][]series, len(tf.Tests))
	for gi := range tf.Tests {
		if inputs[gi], err = tf.Tests[gi].build(fmt.Sprintf("tests[%d]", gi)); err != nil {
			return false, withFile(yamlconf.WithLine(err, data), path)
		}
	}
	fmt.Fprintf(w, "Unit Testing: %s\n", path)
	var failures []string
	for gi := range tf.Tests {
		failures = append(failures, tf.Tests[gi].run(rules, inputs[gi], tf.EvaluationInterval.Std())...)
	}
	if len(failures) > 0 {
		fmt.Fprintln(w, "  FAILED:")
		for _, f := range failures {
			fmt.Fprint(w, f)
		}
		return false, nil
	}
	fmt.Fprintln(w, "  SUCCESS")
	return true, nil
}

func withFile(err error, path string) error {
	if ce, ok := errors.AsType[*Error](err); ok && ce.File == "" {
		ce.File = path
	}
	return err
}

// loadTests decodes a test file and loads its rule files (globs, relative to
// the test file).
func loadTests(path string, data []byte) (*testFile, []*Rule, error) {
	tf := testFile{EvaluationInterval: Duration(time.Minute)}
	if err := yamlconf.DecodeStrict(data, &tf); err != nil {
		return nil, nil, err
	}
	if tf.EvaluationInterval <= 0 {
		return nil, nil, yamlconf.WithLine(fieldErr("evaluation_interval", "must be positive"), data)
	}
	if len(tf.RuleFiles) == 0 {
		return nil, nil, yamlconf.WithLine(fieldErr("rule_files", "name at least one rule file"), data)
	}
	dir := filepath.Dir(path)
	var rules []*Rule
	from := map[string]string{}
	for i, pattern := range tf.RuleFiles {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(dir, pattern)
		}
		files, err := filepath.Glob(pattern)
		if err == nil && len(files) == 0 {
			err = errors.New("no such file")
		}
		if err != nil {
			return nil, nil, yamlconf.WithLine(fieldErr(fmt.Sprintf("rule_files[%d]", i), "%s: %w", tf.RuleFiles[i], err), data)
		}
		for _, f := range files {
			loaded, err := LoadFile(f)
			if err != nil {
				return nil, nil, err
			}
			for _, r := range loaded {
				if other, dup := from[r.Name()]; dup {
					return nil, nil, &Error{File: f, Err: fmt.Errorf("rule %q is already defined in %s", r.Name(), other)}
				}
				from[r.Name()] = f
				rules = append(rules, r)
			}
		}
	}
	for gi := range tf.Tests {
		if tf.Tests[gi].Interval == 0 {
			tf.Tests[gi].Interval = tf.EvaluationInterval
		}
	}
	return &tf, rules, nil
}

// build validates a test group and expands its series.
func (g *testGroup) build(at string) ([]series, error) {
	if g.Interval < 0 {
		return nil, fieldErr(at+".interval", "must be positive")
	}
	out := make([]series, 0, len(g.InputSeries))
	for i, s := range g.InputSeries {
		sat := fmt.Sprintf("%s.input_series[%d]", at, i)
		if s.Model == "" {
			return nil, fieldErr(sat, "a series needs a model")
		}
		if _, err := ParseSignal(s.Signal); err != nil {
			return nil, fieldErr(sat+".signal", "%w", err)
		}
		vals, err := parseSeries(s.Values)
		if err != nil {
			return nil, fieldErr(sat+".values", "%w", err)
		}
		se := series{model: s.Model, signal: s.Signal, feature: s.Feature, segment: s.Segment, version: s.Version, values: vals}
		if s.Samples.set {
			pts, err := parseSeries(s.Samples.text)
			if err != nil {
				return nil, fieldErr(sat+".samples", "%w", err)
			}
			if len(pts) == 0 {
				return nil, fieldErr(sat+".samples", "give a count or a series of counts")
			}
			for _, p := range pts {
				n := 0
				if p.ok {
					if p.v < 0 || p.v != math.Trunc(p.v) || p.v > math.MaxInt32 {
						return nil, fieldErr(sat+".samples", "%g is not a sample count", p.v)
					}
					n = int(p.v)
				}
				se.samples = append(se.samples, n)
			}
		}
		out = append(out, se)
	}
	for i, tc := range g.AlertRuleTest {
		if tc.EvalTime < 0 {
			return nil, fieldErr(fmt.Sprintf("%s.alert_rule_test[%d].eval_time", at, i), "must not be negative")
		}
		if tc.Alertname == "" {
			return nil, fieldErr(fmt.Sprintf("%s.alert_rule_test[%d]", at, i), "a test case needs an alertname")
		}
	}
	return out, nil
}

// replay is the Source of a test group at one step.
type replay struct {
	in   []series
	step int
	buf  []Value
}

func (r *replay) Values(model, signal string) []Value {
	r.buf = r.buf[:0]
	for i := range r.in {
		s := &r.in[i]
		if s.model != model || s.signal != signal || r.step >= len(s.values) || !s.values[r.step].ok {
			continue
		}
		n := math.MaxInt32
		if s.samples != nil {
			n = s.samples[min(r.step, len(s.samples)-1)]
		}
		r.buf = append(r.buf, Value{Model: model, Feature: s.feature, Segment: s.segment, Version: s.version,
			Value: s.values[r.step].v, Samples: n})
	}
	return r.buf
}

// run evaluates the rules every evaluation interval from 0 to the last
// eval_time and checks the firing alerts at each eval_time against the
// expected ones. It returns the failures, formatted.
func (g *testGroup) run(rules []*Rule, in []series, every time.Duration) []string {
	models := map[string]bool{}
	for _, s := range in {
		models[s.model] = true
	}
	m := NewManager(Options{})
	m.Update(rules, slices.Sorted(maps.Keys(models)))
	names := map[string]bool{}
	for _, r := range rules {
		names[r.Name()] = true
	}
	cases := slices.Clone(g.AlertRuleTest)
	slices.SortStableFunc(cases, func(a, b alertTestCase) int { return cmp.Compare(a.EvalTime, b.EvalTime) })
	var failures []string
	src := &replay{in: in}
	epoch := time.Unix(0, 0).UTC()
	var alerts []*Alert
	next := time.Duration(0) // the next evaluation time
	for _, tc := range cases {
		for next <= tc.EvalTime.Std() {
			src.step = int(next / g.Interval.Std())
			alerts = m.Eval(context.Background(), epoch.Add(next), src)
			next += every
		}
		if !names[tc.Alertname] {
			failures = append(failures, fmt.Sprintf("    alertname: %s, time: %s: no rule has this name\n", tc.Alertname, tc.EvalTime))
			continue
		}
		var got []expAlert
		for _, a := range alerts {
			if a.Rule == tc.Alertname && a.State == StateFiring {
				got = append(got, expAlert{ExpLabels: a.Labels, ExpAnnotations: a.Annotations})
			}
		}
		exp := make([]expAlert, 0, len(tc.ExpAlerts))
		for _, e := range tc.ExpAlerts {
			l := maps.Clone(e.ExpLabels)
			if l == nil {
				l = map[string]string{}
			}
			if _, ok := l[LabelAlertName]; !ok {
				l[LabelAlertName] = tc.Alertname
			}
			exp = append(exp, expAlert{ExpLabels: l, ExpAnnotations: e.ExpAnnotations})
		}
		if !sameAlerts(exp, got) {
			failures = append(failures, fmt.Sprintf("    %salertname: %s, time: %s,\n        exp:%s,\n        got:%s\n",
				groupName(g), tc.Alertname, tc.EvalTime, formatAlerts(exp), formatAlerts(got)))
		}
	}
	return failures
}

func groupName(g *testGroup) string {
	if g.Name == "" {
		return ""
	}
	return "name: " + g.Name + ", "
}

func sameAlerts(exp, got []expAlert) bool {
	if len(exp) != len(got) {
		return false
	}
	e, gt := sortedAlerts(exp), sortedAlerts(got)
	for i := range e {
		if e[i] != gt[i] {
			return false
		}
	}
	return true
}

// sortedAlerts renders each alert as one comparable string, sorted.
func sortedAlerts(as []expAlert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = formatMap(a.ExpLabels) + " " + formatMap(a.ExpAnnotations)
	}
	slices.Sort(out)
	return out
}

func formatAlerts(as []expAlert) string {
	if len(as) == 0 {
		return "[]"
	}
	sorted := slices.Clone(as)
	slices.SortFunc(sorted, func(a, b expAlert) int {
		return strings.Compare(formatMap(a.ExpLabels)+formatMap(a.ExpAnnotations), formatMap(b.ExpLabels)+formatMap(b.ExpAnnotations))
	})
	var b strings.Builder
	b.WriteString("[\n")
	for i, a := range sorted {
		fmt.Fprintf(&b, "            %d:\n              Labels:%s\n              Annotations:%s\n", i, formatMap(a.ExpLabels), formatMap(a.ExpAnnotations))
	}
	b.WriteString("            ]")
	return b.String()
}

// formatMap writes {a="1", b="2"} with sorted keys (empty values left out,
// as an alert has no empty label).
func formatMap(m map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, k := range sortedKeys(m) {
		if m[k] == "" {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	b.WriteByte('}')
	return b.String()
}
