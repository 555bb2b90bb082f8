package alerting

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// queue is the outbox of one integration of one receiver: its messages in order.
type queue struct {
	id           string
	receiver     string
	integration  string // "slack/0"
	kind         string
	notifier     Notifier // nil while the integration is not configured
	sendResolved bool
	entries      []*outboxEntry
	latest       map[string]*outboxEntry // group key → newest queued message
	busy         bool                    // a drain owns the queue
}

func (q *queue) due(now time.Time) bool {
	return !q.busy && q.notifier != nil && len(q.entries) > 0 && !q.entries[0].NextAttempt.After(now)
}

// outboxEntry is one queued message, as stored in the outbox bucket.
type outboxEntry struct {
	ID          uint64    `json:"id"`
	Receiver    string    `json:"receiver"`
	Integration string    `json:"integration"`
	GroupKey    string    `json:"groupKey"`
	Message     *Message  `json:"message"`
	Firing      []uint64  `json:"firing,omitempty"`
	Resolved    []uint64  `json:"resolved,omitempty"`
	AsOf        time.Time `json:"asOf"`
	Reason      string    `json:"reason"`
	// Fold, when set, is the end of the rate-cap minute this message was held for: it
	// goes out then, folded with the others held for the same minute into a digest.
	Fold        time.Time `json:"fold,omitzero"`
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt"`
	LastError   string    `json:"lastError,omitempty"`
	inflight    bool
}

func (d *Dispatcher) removeEntry(q *queue, e *outboxEntry) {
	q.entries = slices.DeleteFunc(q.entries, func(x *outboxEntry) bool { return x == e })
	if q.latest[e.GroupKey] == e {
		delete(q.latest, e.GroupKey)
	}
}

// drain delivers the queue's due messages in order until none is due, the context
// ends, or an attempt fails retryably. The caller has marked q busy; drain clears it.
// Each outcome is committed to the store before the next message is taken.
func (d *Dispatcher) drain(ctx context.Context, q *queue, now func() time.Time) {
	defer func() {
		d.mu.Lock()
		q.busy = false
		d.mu.Unlock()
	}()
	for ctx.Err() == nil {
		d.mu.Lock()
		t := now()
		if q.notifier == nil || len(q.entries) == 0 || q.entries[0].NextAttempt.After(t) {
			d.mu.Unlock()
			return
		}
		take := q.take(t)
		msg := d.message(q, take, t)
		n := q.notifier
		d.mu.Unlock()

		var state map[string]string
		var err error
		if msg != nil {
			state, err = d.attempt(ctx, n, msg)
		}

		d.mu.Lock()
		for _, e := range take {
			e.inflight = false
		}
		if err != nil && ctx.Err() != nil {
			d.mu.Unlock() // shutting down: the message stays queued as it was
			return
		}
		var b batch
		d.settle(q, take, msg, state, err, now(), &b)
		d.commit(&b, "delivery")
		d.mu.Unlock()
	}
}

// take marks the head message in flight, with the messages held for the same digest.
func (q *queue) take(now time.Time) []*outboxEntry {
	head := q.entries[0]
	take := []*outboxEntry{head}
	if !head.Fold.IsZero() {
		for _, e := range q.entries[1:] {
			if !e.Fold.Equal(head.Fold) || e.NextAttempt.After(now) {
				break
			}
			take = append(take, e)
		}
	}
	for _, e := range take {
		e.inflight = true
	}
	return take
}

// message builds what the integration is sent for the taken entries: the group's
// message with its last State, resolved alerts left out for integrations without
// send_resolved, several held messages folded into one digest. Nil: nothing to send.
func (d *Dispatcher) message(q *queue, take []*outboxEntry, now time.Time) *Message {
	var parts []*Message
	for _, e := range take {
		m := *e.Message
		if prev := d.nflog[nflogKey(q.receiver, q.integration, e.GroupKey)]; prev != nil {
			m.State = maps.Clone(prev.State)
		}
		if !q.sendResolved {
			m.Alerts = m.Firing(now)
			m.Status = StatusFiring
		}
		if len(m.Alerts) == 0 {
			continue // nothing to show: recorded in the log without a call
		}
		parts = append(parts, &m)
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	dm := &Message{
		Receiver: q.receiver, GroupKey: "{digest}:" + q.receiver, Status: StatusResolved,
		GroupLabels: map[string]string{}, ExternalURL: d.opts.ExternalURL, Digest: true, Groups: parts,
	}
	var sets, anns []map[string]string
	for _, p := range parts {
		if p.Status == StatusFiring {
			dm.Status = StatusFiring
		}
		dm.Alerts = append(dm.Alerts, p.Alerts...)
		for _, a := range p.Alerts {
			sets, anns = append(sets, a.Labels), append(anns, a.Annotations)
		}
	}
	dm.CommonLabels, dm.CommonAnnotations = commonLabels(sets), commonLabels(anns)
	return dm
}

// attempt calls the notifier once, bounded by AttemptTimeout; a panic is a permanent error.
func (d *Dispatcher) attempt(ctx context.Context, n Notifier, m *Message) (state map[string]string, err error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.AttemptTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			state, err = nil, fmt.Errorf("integration panicked: %v", r)
		}
	}()
	return n.Notify(ctx, m)
}

