package rules

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// TemplateData is what an annotation template sees as dot. $value and
// $labels are also defined, as in Prometheus, so that annotations copied
// from Prometheus rules keep working.
type TemplateData struct {
	// Rule is the rule's name (the alertname label).
	Rule string
	// Model, Feature, Segment and Version identify the alert; empty when the
	// value has none.
	Model, Feature, Segment, Version string
	// Signal is the rule's signal, or its expr.
	Signal string
	// Value is the value compared with the threshold (for a boolean expr 1
	// or 0); NaN when there was no value.
	Value float64
	// Values holds each signal's value by name: one entry for a signal
	// rule, one per signal for an expr rule.
	Values map[string]float64
	// Threshold and Clear are the rule's; Clear equals Threshold when the
	// rule has none. Op is the rule's operator.
	Threshold, Clear float64
	Op               string
	// Samples is the sample count behind Value (the smallest of an expr's
	// windowed signals).
	Samples int
	// NoData is true when the last evaluation had no value to judge.
	NoData bool
	// Severity is the rule's severity.
	Severity string
	// Labels are the alert's labels.
	Labels map[string]string
}

// templateFuncs are the functions annotation templates may call, besides
// text/template's built-ins (printf, len, index, eq, ...).
var templateFuncs = template.FuncMap{
	"humanize":           humanize,
	"humanizePercentage": humanizePercentage,
	"humanizeDuration":   humanizeDuration,
	"toUpper":            strings.ToUpper,
	"toLower":            strings.ToLower,
	"abs":                math.Abs,
}

// templateDefs are prepended to every annotation; they add no line break,
// so the template's own line numbers stay right.
const templateDefs = "{{$labels := .Labels}}{{$value := .Value}}"

// parseTemplate parses an annotation. missingkey=error makes a misspelt
// label key in {{ .Labels.x }} fail when the template is tried at load.
func parseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(templateDefs + text)
	return t, templateError(err)
}

// templateColRE finds the position in a template error on the first line,
// whose column counts templateDefs.
var templateColRE = regexp.MustCompile(`^(template: [^:]*:1:)([0-9]+)`)

// templateError makes a template error read as if templateDefs were not
// there, and drops the Go type name.
func templateError(err error) error {
	if err == nil {
		return nil
	}
	msg := templateColRE.ReplaceAllStringFunc(err.Error(), func(m string) string {
		sub := templateColRE.FindStringSubmatch(m)
		col, _ := strconv.Atoi(sub[2])
		return sub[1] + strconv.Itoa(max(col-len(templateDefs), 0))
	})
	msg = strings.ReplaceAll(msg, " in type *rules.TemplateData", "")
	return errors.New(msg)
}

// execTemplate renders t; an error is rendered into the text, as Prometheus
// does, so that the alert still goes out.
func execTemplate(t *template.Template, data *TemplateData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		err = templateError(err)
		return fmt.Sprintf("<error expanding template: %v>", err), err
	}
	return b.String(), nil
}

// humanize formats a number with an SI prefix: 1234 → "1.234k", 0.0012 → "1.2m".
func humanize(v any) (string, error) {
	f, err := toFloat(v)
	if err != nil {
		return "", err
	}
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', 4, 64), nil
	}
	abs := math.Abs(f)
	big := []string{"", "k", "M", "G", "T", "P", "E", "Z", "Y"}
	small := []string{"", "m", "µ", "n", "p", "f", "a", "z", "y"}
	i := 0
	if abs >= 1 {
		for abs >= 1000 && i < len(big)-1 {
			abs /= 1000
			f /= 1000
			i++
		}
		return strconv.FormatFloat(f, 'g', 4, 64) + big[i], nil
	}
	for abs < 1 && i < len(small)-1 {
		abs *= 1000
		f *= 1000
		i++
	}
	return strconv.FormatFloat(f, 'g', 4, 64) + small[i], nil
}

// humanizePercentage formats a ratio as a percentage: 0.1234 → "12.34%".
func humanizePercentage(v any) (string, error) {
	f, err := toFloat(v)
	if err != nil {
		return "", err
	}
	return strconv.FormatFloat(f*100, 'g', 4, 64) + "%", nil
}

// humanizeDuration formats seconds as a duration: 3725 → "1h2m5s".
func humanizeDuration(v any) (string, error) {
	f, err := toFloat(v)
	if err != nil {
		return "", err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64/int64(time.Second)) {
		return strconv.FormatFloat(f, 'g', 4, 64) + "s", nil
	}
	d := time.Duration(f * float64(time.Second))
	if math.Abs(f) >= 1 {
		d = d.Round(time.Second)
	}
	return d.String(), nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case string:
		return strconv.ParseFloat(x, 64)
	}
	return 0, fmt.Errorf("cannot format %T as a number", v)
}

// sampleData is the data every annotation is tried with at load: every
// field set, every label the alert can have present.
func sampleData(r *Rule) *TemplateData {
	labels := map[string]string{
		LabelAlertName: r.cfg.Name, LabelModel: "model", LabelFeature: "feature",
		LabelSegment: "segment", LabelVersion: "version", LabelSeverity: r.cfg.Severity,
	}
	maps.Copy(labels, r.cfg.Labels)
	values := make(map[string]float64, len(r.signals))
	for _, s := range r.signals {
		values[string(s)] = r.threshold
	}
	return &TemplateData{
		Rule: r.cfg.Name, Model: "model", Feature: "feature", Segment: "segment", Version: "version",
		Signal: r.source(), Value: r.threshold, Values: values,
		Threshold: r.threshold, Clear: r.clear, Op: string(r.cfg.Op),
		Samples: r.cfg.MinSamples, Severity: r.cfg.Severity, Labels: labels,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
