package alerting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertingtest"
)

const benchConfig = `
route:
  receiver: team
  group_by: [alertname, model]
  routes:
    - matchers: [severity="critical"]
      receiver: pager
      continue: true
receivers:
  - name: team
    webhook_configs: [{name: rec}]
  - name: pager
    pagerduty_configs: [{name: pd}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [model]
`

// benchAlerts returns 5,000 alerts in 500 groups (alertname × model), 10 per group.
func benchAlerts() []*alerting.Alert {
	var out []*alerting.Alert
	for g := range 500 {
		for i := range 10 {
			sev := "warning"
			if i == 0 {
				sev = "critical"
			}
			a := alert("alertname", fmt.Sprintf("Rule%d", g%50), "model", fmt.Sprintf("model-%d", g/50),
				"feature", fmt.Sprintf("f%d", i), "severity", sev, "team", "ml")
			a.Annotations = map[string]string{"summary": "drift on a feature"}
			out = append(out, a)
		}
	}
	return out
}

func benchDispatcher(b *testing.B) *alerting.Dispatcher {
	d, err := alerting.New(alerting.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := alerting.LoadConfig([]byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	recs := map[string]*alertingtest.Recorder{"rec": alertingtest.NewRecorder(), "pd": alertingtest.NewRecorder()}
	if err := d.ApplyConfig(cfg, alertingtest.Builder(recs)); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkPut measures one Put of 5,000 alerts into 500 groups: "new" routes them
// into fresh groups (the first evaluation), "steady" re-puts known alerts (every
// evaluation after).
func BenchmarkPut(b *testing.B) {
	alerts := benchAlerts()
	ctx := context.Background()
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			d := benchDispatcher(b)
			b.StartTimer()
			if err := d.Put(ctx, alerts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("steady", func(b *testing.B) {
		d := benchDispatcher(b)
		if err := d.Put(ctx, alerts); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := d.Put(ctx, alerts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFlush measures the Tick that flushes the 550 groups of those 5,000 alerts
// (500 for the team, 50 critical ones for the pager) and delivers their messages to
// recording integrations, with an in-memory store.
func BenchmarkFlush(b *testing.B) {
	alerts := benchAlerts()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		d := benchDispatcher(b)
		if err := d.Put(ctx, alerts); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		d.Tick(ctx, t0.Add(time.Minute))
	}
}
