package alerting

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// nflogEntry is what the notification log holds per (receiver, integration, group):
// what the integration was last told, durably.
type nflogEntry struct {
	Receiver    string `json:"receiver"`
	Integration string `json:"integration"`
	GroupKey    string `json:"groupKey"`
	// AsOf is the flush time of the delivered message; repeat_interval counts from it.
	AsOf time.Time `json:"asOf"`
	// SentAt is when the integration accepted it.
	SentAt time.Time `json:"sentAt"`
	// Firing holds the fingerprints of the alerts the integration was told are firing
	// (including ones muted since, which still await their resolve), Resolved those it
	// was told resolved; both sorted.
	Firing   []uint64          `json:"firing,omitempty"`
	Resolved []uint64          `json:"resolved,omitempty"`
	State    map[string]string `json:"state,omitempty"`
}

func nflogKey(receiver, integration, groupKey string) string {
	return receiver + "\x1f" + integration + "\x1f" + groupKey
}

// Why a message is due, as Alertmanager's notification reasons.
const (
	reasonFirst       = "first_notification"
	reasonNewAlerts   = "new_alerts_in_group"
	reasonAllResolved = "all_alerts_resolved"
	reasonNewResolved = "new_resolved_alerts"
	reasonRepeat      = "repeat_interval_elapsed"
)

// baseline is what an integration was (or is about to be) told about a group: the
// newest queued message for it, else its notification log entry.
type baseline struct {
	firing, resolved []uint64
	asOf             time.Time
}

func (d *Dispatcher) baseline(q *queue, groupKey string) *baseline {
	if e := q.latest[groupKey]; e != nil {
		return &baseline{firing: e.Firing, resolved: e.Resolved, asOf: e.AsOf}
	}
	if e := d.nflog[nflogKey(q.receiver, q.integration, groupKey)]; e != nil {
		return &baseline{firing: e.Firing, resolved: e.Resolved, asOf: e.AsOf}
	}
	return nil
}

// needsUpdate decides whether a group's current state must be sent to an integration,
// as Alertmanager's DedupStage does: visible is the set of firing alerts not muted,
// firing adds the muted ones the integration already knows about, resolved the resolved
// alerts to report. It returns the reason, or "" when nothing is due. All sets sorted.
func needsUpdate(base *baseline, visible, firing, resolved []uint64, sendResolved bool, repeat time.Duration, now time.Time) string {
	switch {
	case base == nil:
		if len(visible) > 0 {
			return reasonFirst
		}
		return ""
	case !subset(visible, base.firing):
		if len(base.firing) == 0 {
			return reasonFirst
		}
		return reasonNewAlerts
	case len(firing) == 0:
		// Sent whether or not send_resolved, so that the log forgets the firing set.
		if len(base.firing) > 0 {
			return reasonAllResolved
		}
		return ""
	case sendResolved && !subset(resolved, base.resolved):
		return reasonNewResolved
	case len(visible) > 0 && !now.Before(base.asOf.Add(repeat)):
		return reasonRepeat
	}
	return ""
}

// subset reports whether every element of a is in b (both sorted).
func subset(a, b []uint64) bool {
	i := 0
	for _, x := range a {
		for i < len(b) && b[i] < x {
			i++
		}
		if i == len(b) || b[i] != x {
			return false
		}
	}
	return true
}

func contains(sorted []uint64, x uint64) bool {
	_, ok := slices.BinarySearch(sorted, x)
	return ok
}

type plan struct {
	q        *queue
	msg      *Message
	firing   []uint64
	resolved []uint64
	reason   string
	replace  bool
}

type flushItem struct {
	e        *alertEntry
	ls       string
	resolved bool
	muted    bool
	msg      *Alert // the alert as messages show it
}

// flush sends a group's state to each integration of its receiver that needs it: the
// messages go to the outbox (in b, committed before any attempt). Resolved alerts then
// leave the group, and an empty group is removed. Callers hold d.mu.
func (d *Dispatcher) flush(g *group, now time.Time, b *batch) {
	rs := d.cfg.receivers[g.r.receiver]
	timeMuted := d.cfg.timeMuted(g.r, now)
	items := make([]flushItem, 0, len(g.alerts))
	for _, e := range g.alerts {
		it := flushItem{e: e, ls: labelsString(e.a.Labels), resolved: d.resolved(e, now)}
		it.muted = timeMuted || len(d.silences.Mutes(e.a.Labels, now)) > 0 || d.inhibited(e.a.Labels, e.fp, now)
		a := *e.a
		if it.resolved {
			a.EndsAt = d.endsAt(e)
		} else {
			a.EndsAt = time.Time{}
		}
		it.msg = &a
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b flushItem) int {
		return cmp.Or(a.e.a.StartsAt.Compare(b.e.a.StartsAt), cmp.Compare(a.ls, b.ls))
	})

	var plans []plan
	counts := false
	if rs != nil {
		for _, q := range rs.queues {
			p, ok := d.plan(q, g, items, now)
			if !ok {
				continue
			}
			if latest := q.latest[g.key]; latest != nil && !latest.inflight {
				p.replace = true
			} else if p.msg.Status == StatusFiring || q.sendResolved {
				counts = true
			}
			plans = append(plans, p)
		}
	}
	var fold time.Time
	if counts && rs.cap > 0 {
		if now.Sub(rs.windowStart) >= rateWindow {
			rs.windowStart, rs.count = now, 0
		}
		if rs.count >= rs.cap {
			fold = rs.windowStart.Add(rateWindow)
		} else {
			rs.count++
		}
	}
	for i := range plans {
		d.enqueue(&plans[i], g, fold, now, b)
	}

	for _, it := range items {
		if !it.resolved {
			continue
		}
		delete(g.alerts, it.e.fp)
		g.done[it.e.fp] = it.msg.EndsAt
		it.e.groups--
		if it.e.groups == 0 {
			it.e.told = true
		}
	}
	if len(g.alerts) == 0 {
		delete(d.groups, g.id)
	}
}

