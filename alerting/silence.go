package alerting

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// SilenceState is where a silence is in its life.
type SilenceState string

// The silence states, as Alertmanager names them.
const (
	SilencePending SilenceState = "pending"
	SilenceActive  SilenceState = "active"
	SilenceExpired SilenceState = "expired"
)

// Silence mutes the alerts its matchers match between StartsAt and EndsAt. Its JSON is
// Alertmanager's API v2 silence (matchers as {name, value, isRegex, isEqual}).
type Silence struct {
	ID        string          `json:"id"`
	Matchers  labels.Matchers `json:"matchers"`
	StartsAt  time.Time       `json:"startsAt"`
	EndsAt    time.Time       `json:"endsAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	CreatedBy string          `json:"createdBy"`
	Comment   string          `json:"comment"`
}

// State returns the silence's state at t.
func (s *Silence) State(t time.Time) SilenceState {
	switch {
	case !t.Before(s.EndsAt):
		return SilenceExpired
	case t.Before(s.StartsAt):
		return SilencePending
	}
	return SilenceActive
}

// ErrSilenceNotFound is returned for an unknown (or garbage-collected) silence ID.
var ErrSilenceNotFound = errors.New("silence not found")

// DefaultSilenceRetention is how long expired silences are kept (as Alertmanager's
// --data.retention).
const DefaultSilenceRetention = 120 * time.Hour

// Silences holds the silences, persisted in the Store. It is safe for concurrent use.
type Silences struct {
	mu        sync.RWMutex
	byID      map[string]*Silence
	j         *journal
	now       func() time.Time
	retention time.Duration
	logger    *slog.Logger
}

func newSilences(j *journal, now func() time.Time, retention time.Duration, logger *slog.Logger) (*Silences, error) {
	s := &Silences{byID: map[string]*Silence{}, j: j, now: now, retention: retention, logger: logger}
	err := j.store.Load(BucketSilences, func(_, v []byte) error {
		var sil Silence
		if err := json.Unmarshal(v, &sil); err != nil {
			logger.Error("unreadable silence in the store, skipped", "err", err)
			return nil
		}
		s.byID[sil.ID] = &sil
		return nil
	})
	return s, err
}

func validateSilence(s *Silence) error {
	switch {
	case len(s.Matchers) == 0:
		return errors.New("a silence needs at least one matcher")
	case s.EndsAt.IsZero():
		return errors.New("endsAt is required")
	case !s.EndsAt.After(s.StartsAt):
		return errors.New("endsAt must be after startsAt")
	}
	empty := true
	for _, m := range s.Matchers {
		if m == nil || m.Name == "" {
			return errors.New("a matcher needs a label name")
		}
		if !m.Matches("") {
			empty = false
		}
	}
	if empty {
		return errors.New("at least one matcher must not match the empty string, or the silence would match every alert")
	}
	return nil
}

func newSilenceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Set creates a silence (ID empty) or updates an unexpired one, and returns its ID.
// A zero StartsAt means now. The change is durable when Set returns.
func (s *Silences) Set(sil Silence) (string, error) {
	now := s.now()
	sil.Matchers = slices.Clone(sil.Matchers)
	if sil.StartsAt.IsZero() {
		sil.StartsAt = now
	}
	if err := validateSilence(&sil); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sil.ID != "" {
		old, ok := s.byID[sil.ID]
		if !ok {
			return "", fmt.Errorf("%w: %s", ErrSilenceNotFound, sil.ID)
		}
		if old.State(now) == SilenceExpired {
			return "", fmt.Errorf("silence %s has expired and cannot be changed; create a new one", sil.ID)
		}
		if old.State(now) == SilenceActive && sil.StartsAt.After(now) {
			sil.StartsAt = old.StartsAt // an active silence keeps its start
		}
	} else {
		sil.ID = newSilenceID()
	}
	if !sil.EndsAt.After(now) {
		return "", errors.New("endsAt must be in the future")
	}
	sil.UpdatedAt = now
	if err := s.write(&sil, EventSilenceSet, now); err != nil {
		return "", err
	}
	return sil.ID, nil
}

// Expire ends a silence now (a pending one is ended before it starts). Expiring an
// expired silence is a no-op.
func (s *Silences) Expire(id string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrSilenceNotFound, id)
	}
	if old.State(now) == SilenceExpired {
		return nil
	}
	sil := *old
	if sil.StartsAt.After(now) {
		sil.StartsAt = now
	}
	sil.EndsAt, sil.UpdatedAt = now, now
	return s.write(&sil, EventSilenceExpired, now)
}

func (s *Silences) write(sil *Silence, typ EventType, now time.Time) error {
	b, err := json.Marshal(sil)
	if err != nil {
		return err
	}
	matchers := make([]string, len(sil.Matchers))
	for i, m := range sil.Matchers {
		matchers[i] = m.String()
	}
	ev := Event{Time: now, Type: typ, SilenceID: sil.ID, Reason: "{" + strings.Join(matchers, ", ") + "}"}
	if err := s.j.commit([]Op{{Bucket: BucketSilences, Key: []byte(sil.ID), Value: b}}, []Event{ev}, false); err != nil {
		return fmt.Errorf("store silence: %w", err)
	}
	s.byID[sil.ID] = sil
	return nil
}

// Get returns a silence by ID.
func (s *Silences) Get(id string) (Silence, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sil, ok := s.byID[id]
	if !ok {
		return Silence{}, fmt.Errorf("%w: %s", ErrSilenceNotFound, id)
	}
	return *sil, nil
}

// List returns the silences (expired ones until their retention ends), active first,
// then pending, then expired, each by end time.
func (s *Silences) List() []Silence {
	now := s.now()
	s.mu.RLock()
	out := make([]Silence, 0, len(s.byID))
	for _, sil := range s.byID {
		out = append(out, *sil)
	}
	s.mu.RUnlock()
	rank := map[SilenceState]int{SilenceActive: 0, SilencePending: 1, SilenceExpired: 2}
	slices.SortFunc(out, func(a, b Silence) int {
		if d := rank[a.State(now)] - rank[b.State(now)]; d != 0 {
			return d
		}
		if c := a.EndsAt.Compare(b.EndsAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Mutes returns the IDs of the silences active at t that match the label set.
func (s *Silences) Mutes(l map[string]string, t time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for id, sil := range s.byID {
		if sil.State(t) == SilenceActive && matches(sil.Matchers, l) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// counts returns how many silences are in each state at t.
func (s *Silences) counts(t time.Time) map[SilenceState]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := map[SilenceState]int{}
	for _, sil := range s.byID {
		c[sil.State(t)]++
	}
	return c
}

// gc forgets silences that expired more than the retention ago.
func (s *Silences) gc(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ops []Op
	var gone []string
	for id, sil := range s.byID {
		if sil.EndsAt.Add(s.retention).Before(now) {
			ops = append(ops, Op{Bucket: BucketSilences, Key: []byte(id)})
			gone = append(gone, id)
		}
	}
	if len(ops) == 0 {
		return
	}
	if err := s.j.commit(ops, nil, false); err != nil {
		s.logger.Error("silence garbage collection failed; retried later", "err", err)
		return
	}
	for _, id := range gone {
		delete(s.byID, id)
	}
}
