package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestLoadGood(t *testing.T) {
	rules, err := LoadFile("testdata/rules.yml")
	require.NoError(t, err)
	require.Len(t, rules, 4)
	c := rules[0].Config()
	require.Equal(t, "AccuracyDrop", c.Name)
	require.Equal(t, []string{"fraud*"}, c.Models)
	require.Equal(t, OpLess, c.Op)
	require.Equal(t, 0.85, *c.Threshold)
	require.Equal(t, 0.87, *c.Clear)
	require.Equal(t, 10*time.Minute, c.For.Std())
	require.Equal(t, 5*time.Minute, c.KeepFiringFor.Std())
	require.Equal(t, 500, c.MinSamples)
	require.Equal(t, NoDataKeep, c.NoData)
	require.Equal(t, SeverityCritical, c.Severity)
	require.Equal(t, map[string]string{"team": "risk"}, c.Labels)
	require.Equal(t, []Signal{"quality.accuracy"}, rules[0].Signals())
	require.Equal(t, "AccuracyDrop: quality.accuracy < 0.85", rules[0].String())

	require.Equal(t, SeverityWarning, rules[1].Severity(), "default severity")
	require.Equal(t, NoDataAlert, rules[2].Config().NoData)
	require.Equal(t, []Signal{"quality.accuracy", "drift.share"}, rules[3].Signals())
	require.True(t, rules[0].MatchModel("fraud-eu"))
	require.False(t, rules[0].MatchModel("churn"))
	require.True(t, rules[1].MatchModel("anything"), "no models: every model")
}

func TestLoadEmpty(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "rules: []\n"} {
		rules, err := Load([]byte(src))
		require.NoError(t, err)
		require.Empty(t, rules)
	}
}

