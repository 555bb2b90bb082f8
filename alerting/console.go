package alerting

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// ConsoleConfig is an entry of console_configs: the demo's integration, which writes
// human-readable lines.
type ConsoleConfig struct {
	// SendResolved says whether resolved alerts are written (default true).
	SendResolved *bool `yaml:"send_resolved,omitempty"`
}

// Console is the simplest Notifier: it writes each message as lines of text.
type Console struct {
	mu           sync.Mutex
	w            io.Writer
	sendResolved bool
}

// NewConsole returns a Console writing to w.
func NewConsole(w io.Writer, cfg ConsoleConfig) *Console {
	return &Console{w: w, sendResolved: cfg.SendResolved == nil || *cfg.SendResolved}
}

// BuildConsole returns the build function of console_configs entries, writing to w.
func BuildConsole(w io.Writer) func(decode func(any) error) (Notifier, error) {
	return func(decode func(any) error) (Notifier, error) {
		var cfg ConsoleConfig
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return NewConsole(w, cfg), nil
	}
}

// SendResolved implements ResolvedSender.
func (c *Console) SendResolved() bool { return c.sendResolved }

// Notify writes one header line and one line per alert:
//
//	[FIRING:1] slack-ml {alertname="AccuracyDrop", model="fraud"}
//	  firing   {alertname="AccuracyDrop", model="fraud", severity="critical"} value=0.81 threshold=0.85 since 10:00:00Z: fraud accuracy is 0.810
func (c *Console) Notify(_ context.Context, m *Message) (map[string]string, error) {
	var b strings.Builder
	tag := strings.ToUpper(string(m.Status))
	if m.Digest {
		tag = "DIGEST:" + tag
	}
	firing := 0
	for _, a := range m.Alerts {
		if a.EndsAt.IsZero() {
			firing++
		}
	}
	fmt.Fprintf(&b, "[%s:%d] %s %s\n", tag, firing, m.Receiver, labelsString(m.GroupLabels))
	for _, a := range m.Alerts {
		st, at := "firing  ", a.StartsAt
		if !a.EndsAt.IsZero() {
			st, at = "resolved", a.EndsAt
		}
		fmt.Fprintf(&b, "  %s %s value=%g threshold=%g since %s", st, labelsString(a.Labels), a.Value, a.Threshold, at.UTC().Format(time.RFC3339))
		keys := make([]string, 0, len(a.Annotations))
		for k := range a.Annotations {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if s, ok := a.Annotations["summary"]; ok {
			fmt.Fprintf(&b, ": %s", s)
		} else if len(keys) > 0 {
			fmt.Fprintf(&b, ": %s", a.Annotations[keys[0]])
		}
		b.WriteByte('\n')
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return nil, Retryable(fmt.Errorf("console: %w", err), 0)
	}
	return nil, nil
}
