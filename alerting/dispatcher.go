package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Options.
const (
	DefaultMaxOutbox      = 10000
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultMaxRetryAfter  = time.Hour
	DefaultAttemptTimeout = 30 * time.Second
	DefaultResolveTimeout = 5 * time.Minute
	DefaultRetention      = 120 * time.Hour
	DefaultHistoryLimit   = 10000

	// gcInterval is how often resolved alerts, old notification log entries and
	// expired silences are collected.
	gcInterval = time.Minute
	// alertRetention is how long a resolved alert that no group holds is remembered, so
	// that rules re-sending it do not make it new again.
	alertRetention = 15 * time.Minute
	// rateWindow is the period of max_notifications_per_minute.
	rateWindow = time.Minute
	// maxRunWait bounds the Run loop's sleep, against wall-clock jumps.
	maxRunWait = 5 * time.Second
)

// Options configure a Dispatcher. Zero fields take the defaults above.
type Options struct {
	// Store keeps the outbox, notification log, silences and history; nil keeps them in
	// memory (lost on restart). Its owner closes it, after Stop.
	Store Store
	// Logger gets operational logs (component=alerting); nil discards them.
	Logger *slog.Logger
	// Registerer gets the metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
	// Now is the clock. Run sleeps on real timers, so with a fake Now drive the
	// dispatcher with Tick instead (or run Run in a testing/synctest bubble).
	Now func() time.Time
	// Audit receives the audit trail as JSON lines (one Event per line); nil: none.
	Audit io.Writer
	// ExternalURL is vigil's own URL, copied into messages for links back.
	ExternalURL string
	// MaxOutbox bounds each (receiver, integration) queue; past it the oldest queued
	// message is evicted, logged at Error and counted in vigil_notifications_dropped_total.
	MaxOutbox int
	// MinBackoff and MaxBackoff bound the retry delay: attempt n waits a uniformly random
	// ("full jitter") delay between MinBackoff and min(MaxBackoff, MinBackoff·2^(n-1)).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps how long a peer's Retry-After may hold a queue.
	MaxRetryAfter time.Duration
	// Jitter returns a number in [0, 1) for the backoff; tests fix it.
	Jitter func() float64
	// AttemptTimeout bounds one Notify call.
	AttemptTimeout time.Duration
	// ResolveTimeout resolves a firing alert that Put has not refreshed for this long
	// (Alertmanager's resolve_timeout): rules re-send their alerts every evaluation, so
	// an alert that stops arriving (its rule was removed) does not fire forever.
	ResolveTimeout time.Duration
	// Retention is how long notification log entries and expired silences are kept.
	// Log entries are kept at least a day longer than the longest repeat_interval.
	Retention time.Duration
	// HistoryLimit bounds the audit events kept for History (and in the store).
	HistoryLimit int
}

// Dispatcher routes alerts to receivers: it groups them along the routing tree, times
// the groups' notifications as Alertmanager does (group_wait, group_interval,
// repeat_interval), applies silences, inhibition and time intervals, caps each
// receiver's rate with digests, and delivers through a durable outbox.
//
// # Delivery guarantee
//
// At least once, with at most one duplicate per (receiver, integration) per crash:
//
//  1. When a group is flushed, each message due is written to the outbox (one fsynced
//     store transaction per flush round) before any attempt to send it. A crash
//     after that point loses nothing: the message is retried after the restart.
//  2. A message is attempted; on success, one store transaction both records it in
//     the notification log (group key → flush time, firing and resolved alert
//     fingerprints, the integration's returned State) and deletes it from the outbox,
//     and only then does the queue move on. Each queue has at most one attempt in
//     flight, so a kill -9 between a peer accepting a message and that transaction
//     re-sends exactly that one message after the restart, never more, and never
//     loses one.
//  3. After a restart the notification log suppresses repeats: a group notified before
//     the crash is not notified again inside repeat_interval unless it changed
//     (alertmanager#2370 loses this because its log is snapshotted every 15 minutes).
//  4. A retryable failure keeps the message queued (attempt count and next attempt
//     time stored, so a restart still honours Retry-After); only a permanent error or
//     eviction from a full outbox gives a message up, and both are logged and counted.
//
// The outbox holds at most one undelivered message per (integration, group): a newer
// state of the group replaces the queued one in place (keeping its place and retry
// time), so an outage does not pile up stale messages. Held digests (rate cap) are
// outbox entries too. If the store itself fails a write, the dispatcher logs it and
// carries on in memory, so that alerts still go out while durability is lost.
//
// # Silences after a page (alertmanager#226)
//
// An alert a receiver was told is firing stays in that receiver's notification log
// while it is silenced, inhibited or in a mute time interval: no new or repeated
// notification goes out for it, but when it resolves, the resolved message still
// reaches every integration that got the firing one, so PagerDuty incidents close.
type Dispatcher struct {
	opts     Options
	logger   *slog.Logger
	now      func() time.Time
	store    Store
	j        *journal
	silences *Silences
	m        *metrics

	mu       sync.Mutex
	cfg      *compiled
	gen      uint64
	alerts   map[uint64]*alertEntry
	groups   map[string]*group
	queues   map[string]*queue
	nflog    map[string]*nflogEntry
	seq      uint64
	nextGC   time.Time
	wake     chan struct{}
	runMu    sync.Mutex
	cancel   context.CancelFunc
	runDone  chan struct{}
	lastInts []Integration
	// maxRepeat is the longest repeat_interval of the applied config: the
	// notification log keeps entries at least that long (plus a day), whatever Retention.
	maxRepeat time.Duration
}

