package alerting_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vigilml/vigil/alerting"
)

func TestTimePeriodContains(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	cases := []struct {
		name, period string
		in, out      []string
	}{
		{"times are [start, end)", `{times: [{start_time: "09:00", end_time: "17:00"}]}`,
			[]string{"2026-01-05T09:00:00Z", "2026-01-05T16:59:59Z"}, []string{"2026-01-05T08:59:59Z", "2026-01-05T17:00:00Z"}},
		{"end of day", `{times: [{start_time: "22:00", end_time: "24:00"}]}`,
			[]string{"2026-01-05T23:59:00Z"}, []string{"2026-01-06T00:00:00Z"}},
		{"weekday range wraps", `{weekdays: ['saturday:monday']}`,
			[]string{"2026-01-10T12:00:00Z", "2026-01-11T12:00:00Z", "2026-01-12T12:00:00Z"}, []string{"2026-01-13T12:00:00Z"}},
		{"negative days of month", `{days_of_month: ['-3:-1']}`,
			[]string{"2026-02-26T00:00:00Z", "2026-02-28T23:00:00Z", "2026-01-31T00:00:00Z"}, []string{"2026-02-25T00:00:00Z", "2026-01-28T00:00:00Z"}},
		{"day past the month's end is clamped", `{days_of_month: ['25:31']}`,
			[]string{"2026-02-28T00:00:00Z"}, []string{"2026-02-24T00:00:00Z"}},
		{"months by name and number", `{months: ['january', '11:12']}`,
			[]string{"2026-01-15T00:00:00Z", "2026-11-15T00:00:00Z"}, []string{"2026-02-15T00:00:00Z"}},
		{"years", `{years: ['2025:2026']}`, []string{"2026-06-01T00:00:00Z"}, []string{"2027-01-01T00:00:00Z"}},
		{"every field must hold", `{weekdays: [monday], times: [{start_time: "09:00", end_time: "10:00"}]}`,
			[]string{"2026-01-05T09:30:00Z"}, []string{"2026-01-06T09:30:00Z", "2026-01-05T10:30:00Z"}},
		{"location", `{times: [{start_time: "09:00", end_time: "10:00"}], location: America/New_York}`,
			[]string{"2026-01-05T14:30:00Z"}, []string{"2026-01-05T09:30:00Z"}},
		{"empty period is always", `{}`, []string{"2026-01-05T09:30:00Z"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p alerting.TimePeriod
			require.NoError(t, decodeStrict([]byte(c.period), &p))
			for _, s := range c.in {
				require.True(t, p.Contains(at(s)), s)
			}
			for _, s := range c.out {
				require.False(t, p.Contains(at(s)), s)
			}
		})
	}
}

func TestTimeIntervalRoundTrip(t *testing.T) {
	src := `name: x
time_intervals:
    - times:
        - start_time: "09:00"
          end_time: "17:30"
      weekdays: ["1:5"]
      days_of_month: ["-7:-1"]
      months: ["12"]
      years: ["2026:2027"]
      location: Europe/Berlin
`
	var ti alerting.TimeInterval
	require.NoError(t, decodeStrict([]byte(src), &ti))
	out, err := yaml.Marshal(ti)
	require.NoError(t, err)
	var back alerting.TimeInterval
	require.NoError(t, decodeStrict(out, &back))
	require.Equal(t, ti.TimeIntervals[0].Times, back.TimeIntervals[0].Times)
	require.Equal(t, ti.TimeIntervals[0].Weekdays, back.TimeIntervals[0].Weekdays)
	require.Equal(t, "Europe/Berlin", back.TimeIntervals[0].Location.String())
}
