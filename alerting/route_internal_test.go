package alerting

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The routing tree of Alertmanager's dispatch/route_test.go TestRouteMatch, in vigil's
// syntax, with the same expectations.
const routeTree = `
receivers: [{name: notify-def}, {name: notify-A}, {name: notify-B}, {name: notify-BC}, {name: notify-productionA}, {name: notify-productionB}, {name: notify-testing}, {name: notify-kafka}]
route:
  receiver: notify-def
  routes:
    - matchers: [owner=team-A]
      receiver: notify-A
      routes:
        - matchers: [env=testing]
          receiver: notify-testing
          group_by: ['...']
        - matchers: [env=production]
          receiver: notify-productionA
          group_wait: 1m
          continue: true
        - matchers: ['env=~"produ.*"', 'job=~".*"']
          receiver: notify-productionB
          group_wait: 30s
          group_interval: 5m
          repeat_interval: 1h
          group_by: [job, kafka]
    - matchers: ['owner=~"team-(B|C)"']
      group_by: [foo, bar]
      group_wait: 2m
      receiver: notify-BC
    - matchers: [group_by=role]
      group_by: [role]
      routes:
        - matchers: [env=testing]
          receiver: notify-testing
          routes:
            - matchers: [wait=long]
              group_wait: 2m
    - matchers: [kafka=yes]
      receiver: notify-kafka
      group_by: []
`

func TestRouteMatch(t *testing.T) {
	cfg, err := LoadConfig([]byte(routeTree))
	require.NoError(t, err)
	root := compileRoute(cfg.Route)

	type want struct {
		receiver   string
		groupBy    []string
		groupByAll bool
		wait       time.Duration
		interval   time.Duration
		repeat     time.Duration
	}
	def := want{groupBy: []string{}, wait: 30 * time.Second, interval: 5 * time.Minute, repeat: 4 * time.Hour}
	with := func(f func(*want)) want { w := def; f(&w); return w }
	cases := []struct {
		name   string
		labels map[string]string
		want   []want
	}{
		{"no child matches: the root takes it", map[string]string{"owner": "team-X"},
			[]want{with(func(w *want) { w.receiver = "notify-def" })}},
		{"first matching child", map[string]string{"owner": "team-A"},
			[]want{with(func(w *want) { w.receiver = "notify-A" })}},
		{"regex child", map[string]string{"owner": "team-B"},
			[]want{with(func(w *want) { w.receiver = "notify-BC"; w.groupBy = []string{"bar", "foo"}; w.wait = 2 * time.Minute })}},
		{"nested, group_by '...'", map[string]string{"owner": "team-A", "env": "testing"},
			[]want{with(func(w *want) { w.receiver = "notify-testing"; w.groupBy = nil; w.groupByAll = true })}},
		{"continue: the next sibling matches too", map[string]string{"owner": "team-A", "env": "production"},
			[]want{
				with(func(w *want) { w.receiver = "notify-productionA"; w.wait = time.Minute }),
				with(func(w *want) {
					w.receiver = "notify-productionB"
					w.groupBy = []string{"job", "kafka"}
					w.repeat = time.Hour
				}),
			}},
		{"group_by and receiver inherited two levels down", map[string]string{"group_by": "role", "env": "testing", "wait": "long"},
			[]want{with(func(w *want) { w.receiver = "notify-testing"; w.groupBy = []string{"role"}; w.wait = 2 * time.Minute })}},
		{"receiver inherited from the root", map[string]string{"group_by": "role"},
			[]want{with(func(w *want) { w.receiver = "notify-def"; w.groupBy = []string{"role"} })}},
		{"explicit empty group_by", map[string]string{"kafka": "yes"},
			[]want{with(func(w *want) { w.receiver = "notify-kafka"; w.groupBy = []string{} })}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []want
			for _, r := range root.match(c.labels, nil) {
				got = append(got, want{r.receiver, r.groupBy, r.groupByAll, r.groupWait, r.groupInterval, r.repeatInterval})
			}
			require.Equal(t, c.want, got)
		})
	}
}