// plan works out what integration q must be told about group g, if anything.
func (d *Dispatcher) plan(q *queue, g *group, items []flushItem, now time.Time) (plan, bool) {
	base := d.baseline(q, g.key)
	known := func(fp uint64) bool { return base != nil && contains(base.firing, fp) }
	var visible, held, resolved []uint64
	var alerts []*Alert
	for _, it := range items {
		switch {
		case !it.resolved && !it.muted:
			visible = append(visible, it.e.fp)
			alerts = append(alerts, it.msg)
		case !it.resolved && known(it.e.fp):
			held = append(held, it.e.fp) // muted, but the receiver knows: await its resolve
		case it.resolved && (!it.muted || known(it.e.fp)):
			resolved = append(resolved, it.e.fp)
			alerts = append(alerts, it.msg)
		}
	}
	slices.Sort(visible)
	slices.Sort(resolved)
	firing := slices.Concat(visible, held)
	slices.Sort(firing)
	reason := needsUpdate(base, visible, firing, resolved, q.sendResolved, g.r.repeatInterval, now)
	if reason == "" {
		return plan{}, false
	}
	status := StatusResolved
	if len(visible) > 0 {
		status = StatusFiring
	}
	sets := make([]map[string]string, len(alerts))
	anns := make([]map[string]string, len(alerts))
	for i, a := range alerts {
		sets[i], anns[i] = a.Labels, a.Annotations
	}
	msg := &Message{
		Receiver: q.receiver, GroupKey: g.key, Status: status,
		GroupLabels:       maps.Clone(g.labels),
		CommonLabels:      commonLabels(sets),
		CommonAnnotations: commonLabels(anns),
		Alerts:            alerts,
		ExternalURL:       d.opts.ExternalURL,
	}
	return plan{q: q, msg: msg, firing: firing, resolved: resolved, reason: reason}, true
}

// enqueue writes a planned message to its queue: in place of the group's queued
// message when there is one not in flight, else appended (evicting the oldest when
// the queue is full). fold, when set, holds the message for the receiver's digest.
func (d *Dispatcher) enqueue(p *plan, g *group, fold, now time.Time, b *batch) {
	q := p.q
	ev := Event{
		Time: now, Type: EventQueued, Receiver: q.receiver, Integration: q.integration, GroupKey: g.key,
		Reason: p.reason, Status: p.msg.Status, Alerts: len(p.msg.Alerts), Firing: len(p.msg.Firing(now)),
	}
	if p.replace {
		e := q.latest[g.key]
		e.Message, e.Firing, e.Resolved, e.AsOf, e.Reason = p.msg, p.firing, p.resolved, now, p.reason
		b.put(BucketOutbox, seqKey(e.ID), e)
		ev.Replaced, ev.Digest = true, !e.Fold.IsZero()
		b.event(ev)
		return
	}
	if len(q.entries) >= d.opts.MaxOutbox {
		d.evict(q, now, b)
	}
	d.seq++
	e := &outboxEntry{
		ID: d.seq, Receiver: q.receiver, Integration: q.integration, GroupKey: g.key,
		Message: p.msg, Firing: p.firing, Resolved: p.resolved, AsOf: now, Reason: p.reason,
		NextAttempt: now, Fold: fold,
	}
	if !fold.IsZero() {
		e.NextAttempt = fold
		ev.Digest = true
	}
	q.entries = append(q.entries, e)
	q.latest[g.key] = e
	b.put(BucketOutbox, seqKey(e.ID), e)
	b.event(ev)
	d.setOutboxGauge(q.receiver)
}

// evict gives up the queue's oldest message not in flight.
func (d *Dispatcher) evict(q *queue, now time.Time, b *batch) {
	for _, e := range q.entries {
		if e.inflight {
			continue
		}
		d.removeEntry(q, e)
		b.del(BucketOutbox, seqKey(e.ID))
		b.event(Event{Time: now, Type: EventDropped, Receiver: q.receiver, Integration: q.integration, GroupKey: e.GroupKey,
			Reason: "outbox full", Attempt: e.Attempts, Error: e.LastError, Status: e.Message.Status})
		d.m.dropped.WithLabelValues(q.receiver).Inc()
		d.logger.Error("outbox full: oldest notification dropped", "receiver", q.receiver, "integration", q.integration,
			"group", e.GroupKey, "queued_at", e.AsOf, "attempts", e.Attempts, "last_err", e.LastError, "max_outbox", d.opts.MaxOutbox)
		return
	}
}