func TestLoadErrors(t *testing.T) {
	const base = "rules:\n  - name: R\n"
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"unknown top-level key", "rule:\n  - name: R\n", 1, "field rule not found"},
		{"unknown nested key", base + "    signal: quality.accuracy\n    op: '<'\n    threshhold: 0.5\n", 5, "field threshhold not found"},
		{"unknown key in a flow mapping", "rules:\n  - {name: R, signal: quality.accuracy, op: '<', threshold: 1, lables: {}}\n", 2, "field lables not found"},
		{"wrong type", base + "    min_samples: many\n", 3, "cannot unmarshal"},
		{"bad duration", base + "    signal: quality.accuracy\n    for: 10 minutes\n", 4, "not a duration"},
		{"negative duration", base + "    signal: quality.accuracy\n    for: -1m\n", 4, "not a duration"},
		{"no name", "rules:\n  - signal: quality.accuracy\n    op: '<'\n    threshold: 1\n", 2, "rules[0].name: a rule needs a name"},
		{"bad name", "rules:\n  - name: 'my rule'\n", 2, "not a valid rule name"},
		{"duplicate name", "rules:\n  - {name: R, signal: staleness, op: '>', threshold: 1}\n  - {name: R, signal: staleness, op: '>', threshold: 2}\n", 3, `rule "R" is already defined by rules[0]`},
		{"no signal nor expr", base + "    op: '<'\n", 2, "a rule needs a signal or an expr"},
		{"signal and expr", base + "    signal: staleness\n    expr: staleness > 1.0\n", 4, "not both"},
		{"unknown signal family", base + "    signal: qualty.accuracy\n    op: '<'\n    threshold: 1\n", 3, `unknown signal "qualty.accuracy": the family must be one of`},
		{"unknown quality metric", base + "    signal: quality.acuracy\n    op: '<'\n    threshold: 1\n", 3, "quality.<x> takes one of accuracy"},
		{"unknown p-value method", base + "    signal: drift.p_value.psi\n    op: '<'\n    threshold: 1\n", 3, "drift.p_value.<x> takes one of ks, chi_square"},
		{"bad op", base + "    signal: staleness\n    op: '=<'\n    threshold: 1\n", 4, "must be one of <, <=, >, >=, ==, !="},
		{"no op", base + "    signal: staleness\n    threshold: 1\n", 2, "needs an op"},
		{"no threshold", base + "    signal: staleness\n    op: '>'\n", 2, "needs a threshold"},
		{"threshold not a number", base + "    signal: staleness\n    op: '>'\n    threshold: high\n", 5, "cannot unmarshal"},
		{"clear on the wrong side of <", base + "    signal: quality.accuracy\n    op: '<'\n    threshold: 0.85\n    clear: 0.8\n", 6, "clear (0.8) must be >= threshold (0.85)"},
		{"clear on the wrong side of >=", base + "    signal: drift.psi\n    op: '>='\n    threshold: 0.2\n    clear: 0.3\n", 6, "clear (0.3) must be <= threshold (0.2)"},
		{"clear with ==", base + "    signal: canary.verdict\n    op: '=='\n    threshold: 0\n    clear: 1\n", 6, "clear needs an ordering op"},
		{"min_samples on staleness", base + "    signal: staleness\n    op: '>'\n    threshold: 900\n    min_samples: 10\n", 6, "staleness has no sample count"},
		{"negative min_samples", base + "    signal: quality.accuracy\n    op: '<'\n    threshold: 1\n    min_samples: -1\n", 6, "must not be negative"},
		{"bad no_data", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    no_data: ignore\n", 6, "must be keep, ok or alert"},
		{"bad severity", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    severity: page\n", 6, "must be critical, warning or info"},
		{"bad model glob", base + "    models: [ok, 'fraud[']\n    signal: staleness\n    op: '>'\n    threshold: 1\n", 3, `"fraud[" is not a valid glob`},
		{"bad feature glob", base + "    signal: drift.psi\n    feature: '[a'\n    op: '>'\n    threshold: 1\n", 4, "not a valid glob"},
		{"reserved label", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    labels:\n      model: x\n", 7, `label "model" is set by vigil`},
		{"severity as a label", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    labels: {severity: page}\n", 6, `label "severity" is set by vigil`},
		{"templated label", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    labels:\n      value: '{{ .Value }}'\n", 7, "labels are an alert's identity and are static"},
		{"bad label name", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    labels: {team-name: x}\n", 6, "not a valid label name"},
		{"template syntax error", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    annotations:\n      summary: ok\n      description: '{{ .Model'\n", 8, "rules[0].annotations.description: template: description:1: unclosed action"},
		{"template unknown field", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    annotations:\n      summary: 'at {{ .Modle }}'\n", 7, `template: summary:1:6: executing "summary" at <.Modle>: can't evaluate field Modle`},
		{"template unknown function", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    annotations:\n      summary: '{{ humanise .Value }}'\n", 7, `function "humanise" not defined`},
		{"template unknown label", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    labels: {team: risk}\n    annotations:\n      summary: '{{ .Labels.teem }}'\n", 8, `map has no entry for key "teem"`},
		{"template bad call", base + "    signal: staleness\n    op: '>'\n    threshold: 1\n    annotations:\n      summary: '{{ humanize .Labels }}'\n", 7, "cannot format"},
		{"expr syntax error", base + "    expr: quality.accuracy <\n", 3, "Syntax error"},
		{"expr unknown signal", base + "    expr: quality.acc < 0.9\n", 3, `unknown signal "quality.acc"`},
		{"expr undeclared name", base + "    expr: accuracy < 0.9\n", 3, "undeclared reference to 'accuracy'"},
		{"expr undeclared name beside a signal", base + "    expr: quality.accuracy < 0.9 && recall > 0.5\n", 3, "undeclared reference to 'recall'"},
		{"expr without signal", base + "    expr: 1 < 2\n", 3, "reads no signal"},
		{"expr of the wrong type", base + "    expr: \"quality.accuracy < 0.9 ? 'bad' : 'good'\"\n", 3, "of type string"},
		{"expr int arithmetic", base + "    expr: quality.accuracy * 2 < 1\n", 3, "no matching overload"},
		{"boolean expr with threshold", base + "    expr: staleness > 1.0\n    op: '>'\n    threshold: 1\n", 4, "the expr is a condition (bool)"},
		{"numeric expr without op", base + "    expr: quality.accuracy - quality.recall\n", 3, "the expr is a number: add op and threshold"},
		{"numeric expr without threshold", base + "    expr: quality.accuracy - quality.recall\n    op: '>'\n", 2, "needs a threshold"},
		{"no macros", base + "    expr: has(quality.accuracy)\n", 3, "undeclared reference to 'has'"},
		{"two documents", "rules: []\n---\nrules: []\n", 0, "more than one YAML document"},
		{"not a mapping", "- a\n", 1, "cannot unmarshal !!seq into a mapping"},
		{"rule not a mapping", "rules:\n  - a\n", 2, "cannot unmarshal !!str `a` into a mapping"},
		{"rules not a list", "rules: 3\n", 1, "cannot unmarshal !!int `3` into a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.src))
			require.Error(t, err)
			ce, ok := errors.AsType[*Error](err)
			require.True(t, ok, "want *Error, got %T: %v", err, err)
			require.Contains(t, err.Error(), tt.want)
			require.Equal(t, tt.line, ce.Line, "line of: %v", err)
			require.NotContains(t, err.Error(), "rules.", "no Go type names")
		})
	}
}

func TestLoadFileNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yml")
	require.NoError(t, os.WriteFile(path, []byte(`rules:
  - name: AccuracyDrop
    signal: quality.accuracy
    op: "<"
    threshold: 0.85
    annotations:
      summary: "{{ .Model }} is {{ .Valeu }}"
`), 0o600))
	_, err := LoadFile(path)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), path+":7: rules[0].annotations.summary: "), err.Error())

	_, err = LoadFile(filepath.Join(dir, "missing.yml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestErrorFormat(t *testing.T) {
	inner := errors.New("boom")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Err: inner}, "boom"},
		{&Error{Line: 3, Err: inner}, "line 3: boom"},
		{&Error{File: "r.yml", Err: inner}, "r.yml: boom"},
		{&Error{File: "r.yml", Line: 3, Field: "rules[0].op", Err: inner}, "r.yml:3: rules[0].op: boom"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.err.Error())
		require.ErrorIs(t, tt.err, inner)
	}
}

func TestCompileGoConfigs(t *testing.T) {
	th := 0.5
	r, err := NewRule(Config{Name: "X", Signal: "drift.share", Op: OpGreater, Threshold: &th})
	require.NoError(t, err)
	require.Equal(t, SeverityWarning, r.Severity(), "defaults filled for configs built in Go")
	require.Equal(t, NoDataKeep, r.Config().NoData)

	_, err = Compile([]Config{{Name: "X", Signal: "drift.share", Op: OpGreater}})
	ce, ok := errors.AsType[*Error](err)
	require.True(t, ok)
	require.Equal(t, "rules[0].threshold", ce.Field)
}

func TestConfigDefaultsAndRoundTrip(t *testing.T) {
	var c Config
	require.NoError(t, yaml.Unmarshal([]byte("name: R\n"), &c))
	require.Equal(t, NoDataKeep, c.NoData)
	require.Equal(t, SeverityWarning, c.Severity)

	rules := loadRules(t, "rules:\n- {name: R, signal: quality.accuracy, op: '<', threshold: 0.8, clear: 0.9, for: 1h30m, segment: ''}\n")
	out, err := yaml.Marshal(File{Rules: []Config{rules[0].Config()}})
	require.NoError(t, err)
	require.Contains(t, string(out), "for: 1h30m")
	again, err := Load(out)
	require.NoError(t, err)
	require.Equal(t, rules[0].Config(), again[0].Config())
	require.NotNil(t, again[0].Config().Segment, `segment: "" survives`)
}

func TestParseSignal(t *testing.T) {
	good := []string{
		"quality.accuracy", "quality.estimated_accuracy", "quality.r2", "drift.psi", "drift.ks",
		"drift.pca_reconstruction_error", "drift.share", "drift.detected", "drift.p_value.ks",
		"drift.p_value.chi_square", "data.missing_ratio", "data.out_of_range_ratio",
		"data.new_category_ratio", "anomaly.mean_score", "anomaly.p95_latency", "canary.agreement",
		"canary.verdict", "events.rate", "labels.pending", "labels.lag_seconds", "staleness",
	}
	for _, s := range good {
		t.Run(s, func(t *testing.T) {
			sig, err := ParseSignal(s)
			require.NoError(t, err)
			require.Equal(t, s, sig.String())
		})
	}
	bad := []string{
		"", "quality", "quality.", "quality.accuracy.x", "drift", "drift.p_value", "drift.p_value.psi",
		"drift.p_value.ks.x", "data.missing", "anomaly.", "anomaly.Mean", "anomaly.a-b", "canary.x",
		"events", "events.count", "staleness.x", "labels", "Quality.accuracy", " quality.accuracy",
	}
	for _, s := range bad {
		t.Run("bad "+s, func(t *testing.T) {
			_, err := ParseSignal(s)
			require.Error(t, err)
		})
	}
	require.Equal(t, "drift", Signal("drift.p_value.ks").Family())
	require.True(t, Signal("quality.f1").Windowed())
	require.True(t, Signal("events.rate").Windowed())
	require.False(t, Signal("staleness").Windowed())
	require.False(t, Signal("anomaly.mean_score").Windowed())
}

func TestConfigIsACopy(t *testing.T) {
	r := loadRules(t, "rules:\n- {name: R, signal: drift.psi, feature: amount, op: '>', threshold: 0.2, labels: {a: b}}\n")[0]
	c := r.Config()
	*c.Feature = "other"
	*c.Threshold = 9
	c.Labels["a"] = "changed"
	again := r.Config()
	require.Equal(t, "amount", *again.Feature)
	require.Equal(t, 0.2, *again.Threshold)
	require.Equal(t, "b", again.Labels["a"])
}
