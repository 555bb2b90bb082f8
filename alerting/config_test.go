package alerting_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vigilml/vigil/alerting"
)

func TestLoadConfigGood(t *testing.T) {
	data, err := os.ReadFile("testdata/alerting.yml")
	require.NoError(t, err)
	cfg, err := alerting.LoadConfig(data)
	require.NoError(t, err)

	require.Equal(t, "slack-ml", cfg.Route.Receiver)
	require.Equal(t, []string{"alertname", "model"}, cfg.Route.GroupBy)
	require.Equal(t, alerting.Duration(30*time.Second), *cfg.Route.GroupWait)
	require.Len(t, cfg.Route.Routes, 3)
	crit := cfg.Route.Routes[0]
	require.True(t, crit.Continue)
	require.Equal(t, `severity="critical"`, crit.Matchers[0].String())
	require.Equal(t, []string{"..."}, crit.Routes[0].GroupBy)
	require.Len(t, crit.Routes[0].Matchers, 2)
	require.Equal(t, "data", cfg.Route.Routes[2].Match["team"])

	require.Len(t, cfg.Receivers, 4)
	require.Equal(t, 10, cfg.Receivers[0].MaxNotificationsPerMinute)
	kinds := func(r alerting.Receiver) []string {
		var out []string
		for _, ic := range r.Integrations {
			out = append(out, ic.Kind)
		}
		return out
	}
	require.Equal(t, []string{"slack"}, kinds(cfg.Receivers[0]))
	require.Equal(t, []string{"pagerduty", "webhook"}, kinds(cfg.Receivers[1]))
	require.Equal(t, []string{"console"}, kinds(cfg.Receivers[2]))
	require.Empty(t, cfg.Receivers[3].Integrations)
	require.Equal(t, 27, cfg.Receivers[0].Integrations[0].Line())

	require.Len(t, cfg.InhibitRules, 2)
	require.Equal(t, []string{"alertname", "model"}, cfg.InhibitRules[0].Equal)
	require.Len(t, cfg.TimeIntervals, 2)
	off := cfg.TimeIntervals[0]
	require.True(t, off.Contains(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)), "saturday")
	require.True(t, off.Contains(time.Date(2026, 1, 5, 18, 30, 0, 0, time.UTC)), "19:30 in Berlin")
	require.False(t, off.Contains(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)), "monday noon")
}