// backoff returns the delay before attempt n+1 after n failures: uniform between
// MinBackoff and min(MaxBackoff, MinBackoff·2^(n-1)).
func (d *Dispatcher) backoff(n int) time.Duration {
	lo, hi := d.opts.MinBackoff, d.opts.MaxBackoff
	ceil := hi
	if n-1 < 32 {
		if c := lo << (n - 1); c > 0 && c < hi {
			ceil = c
		}
	}
	return lo + time.Duration(d.opts.Jitter()*float64(ceil-lo))
}

// settle records an attempt's outcome. Success: the notification log gets the sent
// state and the messages leave the outbox, in one transaction (b). A retryable error:
// the messages stay, with their next attempt after the backoff or the peer's
// Retry-After, whichever is later. A permanent error: they are dropped, logged, counted.
func (d *Dispatcher) settle(q *queue, take []*outboxEntry, msg *Message, state map[string]string, err error, now time.Time, b *batch) {
	defer d.setOutboxGauge(q.receiver)
	if msg != nil {
		d.m.notifications.WithLabelValues(q.receiver, q.kind).Inc()
	}
	if err == nil {
		for _, e := range take {
			k := nflogKey(q.receiver, q.integration, e.GroupKey)
			ne := &nflogEntry{
				Receiver: q.receiver, Integration: q.integration, GroupKey: e.GroupKey,
				AsOf: e.AsOf, SentAt: now, Firing: e.Firing, Resolved: e.Resolved,
			}
			ne.State = d.stateOf(k) // a skipped message or a digest keeps the group's state
			if msg != nil && !msg.Digest {
				ne.State = state
			}
			d.nflog[k] = ne
			b.put(BucketNflog, []byte(k), ne)
			d.removeEntry(q, e)
			b.del(BucketOutbox, seqKey(e.ID))
			typ := EventSent
			if msg == nil {
				typ = EventSkipped
			}
			b.event(Event{Time: now, Type: typ, Receiver: q.receiver, Integration: q.integration, GroupKey: e.GroupKey,
				Reason: e.Reason, Status: e.Message.Status, Alerts: len(e.Message.Alerts), Attempt: e.Attempts + 1,
				Digest: msg != nil && msg.Digest})
		}
		return
	}
	d.m.failed.WithLabelValues(q.receiver, q.kind).Inc()
	retryAfter, retry := IsRetryable(err)
	if !retry && errors.Is(err, context.DeadlineExceeded) {
		retry = true // our attempt timeout, not the peer's verdict
	}
	if retry {
		attempts := take[0].Attempts + 1
		delay := d.backoff(attempts)
		if retryAfter > 0 {
			delay = max(delay, min(retryAfter, d.opts.MaxRetryAfter))
		}
		next := now.Add(delay)
		for _, e := range take {
			e.Attempts, e.NextAttempt, e.LastError = attempts, next, err.Error()
			b.put(BucketOutbox, seqKey(e.ID), e)
			b.event(Event{Time: now, Type: EventRetry, Receiver: q.receiver, Integration: q.integration, GroupKey: e.GroupKey,
				Attempt: attempts, Error: err.Error(), NextAttempt: next, Status: e.Message.Status, Digest: msg.Digest})
		}
		d.logger.Warn("notification failed; it stays queued and is retried", "receiver", q.receiver, "integration", q.integration,
			"group", take[0].GroupKey, "attempt", attempts, "retry_in", delay, "err", err)
		return
	}
	for _, e := range take {
		d.removeEntry(q, e)
		b.del(BucketOutbox, seqKey(e.ID))
		b.event(Event{Time: now, Type: EventFailed, Receiver: q.receiver, Integration: q.integration, GroupKey: e.GroupKey,
			Attempt: e.Attempts + 1, Error: err.Error(), Status: e.Message.Status, Digest: msg.Digest})
		d.m.dropped.WithLabelValues(q.receiver).Inc()
	}
	d.logger.Error("notification refused with a permanent error; dropped", "receiver", q.receiver, "integration", q.integration,
		"group", take[0].GroupKey, "messages", len(take), "attempt", take[0].Attempts+1, "err", err)
}

func (d *Dispatcher) stateOf(k string) map[string]string {
	if prev := d.nflog[k]; prev != nil {
		return prev.State
	}
	return nil
}
