package alerting

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// TimeInterval is a named set of periods that routes refer to in mute_time_intervals
// and active_time_intervals, as Alertmanager's time_intervals.
type TimeInterval struct {
	Name          string       `yaml:"name"`
	TimeIntervals []TimePeriod `yaml:"time_intervals"`
}

// TimePeriod is one period of a time interval, with Alertmanager's fields and meaning:
// a time lies in it when it lies in one of the ranges of every field that is set.
// Weekday ranges may wrap (saturday:monday); negative days of month count from the
// month's end (-1 is the last day); times are [start, end) in minutes of the day, end up
// to 24:00; location is an IANA zone name (UTC when unset).
type TimePeriod struct {
	Times       []TimeRange       `yaml:"times,omitempty"`
	Weekdays    []WeekdayRange    `yaml:"weekdays,flow,omitempty"`
	DaysOfMonth []DayOfMonthRange `yaml:"days_of_month,flow,omitempty"`
	Months      []MonthRange      `yaml:"months,flow,omitempty"`
	Years       []YearRange       `yaml:"years,flow,omitempty"`
	Location    *Location         `yaml:"location,omitempty"`
}

// Contains reports whether t lies in the period.
func (p TimePeriod) Contains(t time.Time) bool {
	if p.Location != nil && p.Location.Location != nil {
		t = t.In(p.Location.Location)
	} else {
		t = t.UTC()
	}
	if p.Times != nil {
		m := t.Hour()*60 + t.Minute()
		if !anyRange(len(p.Times), func(i int) bool { return m >= p.Times[i].StartMinute && m < p.Times[i].EndMinute }) {
			return false
		}
	}
	if p.DaysOfMonth != nil {
		days := time.Date(t.Year(), t.Month()+1, 0, 12, 0, 0, 0, t.Location()).Day()
		if !anyRange(len(p.DaysOfMonth), func(i int) bool {
			b, e := p.DaysOfMonth[i].Begin, p.DaysOfMonth[i].End
			if b < 0 {
				b = days + b + 1
			}
			if e < 0 {
				e = days + e + 1
			}
			if b > days {
				return false
			}
			b, e = max(b, 1), min(e, days)
			return t.Day() >= b && t.Day() <= e
		}) {
			return false
		}
	}
	if p.Months != nil {
		mo := int(t.Month())
		if !anyRange(len(p.Months), func(i int) bool { return mo >= p.Months[i].Begin && mo <= p.Months[i].End }) {
			return false
		}
	}
	if p.Weekdays != nil {
		wd := int(t.Weekday())
		if !anyRange(len(p.Weekdays), func(i int) bool {
			b, e := p.Weekdays[i].Begin, p.Weekdays[i].End
			if b <= e {
				return wd >= b && wd <= e
			}
			return wd >= b || wd <= e
		}) {
			return false
		}
	}
	if p.Years != nil {
		y := t.Year()
		if !anyRange(len(p.Years), func(i int) bool { return y >= p.Years[i].Begin && y <= p.Years[i].End }) {
			return false
		}
	}
	return true
}

func anyRange(n int, in func(int) bool) bool {
	for i := range n {
		if in(i) {
			return true
		}
	}
	return false
}

// Contains reports whether t lies in one of the interval's periods.
func (ti TimeInterval) Contains(t time.Time) bool {
	for _, p := range ti.TimeIntervals {
		if p.Contains(t) {
			return true
		}
	}
	return false
}

// TimeRange is [start_time, end_time) within a day, in minutes: {start_time: "09:00",
// end_time: "17:00"}.
type TimeRange struct {
	StartMinute, EndMinute int
}

var clockRE = regexp.MustCompile(`^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`)

func parseClock(s string) (int, bool) {
	if !clockRE.MatchString(s) {
		return 0, false
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	return h*60 + m, true
}

// UnmarshalYAML reads {start_time, end_time}. The mapping's two keys are checked here,
// so an unknown key is still an error and names its line.
func (r *TimeRange) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a time range is a mapping {start_time: \"HH:MM\", end_time: \"HH:MM\"}", node.Line)
	}
	var start, end string
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s must be a time such as \"09:00\"", v.Line, k.Value)
		}
		switch k.Value {
		case "start_time":
			start = v.Value
		case "end_time":
			end = v.Value
		default:
			return fmt.Errorf("line %d: field %s not found here", k.Line, k.Value)
		}
	}
	if start == "" || end == "" {
		return fmt.Errorf("line %d: both start_time and end_time are required", node.Line)
	}
	s, ok1 := parseClock(start)
	e, ok2 := parseClock(end)
	switch {
	case !ok1 || !ok2:
		return fmt.Errorf("line %d: times are written HH:MM, from 00:00 to 24:00", node.Line)
	case s >= e:
		return fmt.Errorf("line %d: start_time %s is not before end_time %s", node.Line, start, end)
	case s == 24*60:
		return fmt.Errorf("line %d: 24:00 can only end a range", node.Line)
	}
	*r = TimeRange{StartMinute: s, EndMinute: e}
	return nil
}

