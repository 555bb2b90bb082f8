package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/vigilml/vigil/demo"
	"github.com/vigilml/vigil/monitor"
)

// runDemo is `vigil demo`: vigil with synthetic traffic that drifts and fails on a schedule.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("web.listen-address", monitor.DefaultListenAddress, "address of vigil's HTTP API and status page (a free port is used when it is taken)")
	speed := fs.Float64("speed", 1, "time compression: 2 plays the story twice as fast (about 3 minutes at 1)")
	duration := fs.Duration("duration", 0, "end the demo after this long (default: when the story is over)")
	slackURL := fs.String("slack-webhook-url", os.Getenv("VIGIL_DEMO_SLACK_WEBHOOK_URL"), "also send every alert to this Slack incoming webhook (env VIGIL_DEMO_SLACK_WEBHOOK_URL)")
	pdKey := fs.String("pagerduty-routing-key", os.Getenv("VIGIL_DEMO_PAGERDUTY_ROUTING_KEY"), "also page critical alerts to this PagerDuty Events API v2 routing key (env VIGIL_DEMO_PAGERDUTY_ROUTING_KEY)")
	logCfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
	_ = logCfg.Level.Set("error")
	fs.Var(logCfg.Level, "log.level", "vigil's own log level (its logs go to stderr): debug, info, warn, error")
	fs.Var(logCfg.Format, "log.format", "log format: logfmt, json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *speed <= 0 {
		fmt.Fprintln(stderr, "vigil demo: --speed must be positive")
		return 2
	}
	logCfg.Writer = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := demo.Start(demo.Options{
		ListenAddress: *listen, Speed: *speed, Duration: *duration, Out: stdout,
		Logger: promslog.New(logCfg), SlackWebhookURL: *slackURL, PagerDutyRoutingKey: *pdKey,
	})
	if err != nil {
		fmt.Fprintf(stderr, "vigil demo: %v\n", err)
		return 1
	}
	code := 0
	if err := d.Play(ctx); err != nil {
		fmt.Fprintf(stderr, "vigil demo: %v\n", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(sctx); err != nil {
		fmt.Fprintf(stderr, "vigil demo: stop: %v\n", err)
		code = 1
	}
	fmt.Fprintln(stdout, "demo over.")
	return code
}