// compiled is one applied config.
type compiled struct {
	root      *route
	receivers map[string]*receiverState
	intervals map[string]TimeInterval
	inhibit   []*inhibitRule
}

type receiverState struct {
	name        string
	cap         int
	queues      []*queue
	windowStart time.Time
	count       int
}

type alertEntry struct {
	fp       uint64
	a        *Alert
	lastSeen time.Time
	status   Status // last recorded in the audit trail
	groups   int    // groups holding the alert
	told     bool   // resolved and flushed out of every group
	gen      uint64 // config generation of refs
	refs     []groupRef
}

type groupRef struct {
	r      *route
	id     string
	labels map[string]string
}

type group struct {
	id     string
	key    string
	r      *route
	labels map[string]string
	alerts map[uint64]*alertEntry
	// done holds, for resolved alerts flushed out of the group, the EndsAt they were
	// reported with: rules re-sending them do not put them back.
	done map[uint64]time.Time
	next time.Time
}

// New returns a Dispatcher with the state found in opts.Store. It routes nothing until
// ApplyConfig.
func New(opts Options) (*Dispatcher, error) {
	if opts.Store == nil {
		opts.Store = NewMemStore()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.MinBackoff, DefaultMinBackoff)
	def(&opts.MaxBackoff, DefaultMaxBackoff)
	def(&opts.MaxRetryAfter, DefaultMaxRetryAfter)
	def(&opts.AttemptTimeout, DefaultAttemptTimeout)
	def(&opts.ResolveTimeout, DefaultResolveTimeout)
	def(&opts.Retention, DefaultRetention)
	if opts.MaxBackoff < opts.MinBackoff {
		return nil, fmt.Errorf("max backoff %s is below min backoff %s", opts.MaxBackoff, opts.MinBackoff)
	}
	if opts.MaxOutbox <= 0 {
		opts.MaxOutbox = DefaultMaxOutbox
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = DefaultHistoryLimit
	}
	logger := opts.Logger.With("component", "alerting")
	j, err := newJournal(opts.Store, opts.Audit, opts.HistoryLimit, logger)
	if err != nil {
		return nil, fmt.Errorf("load alert history: %w", err)
	}
	sil, err := newSilences(j, opts.Now, opts.Retention, logger)
	if err != nil {
		return nil, fmt.Errorf("load silences: %w", err)
	}
	d := &Dispatcher{
		opts: opts, logger: logger, now: opts.Now, store: opts.Store, j: j, silences: sil,
		alerts: map[uint64]*alertEntry{},
		groups: map[string]*group{},
		queues: map[string]*queue{},
		nflog:  map[string]*nflogEntry{},
		wake:   make(chan struct{}, 1),
	}
	d.m = newMetrics(opts.Registerer, sil.counts, opts.Now)
	if err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

// load reads the notification log and the outbox from the store.
func (d *Dispatcher) load() error {
	err := d.store.Load(BucketNflog, func(k, v []byte) error {
		var e nflogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			d.logger.Error("unreadable notification log entry, skipped", "err", err)
			return nil
		}
		d.nflog[string(k)] = &e
		return nil
	})
	if err != nil {
		return fmt.Errorf("load notification log: %w", err)
	}
	n := 0
	err = d.store.Load(BucketOutbox, func(_, v []byte) error {
		var e outboxEntry
		if err := json.Unmarshal(v, &e); err != nil || e.Message == nil {
			d.logger.Error("unreadable outbox entry, skipped", "err", err)
			return nil
		}
		q := d.queue(e.Receiver, e.Integration)
		q.entries = append(q.entries, &e)
		q.latest[e.GroupKey] = &e
		d.seq = max(d.seq, e.ID)
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("load outbox: %w", err)
	}
	for _, q := range d.queues {
		d.setOutboxGauge(q.receiver)
	}
	if n > 0 {
		d.logger.Info("undelivered notifications found in the outbox; they are sent once their receivers are configured", "count", n)
	}
	return nil
}

// queue returns the queue of an integration ("slack/0") of a receiver, creating it.
func (d *Dispatcher) queue(receiver, integration string) *queue {
	id := receiver + "\x1f" + integration
	q, ok := d.queues[id]
	if !ok {
		kind, _, _ := strings.Cut(integration, "/")
		q = &queue{id: id, receiver: receiver, integration: integration, kind: kind, latest: map[string]*outboxEntry{}, sendResolved: true}
		d.queues[id] = q
	}
	return q
}

// Silences returns the dispatcher's silences, for the API and the CLI.
func (d *Dispatcher) Silences() *Silences { return d.silences }

// History returns audit events, oldest first, for GET /api/v1/alerts/history.
func (d *Dispatcher) History(f HistoryFilter) []Event { return d.j.history(f) }

// ApplyConfig builds everything the config needs (routes, time intervals, inhibit
// rules, one Notifier per integration entry through build) and then swaps it in
// atomically; on any error nothing changes. Alerts are re-routed into the new tree;
// groups that keep their key keep their timers; queued messages stay queued (the
// queue of an integration no longer configured is kept, paused, until it is again).
func (d *Dispatcher) ApplyConfig(cfg *Config, build IntegrationBuilder) error {
	if cfg == nil {
		return errors.New("nil config")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ints, err := BuildReceivers(cfg, build)
	if err != nil {
		return err
	}
	c := &compiled{receivers: map[string]*receiverState{}, intervals: map[string]TimeInterval{}}
	if cfg.Route != nil {
		c.root = compileRoute(cfg.Route)
	}
	for _, ti := range cfg.TimeIntervals {
		c.intervals[ti.Name] = ti
	}
	for _, ir := range cfg.InhibitRules {
		src, tgt, _ := ir.matchers() // validated
		c.inhibit = append(c.inhibit, &inhibitRule{source: src, target: tgt, equal: ir.Equal, sources: map[string]map[uint64]*alertEntry{}})
	}
	names := make([]string, 0, len(cfg.Receivers))
	for _, r := range cfg.Receivers {
		c.receivers[r.Name] = &receiverState{name: r.Name, cap: r.MaxNotificationsPerMinute}
		names = append(names, r.Name)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if old := d.cfg; old != nil {
		for name, rs := range old.receivers {
			if nr, ok := c.receivers[name]; ok {
				nr.windowStart, nr.count = rs.windowStart, rs.count
			}
		}
	}
	// Queues: keep each integration's queue (and its outbox entries), swap its notifier.
	for _, q := range d.queues {
		q.notifier = nil
	}
	for i := range ints {
		in := &ints[i]
		q := d.queue(in.Receiver, in.name())
		q.notifier = in.Notifier
		q.sendResolved = true
		if rs, ok := in.Notifier.(ResolvedSender); ok {
			q.sendResolved = rs.SendResolved()
		}
		c.receivers[in.Receiver].queues = append(c.receivers[in.Receiver].queues, q)
	}
	for id, q := range d.queues {
		switch {
		case q.notifier != nil:
		case len(q.entries) == 0:
			delete(d.queues, id)
		default:
			d.logger.Warn("receiver integration no longer configured; its queued notifications are kept until it is again",
				"receiver", q.receiver, "integration", q.integration, "queued", len(q.entries))
		}
	}
	d.m.initFor(d.lastInts, ints, names)
	d.lastInts = ints
	for _, q := range d.queues {
		d.setOutboxGauge(q.receiver)
	}

	// Groups: re-route every alert, keeping the timers of groups that survive.
	timers := map[string]time.Time{}
	for _, g := range d.groups {
		timers[g.r.receiver+"\x1f"+g.key] = g.next
	}
	d.cfg = c
	d.gen++
	d.maxRepeat = 0
	if c.root != nil {
		var walk func(r *route)
		walk = func(r *route) {
			d.maxRepeat = max(d.maxRepeat, r.repeatInterval)
			for _, ch := range r.children {
				walk(ch)
			}
		}
		walk(c.root)
	}
	d.groups = map[string]*group{}
	for _, e := range d.alerts {
		e.groups = 0
		for _, r := range c.inhibit {
			r.add(e)
		}
	}
	for _, e := range d.alerts {
		if e.told && d.resolved(e, now) {
			continue
		}
		d.route(e, now, timers)
	}
	d.poke()
	return nil
}

// Put hands the rules' current alerts to the dispatcher: new ones are routed into
// groups, known ones updated. Rules call it every evaluation with every alert they
// hold (firing, and recently resolved with EndsAt set); an alert not refreshed within
// ResolveTimeout resolves by itself. Alerts are copied. Transitions go to the audit
// trail (one store transaction per call).
func (d *Dispatcher) Put(ctx context.Context, alerts []*Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := d.now()
	var b batch
	d.mu.Lock()
	for _, in := range alerts {
		if in == nil || len(in.Labels) == 0 {
			continue
		}
		a := *in
		if a.StartsAt.IsZero() {
			a.StartsAt = now
		}
		fp := fingerprint(a.Labels)
		e, ok := d.alerts[fp]
		// Copy the maps, unless they equal the ones held (the steady state: rules re-send
		// the same alerts every evaluation), which are never modified and can be shared.
		if ok && maps.Equal(e.a.Labels, in.Labels) {
			a.Labels = e.a.Labels
		} else {
			a.Labels = maps.Clone(in.Labels)
		}
		if ok && maps.Equal(e.a.Annotations, in.Annotations) {
			a.Annotations = e.a.Annotations
		} else {
			a.Annotations = maps.Clone(in.Annotations)
		}
		if !ok {
			e = &alertEntry{fp: fp, a: &a}
			d.alerts[fp] = e
			if d.cfg != nil {
				for _, r := range d.cfg.inhibit {
					r.add(e)
				}
			}
		}
		e.a = &a
		e.lastSeen = now
		st := StatusFiring
		if d.resolved(e, now) {
			st = StatusResolved
		} else {
			e.told = false
		}
		if st != e.status {
			if ok || st == StatusFiring {
				b.event(Event{Time: now, Type: eventFor(st), Labels: a.Labels, Status: st})
			}
			e.status = st
		}
		if d.cfg == nil || (e.told && st == StatusResolved) {
			continue
		}
		d.route(e, now, nil)
	}
	d.commit(&b, "alert history")
	d.mu.Unlock()
	d.poke()
	return nil
}

func eventFor(s Status) EventType {
	if s == StatusFiring {
		return EventAlertFiring
	}
	return EventAlertResolved
}

// route inserts the alert into the groups of the routes it matches, creating them
// (with the timers in timers when given, for reloads). Callers hold d.mu.
func (d *Dispatcher) route(e *alertEntry, now time.Time, timers map[string]time.Time) {
	if d.cfg == nil || d.cfg.root == nil {
		return
	}
	if e.gen != d.gen {
		e.refs = e.refs[:0]
		for _, r := range d.cfg.root.match(e.a.Labels, nil) {
			gl := r.groupLabels(e.a.Labels)
			e.refs = append(e.refs, groupRef{r: r, id: r.id() + "\x1f" + labelsString(gl), labels: gl})
		}
		e.gen = d.gen
	}
	for _, ref := range e.refs {
		g, ok := d.groups[ref.id]
		if !ok {
			g = &group{id: ref.id, key: ref.r.groupKey(ref.labels), r: ref.r, labels: ref.labels, alerts: map[uint64]*alertEntry{}, done: map[uint64]time.Time{}}
			g.next = now.Add(ref.r.groupWait)
			if t, ok := timers[ref.r.receiver+"\x1f"+g.key]; ok {
				g.next = t
			} else if e.a.StartsAt.Add(ref.r.groupWait).Before(now) {
				g.next = now // old enough for an immediate flush, as in Alertmanager
			}
			d.groups[ref.id] = g
		}
		if _, in := g.alerts[e.fp]; !in {
			if end, ok := g.done[e.fp]; ok && d.resolved(e, now) && end.Equal(d.endsAt(e)) {
				continue // its resolve already went through this group
			}
			delete(g.done, e.fp)
			g.alerts[e.fp] = e
			e.groups++
		}
	}
}

// endsAt is when the alert resolves: its EndsAt, or ResolveTimeout after it was last
// refreshed.
func (d *Dispatcher) endsAt(e *alertEntry) time.Time {
	if !e.a.EndsAt.IsZero() {
		return e.a.EndsAt
	}
	return e.lastSeen.Add(d.opts.ResolveTimeout)
}

func (d *Dispatcher) resolved(e *alertEntry, now time.Time) bool { return !d.endsAt(e).After(now) }

// Muted reports what mutes an alert with these labels now: the IDs of the silences,
// and whether an inhibit rule does. For the API's alert listing.
func (d *Dispatcher) Muted(l map[string]string) (silencedBy []string, inhibited bool) {
	now := d.now()
	silencedBy = d.silences.Mutes(l, now)
	d.mu.Lock()
	defer d.mu.Unlock()
	return silencedBy, d.inhibited(l, fingerprint(l), now)
}

// Tick does everything due at now: collects garbage, flushes the groups whose timer
// expired, and delivers the queued messages that are due, synchronously. It returns
// when the next thing is due (at most a minute ahead: garbage collection). Tests drive
// a dispatcher with a fake clock through Tick; Run calls the same steps with the real
// clock.
func (d *Dispatcher) Tick(ctx context.Context, now time.Time) time.Time {
	for _, q := range d.advance(now) {
		d.drain(ctx, q, func() time.Time { return now })
	}
	return d.nextWake()
}

// Run flushes and delivers until ctx ends or Stop is called, with one goroutine per
// queue that has work, so a slow integration does not hold up the others. It returns
// nil after the in-flight attempts have returned (they see ctx cancelled; their
// messages stay queued).
func (d *Dispatcher) Run(ctx context.Context) error {
	d.runMu.Lock()
	if d.runDone != nil {
		d.runMu.Unlock()
		return errors.New("dispatcher already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	d.cancel, d.runDone = cancel, make(chan struct{})
	done := d.runDone
	d.runMu.Unlock()
	defer close(done)
	defer cancel()

	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-timer.C:
		case <-d.wake:
		}
		for _, q := range d.advance(d.now()) {
			wg.Go(func() {
				d.drain(ctx, q, d.now)
				d.poke()
			})
		}
		wait := maxRunWait
		if next := d.nextWake(); !next.IsZero() {
			wait = min(max(next.Sub(d.now()), 0), maxRunWait)
		}
		timer.Reset(wait)
	}
}

// Stop ends Run, waiting for in-flight attempts to return. It is idempotent and safe
// to call when Run was never started.
func (d *Dispatcher) Stop() {
	d.runMu.Lock()
	cancel, done := d.cancel, d.runDone
	d.runMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// advance runs the time-driven work due at now under the lock and returns the queues
// with a message due, marked busy for the caller to drain.
func (d *Dispatcher) advance(now time.Time) []*queue {
	var b batch
	d.mu.Lock()
	d.transitions(now, &b)
	gc := !now.Before(d.nextGC)
	if gc {
		d.gc(now, &b)
		d.nextGC = now.Add(gcInterval)
	}
	var due []*group
	for _, g := range d.groups {
		if !g.next.After(now) {
			due = append(due, g)
		}
	}
	slices.SortFunc(due, func(a, b *group) int {
		if c := a.next.Compare(b.next); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, g := range due {
		g.next = now.Add(g.r.groupInterval)
		d.flush(g, now, &b)
	}
	// The flush round's outbox writes are durable before any attempt starts (and before
	// the lock lets a running drain see the new entries).
	d.commit(&b, "outbox")
	d.mu.Unlock()
	if gc {
		d.silences.gc(now)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var qs []*queue
	for _, q := range d.queues {
		if q.due(now) {
			q.busy = true
			qs = append(qs, q)
		}
	}
	slices.SortFunc(qs, func(a, b *queue) int { return strings.Compare(a.id, b.id) })
	return qs
}

// nextWake returns the earliest time something is due.
func (d *Dispatcher) nextWake() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.nextGC
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, g := range d.groups {
		earlier(g.next)
	}
	for _, q := range d.queues {
		if !q.busy && q.notifier != nil && len(q.entries) > 0 {
			earlier(q.entries[0].NextAttempt)
		}
	}
	return next
}

// transitions records alerts that resolved by the passage of time (EndsAt passed, or
// not refreshed within ResolveTimeout).
func (d *Dispatcher) transitions(now time.Time, b *batch) {
	for _, e := range d.alerts {
		if e.status == StatusFiring && d.resolved(e, now) {
			e.status = StatusResolved
			b.event(Event{Time: now, Type: EventAlertResolved, Labels: e.a.Labels, Status: StatusResolved, Reason: d.resolveReason(e)})
		}
	}
}

func (d *Dispatcher) resolveReason(e *alertEntry) string {
	if e.a.EndsAt.IsZero() {
		return "not refreshed within resolve_timeout"
	}
	return ""
}

// gc forgets resolved alerts no group holds and old notification log entries.
func (d *Dispatcher) gc(now time.Time, b *batch) {
	for fp, e := range d.alerts {
		if e.groups == 0 && d.resolved(e, now) && d.endsAt(e).Add(alertRetention).Before(now) {
			delete(d.alerts, fp)
			if d.cfg != nil {
				for _, r := range d.cfg.inhibit {
					r.remove(e)
				}
			}
		}
	}
	keep := max(d.opts.Retention, d.maxRepeat+24*time.Hour)
	for k, e := range d.nflog {
		if e.AsOf.Add(keep).Before(now) {
			delete(d.nflog, k)
			b.del(BucketNflog, []byte(k))
		}
	}
}

// batch collects the writes and audit events of one step, committed together.
type batch struct {
	ops    []Op
	events []Event
}

func (b *batch) put(bucket string, key []byte, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("alerting: marshal %s record: %v", bucket, err)) // our own types always marshal
	}
	b.ops = append(b.ops, Op{Bucket: bucket, Key: key, Value: raw})
}

func (b *batch) del(bucket string, key []byte) {
	b.ops = append(b.ops, Op{Bucket: bucket, Key: key})
}

func (b *batch) event(e Event) { b.events = append(b.events, e) }

// commit writes a batch durably; callers hold d.mu, so the store sees changes in the
// order memory does. A failing store is logged and the dispatcher carries on from
// memory: alerts keep going out, without the durability (the audit events are still
// written to the JSONL writer).
func (d *Dispatcher) commit(b *batch, what string) {
	if err := d.j.commit(b.ops, b.events, true); err != nil {
		d.logger.Error("store write failed; continuing without durability for these changes", "what", what, "err", err)
	}
	b.ops, b.events = b.ops[:0], b.events[:0]
}

func (d *Dispatcher) setOutboxGauge(receiver string) {
	n := 0
	for _, q := range d.queues {
		if q.receiver == receiver {
			n += len(q.entries)
		}
	}
	d.m.outbox.WithLabelValues(receiver).Set(float64(n))
}

// timeMuted reports whether the route is muted at t by its mute_time_intervals, or by
// being outside all of its active_time_intervals.
func (c *compiled) timeMuted(r *route, t time.Time) bool {
	for _, n := range r.mute {
		if c.intervals[n].Contains(t) {
			return true
		}
	}
	if len(r.active) == 0 {
		return false
	}
	for _, n := range r.active {
		if c.intervals[n].Contains(t) {
			return false
		}
	}
	return true
}
