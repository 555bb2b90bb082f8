package alerting_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilml/vigil/alerting"
)

// fuzzIntegration is a strict integration config for the fuzzer's builder.
type fuzzIntegration struct {
	Name         string            `yaml:"name"`
	URL          string            `yaml:"url"`
	SendResolved *bool             `yaml:"send_resolved"`
	Headers      map[string]string `yaml:"headers"`
	Tags         []string          `yaml:"tags"`
}

func fuzzBuild(kind string, decode func(any) error) (alerting.Notifier, error) {
	var c fuzzIntegration
	if err := decode(&c); err != nil {
		return nil, err
	}
	return alerting.NotifierFunc(func(context.Context, *alerting.Message) (map[string]string, error) { return nil, nil }), nil
}

// FuzzLoadConfig feeds arbitrary YAML to the loader, then builds and applies whatever
// loads, and routes a few alerts through it: nothing may panic or hang.
func FuzzLoadConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{oneReceiver, twoReceivers, pagerConfig, inhibitConfig, cappedReceiver,
		"route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: x, <<: {name: y}}]}]\n",
		"x: &a {name: b}\nroute: {receiver: a}\n",
		"route: {receiver: a, routes: [{matchers: ['{a=\"b\", c=~\"d\"}'], continue: true}, {group_by: ['...']}]}\nreceivers: [{name: a}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(runFuzzOne)
}

func runFuzzOne(t *testing.T, data []byte) {
	{
		cfg, err := alerting.LoadConfig(data)
		if err != nil {
			return
		}
		d, err := alerting.New(alerting.Options{Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ApplyConfig(cfg, fuzzBuild); err != nil {
			return
		}
		ctx := context.Background()
		_ = d.Put(ctx, []*alerting.Alert{alert("alertname", "A", "severity", "critical", "team", "ml"), alert("alertname", "B")})
		d.Tick(ctx, t0.Add(time.Hour))
	}
}