// MarshalYAML writes the range as it is read.
func (r TimeRange) MarshalYAML() (any, error) {
	f := func(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
	return map[string]string{"start_time": f(r.StartMinute), "end_time": f(r.EndMinute)}, nil
}

// InclusiveRange is [Begin, End], written "a:b" or "a".
type InclusiveRange struct {
	Begin, End int
}

// WeekdayRange is a range of weekdays (0 is Sunday): "monday:friday", "saturday".
type WeekdayRange struct{ InclusiveRange }

// DayOfMonthRange is a range of days of the month: "1:5", "-3:-1" (the last three).
type DayOfMonthRange struct{ InclusiveRange }

// MonthRange is a range of months: "january:march", "1:3", "december".
type MonthRange struct{ InclusiveRange }

// YearRange is a range of years: "2026:2027".
type YearRange struct{ InclusiveRange }

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

func rangeNode(node *yaml.Node, what string) (string, string, error) {
	if node.Kind != yaml.ScalarNode {
		return "", "", fmt.Errorf("line %d: a %s range is a string such as \"a:b\"", node.Line, what)
	}
	s := strings.ToLower(strings.TrimSpace(node.Value))
	b, e, ok := strings.Cut(s, ":")
	if !ok {
		e = b
	}
	return b, e, nil
}

func nameOrNumber(s string, names []string, base int) (int, bool) {
	for i, n := range names {
		if s == n {
			return i + base, true
		}
	}
	v, err := strconv.Atoi(s)
	return v, err == nil
}

// UnmarshalYAML reads a weekday range.
func (r *WeekdayRange) UnmarshalYAML(node *yaml.Node) error {
	bs, es, err := rangeNode(node, "weekday")
	if err != nil {
		return err
	}
	b, ok1 := nameOrNumber(bs, weekdays, 0)
	e, ok2 := nameOrNumber(es, weekdays, 0)
	if !ok1 || !ok2 || b < 0 || b > 6 || e < 0 || e > 6 {
		return fmt.Errorf("line %d: %q is not a weekday range (sunday … saturday)", node.Line, node.Value)
	}
	r.Begin, r.End = b, e
	return nil
}

// UnmarshalYAML reads a day-of-month range.
func (r *DayOfMonthRange) UnmarshalYAML(node *yaml.Node) error {
	bs, es, err := rangeNode(node, "day of month")
	if err != nil {
		return err
	}
	b, err1 := strconv.Atoi(bs)
	e, err2 := strconv.Atoi(es)
	switch {
	case err1 != nil || err2 != nil || b == 0 || e == 0 || b < -31 || b > 31 || e < -31 || e > 31:
		return fmt.Errorf("line %d: %q is not a day-of-month range (1 … 31, or -31 … -1 from the end)", node.Line, node.Value)
	case b < 0 && e > 0:
		return fmt.Errorf("line %d: %q: the end must be negative when the start is", node.Line, node.Value)
	}
	cb, ce := b, e
	if cb < 0 {
		cb += 28
	}
	if ce < 0 {
		ce += 28
	}
	if cb > ce {
		return fmt.Errorf("line %d: %q: the end day is always before the start day", node.Line, node.Value)
	}
	r.Begin, r.End = b, e
	return nil
}

// UnmarshalYAML reads a month range.
func (r *MonthRange) UnmarshalYAML(node *yaml.Node) error {
	bs, es, err := rangeNode(node, "month")
	if err != nil {
		return err
	}
	b, ok1 := nameOrNumber(bs, monthNames, 1)
	e, ok2 := nameOrNumber(es, monthNames, 1)
	if !ok1 || !ok2 || b < 1 || b > 12 || e < 1 || e > 12 || b > e {
		return fmt.Errorf("line %d: %q is not a month range (january … december or 1 … 12, start before end)", node.Line, node.Value)
	}
	r.Begin, r.End = b, e
	return nil
}

// UnmarshalYAML reads a year range.
func (r *YearRange) UnmarshalYAML(node *yaml.Node) error {
	bs, es, err := rangeNode(node, "year")
	if err != nil {
		return err
	}
	b, err1 := strconv.Atoi(bs)
	e, err2 := strconv.Atoi(es)
	if err1 != nil || err2 != nil || b > e || b < 0 {
		return fmt.Errorf("line %d: %q is not a year range (start before end)", node.Line, node.Value)
	}
	r.Begin, r.End = b, e
	return nil
}

// MarshalYAML writes the range as "a:b" or "a".
func (r InclusiveRange) MarshalYAML() (any, error) {
	if r.Begin == r.End {
		return strconv.Itoa(r.Begin), nil
	}
	return fmt.Sprintf("%d:%d", r.Begin, r.End), nil
}

// Location is a time zone for a time period.
type Location struct{ *time.Location }

// UnmarshalYAML reads an IANA zone name such as Europe/Berlin.
func (l *Location) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: location is a time zone name such as Europe/Berlin", node.Line)
	}
	loc, err := time.LoadLocation(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: unknown time zone %q: %w", node.Line, node.Value, err)
	}
	l.Location = loc
	return nil
}

// MarshalYAML writes the zone's name.
func (l Location) MarshalYAML() (any, error) {
	if l.Location == nil {
		return "UTC", nil
	}
	return l.String(), nil
}