func TestRouteKeysAndGroupLabels(t *testing.T) {
	cfg, err := LoadConfig([]byte(routeTree))
	require.NoError(t, err)
	root := compileRoute(cfg.Route)
	l := map[string]string{"owner": "team-A", "env": "production", "job": "j", "x": "1"}
	rs := root.match(l, nil)
	require.Len(t, rs, 2)
	require.Equal(t, `{}/{owner="team-A"}/{env="production"}`, rs[0].key)
	gl := rs[1].groupLabels(l)
	require.Equal(t, map[string]string{"job": "j"}, gl, "kafka is absent, so it is not a group label")
	require.Equal(t, `{}/{owner="team-A"}/{env=~"produ.*",job=~".*"}:{job="j"}`, rs[1].groupKey(gl))

	all := root.match(map[string]string{"owner": "team-A", "env": "testing", "a": "b"}, nil)[0]
	require.Equal(t, map[string]string{"owner": "team-A", "env": "testing", "a": "b"}, all.groupLabels(map[string]string{"owner": "team-A", "env": "testing", "a": "b"}))
}

func TestNeedsUpdate(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	repeat := 4 * time.Hour
	base := func(firing, resolved []uint64, age time.Duration) *baseline {
		return &baseline{firing: firing, resolved: resolved, asOf: now.Add(-age)}
	}
	cases := []struct {
		name                      string
		base                      *baseline
		visible, firing, resolved []uint64
		sendResolved              bool
		want                      string
	}{
		{"first", nil, []uint64{1}, []uint64{1}, nil, true, reasonFirst},
		{"nothing firing, never told", nil, nil, nil, []uint64{1}, true, ""},
		{"new alert", base([]uint64{1}, nil, time.Minute), []uint64{1, 2}, []uint64{1, 2}, nil, true, reasonNewAlerts},
		{"after a resolve, firing again is a first", base(nil, []uint64{1}, time.Minute), []uint64{1}, []uint64{1}, nil, true, reasonFirst},
		{"unchanged inside repeat", base([]uint64{1}, nil, time.Hour), []uint64{1}, []uint64{1}, nil, true, ""},
		{"unchanged at repeat", base([]uint64{1}, nil, repeat), []uint64{1}, []uint64{1}, nil, true, reasonRepeat},
		{"all resolved", base([]uint64{1}, nil, time.Minute), nil, nil, []uint64{1}, true, reasonAllResolved},
		{"all resolved without send_resolved", base([]uint64{1}, nil, time.Minute), nil, nil, []uint64{1}, false, reasonAllResolved},
		{"one resolved", base([]uint64{1, 2}, nil, time.Minute), []uint64{2}, []uint64{2}, []uint64{1}, true, reasonNewResolved},
		{"one resolved without send_resolved", base([]uint64{1, 2}, nil, time.Minute), []uint64{2}, []uint64{2}, []uint64{1}, false, ""},
		{"muted but known: no repeat", base([]uint64{1}, nil, 5*time.Hour), nil, []uint64{1}, nil, true, ""},
		{"muted known resolves", base([]uint64{1}, nil, 5*time.Hour), nil, nil, []uint64{1}, true, reasonAllResolved},
		{"subset of firing is no news", base([]uint64{1, 2}, nil, time.Minute), []uint64{1}, []uint64{1, 2}, nil, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, needsUpdate(c.base, c.visible, c.firing, c.resolved, c.sendResolved, repeat, now))
		})
	}
}

func TestBackoff(t *testing.T) {
	j := 0.999999
	d := &Dispatcher{opts: Options{MinBackoff: time.Second, MaxBackoff: 5 * time.Minute, Jitter: func() float64 { return j }}}
	ceil := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, c := range ceil {
		got := d.backoff(n + 1)
		require.InDelta(t, c.Seconds(), got.Seconds(), 0.01, "attempt %d", n+1)
	}
	require.Equal(t, 5*time.Minute, d.backoff(1000).Round(time.Second), "no overflow on long outages")
	j = 0
	for n := 1; n < 40; n++ {
		require.Equal(t, time.Second, d.backoff(n), "the floor holds")
	}
	j = 0.5
	require.Equal(t, 2500*time.Millisecond, d.backoff(3))
}