func TestLoadConfigErrors(t *testing.T) {
	base := "receivers:\n  - name: a\n  - name: b\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field in a nested route", readFile(t, "testdata/bad_unknown_field.yml"), "line 5: field gruop_by not found"},
		{"unknown top-level field", "route: {receiver: a}\nrecievers: []\n", "line 2: field recievers not found"},
		{"unknown receiver field", "route: {receiver: a}\nreceivers:\n  - name: a\n    slack_config: []\n", "line 4: field slack_config not found"},
		{"receiver not declared", base + "route:\n  receiver: a\n  routes:\n    - receiver: c\n", `line 7: route.routes[0].receiver: receiver "c" is not declared`},
		{"root without receiver", base + "route: {group_by: [x]}\n", "route.receiver: the root route must name a default receiver"},
		{"root with matchers", base + "route: {receiver: a, matchers: [x=y]}\n", "the root route must not have matchers"},
		{"root continue", base + "route: {receiver: a, continue: true}\n", "the root route cannot continue"},
		{"duplicate receiver", "route: {receiver: a}\nreceivers:\n  - name: a\n  - name: a\n", `line 4: receivers[1].name: receiver "a" is declared twice`},
		{"receiver without name", "route: {receiver: a}\nreceivers:\n  - name: a\n  - {}\n", "receivers[1].name: is required"},
		{"receivers without route", base, "route: is required when receivers are declared"},
		{"wildcard with others", base + "route: {receiver: a, group_by: ['...', x]}\n", "cannot be combined"},
		{"duplicate group_by", base + "route: {receiver: a, group_by: [x, x]}\n", `label "x" is listed twice`},
		{"zero group_interval", base + "route: {receiver: a, group_interval: 0s}\n", "route.group_interval: must be positive"},
		{"zero repeat_interval", base + "route:\n  receiver: a\n  routes:\n    - {repeat_interval: 0s}\n", "route.routes[0].repeat_interval: must be positive"},
		{"bad duration", base + "route: {receiver: a, group_wait: 5 minutes}\n", `line 4: "5 minutes" is not a duration`},
		{"bad matcher", base + "route:\n  receiver: a\n  routes:\n    - matchers: ['severity=~\"(\"']\n", "line 7: bad matcher"},
		{"matcher not a list", base + "route:\n  receiver: a\n  routes:\n    - matchers: 'a=b'\n", "line 7: matchers must be a list"},
		{"bad match_re", base + "route:\n  receiver: a\n  routes:\n    - match_re: {a: '('}\n", "route.routes[0].match_re: regex for a"},
		{"negative rate cap", "route: {receiver: a}\nreceivers:\n  - {name: a, max_notifications_per_minute: -1}\n", "must not be negative"},
		{"undeclared time interval", base + "route:\n  receiver: a\n  routes:\n    - mute_time_intervals: [night]\n", `time interval "night" is not declared`},
		{"root mute interval", base + "route: {receiver: a, mute_time_intervals: [x]}\ntime_intervals: [{name: x, time_intervals: []}]\n", "must not have mute time intervals"},
		{"duplicate time interval", base + "route: {receiver: a}\ntime_intervals:\n  - {name: x}\n  - {name: x}\n", `time interval "x" is declared twice`},
		{"bad weekday", base + "route: {receiver: a}\ntime_intervals:\n  - name: x\n    time_intervals: [{weekdays: [funday]}]\n", `line 7: "funday" is not a weekday range`},
		{"bad time range", base + "route: {receiver: a}\ntime_intervals:\n  - name: x\n    time_intervals: [{times: [{start_time: '18:00', end_time: '08:00'}]}]\n", "is not before end_time"},
		{"unknown key in time range", base + "route: {receiver: a}\ntime_intervals:\n  - name: x\n    time_intervals:\n      - times:\n          - start_time: '08:00'\n            end_time: '09:00'\n            stop_time: '10:00'\n", "line 11: field stop_time not found"},
		{"unknown key in time period", base + "route: {receiver: a}\ntime_intervals:\n  - name: x\n    time_intervals:\n      - {weekday: [monday]}\n", "line 8: field weekday not found"},
		{"bad month range", base + "route: {receiver: a}\ntime_intervals: [{name: x, time_intervals: [{months: ['march:january']}]}]\n", "is not a month range"},
		{"bad days of month", base + "route: {receiver: a}\ntime_intervals: [{name: x, time_intervals: [{days_of_month: ['-1:5']}]}]\n", "the end must be negative"},
		{"bad location", base + "route: {receiver: a}\ntime_intervals: [{name: x, time_intervals: [{location: Mars/Olympus}]}]\n", "unknown time zone"},
		{"integration entry not a mapping", "route: {receiver: a}\nreceivers:\n  - name: a\n    slack_configs: [hello]\n", "line 4: each entry of slack_configs must be a mapping"},
		{"inhibit bad regex", base + "route: {receiver: a}\ninhibit_rules: [{source_match_re: {a: '['}}]\n", "inhibit_rules[0]: source: regex for a"},
		{"two documents", base + "route: {receiver: a}\n---\nroute: {receiver: b}\n", "more than one YAML document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := alerting.LoadConfig([]byte(c.yaml))
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.NotContains(t, err.Error(), "alerting.", "Go type names leak into the message")
		})
	}
}

