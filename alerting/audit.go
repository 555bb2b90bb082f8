package alerting

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// EventType names what an audit Event records.
type EventType string

// The audit events.
const (
	// EventAlertFiring and EventAlertResolved are an alert's transitions as Put (or the
	// resolve timeout) reports them.
	EventAlertFiring   EventType = "alert_firing"
	EventAlertResolved EventType = "alert_resolved"
	// EventQueued: a message was written to the outbox (Reason says why it was due;
	// Replaced that it superseded an undelivered one of the same group; Digest that the
	// rate cap held it for the receiver's digest).
	EventQueued EventType = "notification_queued"
	// EventSent: an integration accepted a message; the notification log recorded it.
	EventSent EventType = "notification_sent"
	// EventSkipped: a message with nothing firing for an integration without
	// send_resolved; recorded in the notification log without a call.
	EventSkipped EventType = "notification_skipped"
	// EventRetry: an attempt failed with a retryable error; NextAttempt says when the
	// next one is due.
	EventRetry EventType = "notification_retry"
	// EventFailed: an attempt failed with a permanent error; the message was dropped.
	EventFailed EventType = "notification_failed"
	// EventDropped: the outbox was full and its oldest message was evicted.
	EventDropped EventType = "notification_dropped"
	// EventSilenceSet and EventSilenceExpired record silence changes.
	EventSilenceSet     EventType = "silence_set"
	EventSilenceExpired EventType = "silence_expired"
)

// Event is one line of the audit trail: an alert transition, a delivery step or a
// silence change. It is appended to the JSONL writer and kept (bounded, persisted) for
// History.
type Event struct {
	Seq         uint64            `json:"seq"`
	Time        time.Time         `json:"time"`
	Type        EventType         `json:"type"`
	Labels      map[string]string `json:"labels,omitempty"`
	Status      Status            `json:"status,omitempty"`
	Receiver    string            `json:"receiver,omitempty"`
	Integration string            `json:"integration,omitempty"`
	GroupKey    string            `json:"groupKey,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Alerts      int               `json:"alerts,omitempty"`
	Firing      int               `json:"firing,omitempty"`
	Attempt     int               `json:"attempt,omitempty"`
	Replaced    bool              `json:"replaced,omitempty"`
	Digest      bool              `json:"digest,omitempty"`
	Error       string            `json:"error,omitempty"`
	NextAttempt time.Time         `json:"nextAttempt,omitzero"`
	SilenceID   string            `json:"silenceID,omitempty"`
}

// HistoryFilter selects events for History; zero fields select everything.
type HistoryFilter struct {
	Since, Until time.Time
	Types        []EventType
	Receiver     string
	GroupKey     string
	// Matchers select events whose alert labels match (events without labels never do).
	Matchers labels.Matchers
	// Limit keeps the newest Limit matching events (0: all kept).
	Limit int
}

func (f *HistoryFilter) keep(e *Event) bool {
	switch {
	case !f.Since.IsZero() && e.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && e.Time.After(f.Until):
		return false
	case len(f.Types) > 0 && !slices.Contains(f.Types, e.Type):
		return false
	case f.Receiver != "" && e.Receiver != f.Receiver:
		return false
	case f.GroupKey != "" && e.GroupKey != f.GroupKey:
		return false
	case len(f.Matchers) > 0 && (e.Labels == nil || !matches(f.Matchers, e.Labels)):
		return false
	}
	return true
}

// journal serialises every durable write: it appends the writes' audit events to the
// history bucket in the same transaction, and after the commit to the JSONL writer and
// the in-memory ring that History reads.
type journal struct {
	mu     sync.Mutex
	store  Store
	w      io.Writer
	logger *slog.Logger
	limit  int
	seq    uint64
	ring   []Event // oldest first, at most limit
	werr   bool    // a JSONL write failed (logged once)
}

func newJournal(store Store, w io.Writer, limit int, logger *slog.Logger) (*journal, error) {
	j := &journal{store: store, w: w, limit: limit, logger: logger}
	err := store.Load(BucketHistory, func(k, v []byte) error {
		var e Event
		if json.Unmarshal(v, &e) != nil {
			return nil // a record we cannot read is skipped, not fatal
		}
		if len(k) == 8 {
			e.Seq = binary.BigEndian.Uint64(k)
		}
		j.seq = max(j.seq, e.Seq)
		j.ring = append(j.ring, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if over := len(j.ring) - limit; over > 0 {
		j.ring = slices.Delete(j.ring, 0, over)
	}
	return j, nil
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// commit applies ops together with events' history records, durably, then appends the
// events to the JSONL writer and the ring. When the store fails, the events are still
// appended if emitOnFailure (the caller goes on with the change in memory).
func (j *journal) commit(ops []Op, events []Event, emitOnFailure bool) error {
	if len(ops) == 0 && len(events) == 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	seq := j.seq
	ops = slices.Grow(ops, 2*len(events))
	lines := make([][]byte, len(events))
	for i := range events {
		seq++
		events[i].Seq = seq
		b, err := json.Marshal(&events[i])
		if err != nil {
			return err
		}
		lines[i] = b
		ops = append(ops, Op{Bucket: BucketHistory, Key: seqKey(seq), Value: b})
		if old := int64(seq) - int64(j.limit); old > 0 {
			ops = append(ops, Op{Bucket: BucketHistory, Key: seqKey(uint64(old))})
		}
	}
	err := j.store.Apply(ops...)
	if err != nil && !emitOnFailure {
		return err
	}
	j.seq = seq
	for i := range events {
		j.ring = append(j.ring, events[i])
		if j.w != nil {
			if _, err := j.w.Write(append(lines[i], '\n')); err != nil && !j.werr {
				j.werr = true
				j.logger.Error("audit log write failed; further failures are not logged", "err", err)
			}
		}
	}
	if len(j.ring) >= 2*j.limit { // trim in bulk: amortised O(1) per event
		j.ring = slices.Delete(j.ring, 0, len(j.ring)-j.limit)
	}
	return err
}

func (j *journal) history(f HistoryFilter) []Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Event
	oldest := max(0, len(j.ring)-j.limit)
	for i := len(j.ring) - 1; i >= oldest; i-- {
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
		if f.keep(&j.ring[i]) {
			out = append(out, j.ring[i])
		}
	}
	slices.Reverse(out)
	return out
}
