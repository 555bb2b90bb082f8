package notifyutil

import (
	"fmt"
	"io"
	"maps"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/vigilml/vigil/alerting"
)

// TemplateData is what an integration's templates see: the Message's fields (.Status,
// .Receiver, .GroupKey, .GroupLabels, .CommonLabels, .CommonAnnotations, .Alerts,
// .ExternalURL, .Digest) and its alerts split by state at the time of sending. Templates
// also get the functions upper, lower, join (sep, list), value (a number as messages show
// it) and duration (a time.Duration as messages show it). A missing map key is empty.
type TemplateData struct {
	*alerting.Message
	FiringAlerts   []*alerting.Alert
	ResolvedAlerts []*alerting.Alert
}

// NewTemplateData returns m's template data at now.
func NewTemplateData(m *alerting.Message, now time.Time) TemplateData {
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

var templateFuncs = template.FuncMap{
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"join":     func(sep string, s []string) string { return strings.Join(s, sep) },
	"value":    FormatValue,
	"duration": HumanizeDuration,
}

// ParseTemplate parses text and runs it once over a sample message so that a reference to
// a field that does not exist fails at load, not at 3 a.m. An empty text gives nil.
func ParseTemplate(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(io.Discard, sampleData()); err != nil {
		return nil, err
	}
	return t, nil
}

func sampleData() TemplateData {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &alerting.Alert{
		Labels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "feature": "amount",
			"segment": "country=DE", "version": "v3", "severity": "critical",
		},
		Annotations: map[string]string{
			"summary": "fraud accuracy is 0.812", "dashboard_url": "https://grafana.example/d/x",
			"runbook_url": "https://runbooks.example/accuracy",
		},
		StartsAt: start, Value: 0.812, Threshold: 0.85,
	}
	m := &alerting.Message{
		Receiver: "sample", GroupKey: "{}:{alertname=\"AccuracyDrop\"}", Status: alerting.StatusFiring,
		GroupLabels: map[string]string{"alertname": "AccuracyDrop"}, CommonLabels: a.Labels,
		CommonAnnotations: a.Annotations, Alerts: []*alerting.Alert{a}, ExternalURL: "http://vigil.example:9780",
	}
	return TemplateData{Message: m, FiringAlerts: m.Alerts}
}

// Execute runs t over data (a nil t gives ""). An error names the integration and the
// template; it is permanent: a retry would fail the same way.
func Execute(integration string, t *template.Template, data TemplateData) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%s %s template: %w", integration, t.Name(), err)
	}
	return b.String(), nil
}

// Common returns a label shared by the group's alerts, or "".
func Common(m *alerting.Message, name string) string {
	if v := m.CommonLabels[name]; v != "" {
		return v
	}
	return m.GroupLabels[name]
}

// ValueText is "0.812 (threshold 0.85)", or "no data". The contract carries no comparison
// operator, so messages show both numbers and the summary annotation says which way is
// bad.
func ValueText(a *alerting.Alert) string {
	if math.IsNaN(a.Value) {
		return "no data"
	}
	return FormatValue(a.Value) + " (threshold " + FormatValue(a.Threshold) + ")"
}

// NonEmpty returns the non-empty strings of s.
func NonEmpty(s ...string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Truncate cuts s to at most n runes, ending with "…" when cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// FormatValue shows a number with about four significant digits: 0.8123, 12.35, 12346.
func FormatValue(v float64) string {
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

// HumanizeDuration shows a duration in at most its two largest units, stopping at a zero
// unit: 45s, 25m 10s, 1h 5m, 2d 3h, 1d (for 1d 0h 5m).
func HumanizeDuration(d time.Duration) string {
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

// AnnotationsWithValue returns a copy of the alert's annotations with "value" and
// "threshold" added where the rule did not set them: the value is never a label.
func AnnotationsWithValue(a *alerting.Alert) map[string]string {
	out := maps.Clone(a.Annotations)
	if out == nil {
		out = map[string]string{}
	}
	if _, ok := out["value"]; !ok {
		out["value"] = strconv.FormatFloat(a.Value, 'g', -1, 64)
	}
	if _, ok := out["threshold"]; !ok {
		out["threshold"] = strconv.FormatFloat(a.Threshold, 'g', -1, 64)
	}
	return out
}
