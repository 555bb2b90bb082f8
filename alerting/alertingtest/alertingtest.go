// Package alertingtest holds test doubles for vigil's alerting: a fake clock, a
// recording Notifier with scripted failures, and a builder that wires recorders into
// a config. Integrations' tests and the dispatcher's tests share them.
package alertingtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vigilml/vigil/alerting"
)

// Clock is a fake clock, safe for concurrent use; pass its Now as Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Result is a scripted outcome of one Notify call.
type Result struct {
	State map[string]string
	Err   error
}

// Recorder is a Notifier that records every message it is asked to deliver and
// answers from a script (then succeeds). It is safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	script   []Result
	attempts []*alerting.Message
	accepted []*alerting.Message
	resolved bool
	// OnNotify, when set, is called on every attempt before the script is consulted
	// (e.g. to block, or to look at the context).
	OnNotify func(ctx context.Context, m *alerting.Message)
}

// NewRecorder returns a Recorder that accepts everything and wants resolved alerts.
func NewRecorder() *Recorder { return &Recorder{resolved: true} }

// WithoutResolved makes the Recorder report send_resolved: false.
func (r *Recorder) WithoutResolved() *Recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resolved = false
	return r
}

// SendResolved implements alerting.ResolvedSender.
func (r *Recorder) SendResolved() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resolved
}

// Script queues outcomes for the next calls.
func (r *Recorder) Script(results ...Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, results...)
}

// Fail queues n failures with err.
func (r *Recorder) Fail(err error, n int) {
	for range n {
		r.Script(Result{Err: err})
	}
}

// Notify implements alerting.Notifier.
func (r *Recorder) Notify(ctx context.Context, m *alerting.Message) (map[string]string, error) {
	if r.OnNotify != nil {
		r.OnNotify(ctx, m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, m)
	var res Result
	if len(r.script) > 0 {
		res, r.script = r.script[0], r.script[1:]
	}
	if res.Err != nil {
		return nil, res.Err
	}
	r.accepted = append(r.accepted, m)
	return maps.Clone(res.State), nil
}

// Messages returns the messages accepted so far.
func (r *Recorder) Messages() []*alerting.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted)
}

// Attempts returns every message Notify was called with, failed attempts included.
func (r *Recorder) Attempts() []*alerting.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

// Reset forgets the recorded messages (not the script).
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts, r.accepted = nil, nil
}

// RecorderConfig is what Builder decodes from an integration entry of any kind:
// {name: <recorder>}.
type RecorderConfig struct {
	Name string `yaml:"name"`
}

// Builder returns an IntegrationBuilder that decodes each entry (strictly) as
// RecorderConfig and hands out the named recorder, whatever the kind.
func Builder(recorders map[string]*Recorder) alerting.IntegrationBuilder {
	return func(kind string, decode func(any) error) (alerting.Notifier, error) {
		var c RecorderConfig
		if err := decode(&c); err != nil {
			return nil, err
		}
		r, ok := recorders[c.Name]
		if !ok {
			return nil, fmt.Errorf("no recorder %q for %s", c.Name, kind)
		}
		return r, nil
	}
}

// Alert returns a firing alert with the given label pairs ("alertname", "X", ...).
func Alert(labelPairs ...string) *alerting.Alert {
	if len(labelPairs)%2 != 0 {
		panic("alertingtest.Alert: odd number of label strings")
	}
	l := map[string]string{}
	for i := 0; i < len(labelPairs); i += 2 {
		l[labelPairs[i]] = labelPairs[i+1]
	}
	return &alerting.Alert{Labels: l, Annotations: map[string]string{}}
}