func TestLoadConfigEmptyDisablesAlerting(t *testing.T) {
	cfg, err := alerting.LoadConfig(nil)
	require.NoError(t, err)
	require.Nil(t, cfg.Route)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// slackLike is what an integration's config looks like: its own strict type.
type slackLike struct {
	APIURL       string `yaml:"api_url"`
	Channel      string `yaml:"channel"`
	SendResolved *bool  `yaml:"send_resolved"`
	Title        string `yaml:"title"`
}

func TestIntegrationDecodeIsStrict(t *testing.T) {
	const cfgYAML = `route: {receiver: a}
x-defaults: &defaults
  api_url: https://hooks.example/x
  title: from the anchor
receivers:
  - name: a
    slack_configs:
      - channel: "#ok"
        <<: *defaults
      - api_url: https://hooks.example/y
        channel: "#bad"
        chanel: "#typo"
`
	// A top-level extension key is not part of the section: strip it for LoadConfig
	// by loading through a wrapper that knows it.
	var wrapped struct {
		alerting.Config `yaml:",inline"`
		Defaults        map[string]string `yaml:"x-defaults"`
	}
	require.NoError(t, decodeStrict([]byte(cfgYAML), &wrapped))
	cfg := &wrapped.Config
	require.NoError(t, cfg.Validate())

	var got []slackLike
	build := func(kind string, decode func(any) error) (alerting.Notifier, error) {
		var c slackLike
		if err := decode(&c); err != nil {
			return nil, err
		}
		got = append(got, c)
		return alerting.NewConsole(nil, alerting.ConsoleConfig{}), nil
	}
	_, err := alerting.BuildReceivers(cfg, build)
	require.Error(t, err)
	require.Contains(t, err.Error(), "receivers[0].slack_configs[1]: line 12: field chanel not found")
	require.Len(t, got, 1)
	require.Equal(t, slackLike{APIURL: "https://hooks.example/x", Channel: "#ok", Title: "from the anchor"}, got[0], "merge keys from anchors elsewhere in the file are kept")

	// ApplyConfig refuses the whole config.
	d, err := alerting.New(alerting.Options{})
	require.NoError(t, err)
	require.ErrorContains(t, d.ApplyConfig(cfg, build), "field chanel not found")

	// The first entry too, with the line of the key.
	first, err := alerting.LoadConfig([]byte("route: {receiver: a}\nreceivers:\n  - name: a\n    slack_configs:\n      - api_url: https://hooks.example/x\n        channel: '#c'\n        icon_emoji: ':fire:'\n"))
	require.NoError(t, err)
	_, err = alerting.BuildReceivers(first, build)
	require.EqualError(t, err, "receivers[0].slack_configs[0]: line 7: field icon_emoji not found here")

	// A type error names the line too.
	cfg2, err := alerting.LoadConfig([]byte("route: {receiver: a}\nreceivers:\n  - name: a\n    slack_configs:\n      - channel: [x]\n"))
	require.NoError(t, err)
	_, err = alerting.BuildReceivers(cfg2, build)
	require.ErrorContains(t, err, "line 5:")

	// An unknown kind is refused by Builders.
	_, err = alerting.BuildReceivers(cfg2, alerting.Builders{}.Build)
	require.ErrorContains(t, err, "slack_configs is not supported by this build")
}

func TestNewIntegrationConfig(t *testing.T) {
	ic, err := alerting.NewIntegrationConfig(alerting.KindConsole, map[string]any{"send_resolved": false})
	require.NoError(t, err)
	var c alerting.ConsoleConfig
	require.NoError(t, ic.Decode(&c))
	require.False(t, *c.SendResolved)
	_, err = alerting.NewIntegrationConfig(alerting.KindConsole, "scalar")
	require.Error(t, err)
}

func TestParseMatchers(t *testing.T) {
	lbls := map[string]string{"severity": "critical", "model": "fraud-v2", "team": "ml"}
	cases := []struct {
		in      string
		matches bool
		n       int
	}{
		{`severity="critical"`, true, 1},
		{`severity=critical`, true, 1},
		{`severity!="warning"`, true, 1},
		{`severity=~"crit.*"`, true, 1},
		{`severity=~"crit"`, false, 1}, // anchored, as in Alertmanager
		{`model!~"churn|ltv"`, true, 1},
		{`{severity="critical", team="ml"}`, true, 2},
		{`severity="critical",team="data"`, false, 2},
		{`missing=""`, true, 1}, // a missing label has the empty value
		{`missing!=""`, false, 1},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			ms, err := alerting.ParseMatchers(c.in)
			require.NoError(t, err)
			require.Len(t, ms, c.n)
			ok := true
			for _, m := range ms {
				ok = ok && m.Matches(lbls[m.Name])
			}
			require.Equal(t, c.matches, ok)
		})
	}
	for _, bad := range []string{"", "{}", `severity=~"("`, "=x"} {
		_, err := alerting.ParseMatchers(bad)
		require.Error(t, err, bad)
	}
}

// rootLike is how vigil's root config embeds the section: inline, under a parent with a
// func-style UnmarshalYAML (defaults first), decoded with KnownFields.
type rootLike struct {
	Global          map[string]string `yaml:"global"`
	alerting.Config `yaml:",inline"`
}

func (r *rootLike) UnmarshalYAML(unmarshal func(any) error) error {
	*r = rootLike{Global: map[string]string{"storage_path": "data/"}}
	type plain rootLike
	return unmarshal((*plain)(r))
}

func TestInlineInRootConfig(t *testing.T) {
	good := "global: {storage_path: /var/lib/vigil}\nroute: {receiver: a}\nreceivers:\n  - name: a\n    console_configs: [{}]\n"
	var r rootLike
	require.NoError(t, decodeStrict([]byte(good), &r))
	require.NoError(t, r.Validate())
	require.Len(t, r.Receivers[0].Integrations, 1)

	bad := "global: {}\nroute:\n  receiver: a\n  routes:\n    - {receiver: a, matcher: [x=y]}\nreceivers: [{name: a}]\n"
	err := decodeStrict([]byte(bad), &rootLike{})
	require.ErrorContains(t, err, "line 5: field matcher not found")

	// Validation errors carry the field path, which the root loader turns into a line.
	var r2 rootLike
	require.NoError(t, decodeStrict([]byte("global: {}\nroute:\n  receiver: a\n  routes:\n    - receiver: b\nreceivers: [{name: a}]\n"), &r2))
	err = r2.Validate()
	var fe *alerting.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "route.routes[0].receiver", fe.Field)
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("global: {}\nroute:\n  receiver: a\n  routes:\n    - receiver: b\nreceivers: [{name: a}]\n"), &root))
	require.Equal(t, 5, alerting.LineOf(&root, fe.Field))
}
