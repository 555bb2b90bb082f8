package rules

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunTestsTestdata(t *testing.T) {
	var out bytes.Buffer
	ok, err := RunTests("testdata/rules_test.yml", &out)
	require.NoError(t, err)
	require.True(t, ok, out.String())
	require.Equal(t, "Unit Testing: testdata/rules_test.yml\n  SUCCESS\n", out.String())
}

func TestCheckFileTestdata(t *testing.T) {
	s, err := CheckFile("testdata/rules.yml")
	require.NoError(t, err)
	require.Equal(t, Summary{Rules: 4, Names: []string{"AccuracyDrop", "FeatureDrift", "DeadPipeline", "QualityAndDrift"}}, s)
	require.Equal(t, "SUCCESS: 4 rules found", s.String())
	require.Equal(t, "SUCCESS: 1 rule found", Summary{Rules: 1}.String())
}

// writeFiles writes name → content into a temp dir and returns the dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

const simpleRules = `rules:
  - name: Low
    signal: quality.accuracy
    op: "<"
    threshold: 0.5
    for: 2m
    annotations: {summary: "{{ .Model }} at {{ .Value }}"}
`

func TestRunTestsReportsFailures(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"r.yml": simpleRules,
		"t.yml": `rule_files: [r.yml]
tests:
  - name: wrong expectations
    input_series:
      - {model: a, signal: quality.accuracy, values: "0.4x5"}
      - {model: b, signal: quality.accuracy, values: "0.9x5"}
    alert_rule_test:
      - eval_time: 1m            # still pending: nothing fires
        alertname: Low
        exp_alerts:
          - exp_labels: {model: a, severity: warning}
      - eval_time: 3m
        alertname: Low
        exp_alerts:
          - exp_labels: {model: a, severity: warning}
            exp_annotations: {summary: "a at 0.5"}
      - eval_time: 3m
        alertname: Low
        exp_alerts:
          - exp_labels: {model: a, severity: warning}
            exp_annotations: {summary: "a at 0.4"}
      - {eval_time: 3m, alertname: Lo}
`,
	})
	var out bytes.Buffer
	ok, err := RunTests(filepath.Join(dir, "t.yml"), &out)
	require.NoError(t, err)
	require.False(t, ok)
	got := out.String()
	require.Contains(t, got, "  FAILED:\n")
	require.Contains(t, got, `    name: wrong expectations, alertname: Low, time: 1m,
        exp:[
            0:
              Labels:{alertname="Low", model="a", severity="warning"}
              Annotations:{}
            ],
        got:[]
`)
	require.Contains(t, got, `    name: wrong expectations, alertname: Low, time: 3m,
        exp:[
            0:
              Labels:{alertname="Low", model="a", severity="warning"}
              Annotations:{summary="a at 0.5"}
            ],
        got:[
            0:
              Labels:{alertname="Low", model="a", severity="warning"}
              Annotations:{summary="a at 0.4"}
            ]
`)
	require.Contains(t, got, "alertname: Lo, time: 3m: no rule has this name")
	require.Equal(t, 3, strings.Count(got, "alertname: Lo"), got)
}

func TestRunTestsSampleSeriesAndSegments(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"rules-a.yml": `rules:
  - {name: Low, signal: quality.accuracy, op: "<", threshold: 0.5, min_samples: 100, segment: "country=*"}
`,
		"t.yml": `rule_files: ["rules-*.yml"]
evaluation_interval: 30s
tests:
  - interval: 1m
    input_series:
      - {model: a, signal: quality.accuracy, segment: country=DE, samples: "10x2 100", values: "0.4x5"}
      - {model: a, signal: quality.accuracy, values: "0.1x5"}
    alert_rule_test:
      - {eval_time: 2m, alertname: Low}
      - eval_time: 3m30s
        alertname: Low
        exp_alerts:
          - exp_labels: {alertname: Low, model: a, segment: country=DE, severity: warning}
`,
	})
	var out bytes.Buffer
	ok, err := RunTests(filepath.Join(dir, "t.yml"), &out)
	require.NoError(t, err)
	require.True(t, ok, out.String())
}

func TestRunTestsBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown field", map[string]string{"t.yml": "rule_files: [r.yml]\ntests:\n  - input_series:\n      - {model: a, signal: staleness, valuess: '1'}\n"},
			"t.yml:4: field valuess not found"},
		{"bad values", map[string]string{"r.yml": simpleRules, "t.yml": "rule_files: [r.yml]\ntests:\n  - input_series:\n      - model: a\n        signal: staleness\n        values: '1 2x'\n"},
			"t.yml:6: tests[0].input_series[0].values: \"2x\" is not a value"},
		{"bad samples", map[string]string{"r.yml": simpleRules, "t.yml": "rule_files: [r.yml]\ntests:\n  - input_series:\n      - model: a\n        signal: staleness\n        samples: 1.5\n        values: '1'\n"},
			"t.yml:6: tests[0].input_series[0].samples: 1.5 is not a sample count"},
		{"samples not a scalar", map[string]string{"r.yml": simpleRules, "t.yml": "rule_files: [r.yml]\ntests:\n  - input_series:\n      - {model: a, signal: staleness, samples: [1], values: '1'}\n"},
			"t.yml:4: expected a number or a series"},
		{"bad signal", map[string]string{"r.yml": simpleRules, "t.yml": "rule_files: [r.yml]\ntests:\n  - input_series:\n      - model: a\n        signal: quality.acc\n"},
			"t.yml:5: tests[0].input_series[0].signal: unknown signal"},
		{"no model", map[string]string{"r.yml": simpleRules, "t.yml": "rule_files: [r.yml]\ntests:\n  - input_series:\n      - signal: staleness\n"},
			"t.yml:4: tests[0].input_series[0]: a series needs a model"},
		{"no alertname", map[string]string{"r.yml": simpleRules, "t.yml": "rule_files: [r.yml]\ntests:\n  - alert_rule_test:\n      - eval_time: 1m\n"},
			"t.yml:4: tests[0].alert_rule_test[0]: a test case needs an alertname"},
		{"no rule files", map[string]string{"t.yml": "tests: []\n"}, "t.yml: rule_files: name at least one rule file"},
		{"missing rule file", map[string]string{"t.yml": "rule_files: [nope.yml]\n"}, "t.yml:1: rule_files[0]: nope.yml: no such file"},
		{"bad rule file", map[string]string{"t.yml": "rule_files: [r.yml]\n", "r.yml": "rules:\n  - name: X\n    signal: nope\n"}, "r.yml:3: rules[0].signal: unknown signal"},
		{"duplicate rule across files", map[string]string{"t.yml": "rule_files: [a.yml, b.yml]\n", "a.yml": simpleRules, "b.yml": simpleRules}, `b.yml: rule "Low" is already defined in`},
		{"bad interval", map[string]string{"t.yml": "rule_files: [r.yml]\nevaluation_interval: 0s\n"}, "t.yml:2: evaluation_interval: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			var out bytes.Buffer
			ok, err := RunTests(filepath.Join(dir, "t.yml"), &out)
			require.False(t, ok)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			_, isErr := errors.AsType[*Error](err)
			require.True(t, isErr, "%T", err)
			require.Empty(t, out.String(), "nothing ran")
		})
	}
	_, err := RunTests(filepath.Join(t.TempDir(), "none.yml"), &bytes.Buffer{})
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestCheckFileBad(t *testing.T) {
	dir := writeFiles(t, map[string]string{"r.yml": "rules:\n  - name: X\n    signal: quality.accuracy\n    op: '<'\n    threshold: 0.9\n    clear: 0.5\n"})
	_, err := CheckFile(filepath.Join(dir, "r.yml"))
	require.ErrorContains(t, err, "r.yml:6: rules[0].clear: with op < the alert resolves above the threshold: clear (0.5) must be >= threshold (0.9)")
}
