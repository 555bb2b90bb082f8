package monitor

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// pendingRef is the reference model of a pendingSet: a plain list of records, oldest
// first, with the same capacity rules.
type pendingRef struct {
	max, maxIDs int
	recs        []pendingRec
}

type pendingRec struct {
	id  string
	t   int64
	val int
}

func (r *pendingRef) live() int {
	n := 0
	for _, x := range r.recs {
		n += len(x.id)
	}
	return n
}

func (r *pendingRef) add(id string, t int64, v int) (old int, evicted bool) {
	if len(id) > r.maxIDs {
		return v, true
	}
	for len(r.recs) > 0 && (len(r.recs) >= r.max || r.live()+len(id) > r.maxIDs) {
		if !evicted {
			old, evicted = r.recs[0].val, true
		}
		r.recs = r.recs[1:]
	}
	r.recs = append(r.recs, pendingRec{strings.Clone(id), t, v})
	return old, evicted
}

func (r *pendingRef) of(id string, remove bool) []int {
	var vals []int
	r.recs = slices.DeleteFunc(r.recs, func(x pendingRec) bool {
		if x.id == id {
			vals = append(vals, x.val)
			return remove
		}
		return false
	})
	return vals
}

func (r *pendingRef) expire(cutoff int64) []int {
	var vals []int
	for len(r.recs) > 0 && r.recs[0].t < cutoff {
		vals = append(vals, r.recs[0].val)
		r.recs = r.recs[1:]
	}
	return vals
}

// pendingHashes are the hash functions the tests run a pendingSet with: the real one,
// and ones that force collisions of home slots, of stored hashes, or of everything.
var pendingHashes = []struct {
	name string
	hash func(string) uint64
}{
	{"maphash", nil},
	{"all collide", func(string) uint64 { return 0 }},
	{"by length", func(id string) uint64 { return uint64(len(id) % 3) }},
	{"same slot, other hashes", func(id string) uint64 {
		var h uint64
		for _, c := range []byte(id) {
			h = h*31 + uint64(c)
		}
		return h << 24 // low 24 bits zero: one home slot until the index is huge
	}},
	{"same fingerprint, other slots", pendingLowHash},
}

// pendingLowHash hashes an id into its low 16 bits only: every slot's fingerprint (the
// top bits of the 32-bit hash) is the same, and homes repeat once the index is larger
// than 65,536 slots.
func pendingLowHash(id string) uint64 {
	var h uint64
	for _, c := range []byte(id) {
		h = h*131 + uint64(c)
	}
	return (h ^ h>>16) & 0xffff
}

func newTestPendingSet(max, maxIDs int, hash func(string) uint64) *pendingSet[int] {
	s := newPendingSet[int](max)
	if hash != nil {
		s.hash = hash
	}
	if maxIDs > 0 {
		s.maxIDs = maxIDs
	}
	return s
}

// pendingStepper applies operations to a pendingSet and its reference and compares every
// answer. Ids are handed to the set as strings borrowed from a buffer that is
// overwritten after each call, as the decoder's are: the set must keep its own copy.
type pendingStepper struct {
	t   testing.TB
	s   *pendingSet[int]
	ref pendingRef
	now int64
	op  int
	buf []byte
}

// pendingTestID is the id numbered k: mostly short, some empty, some long.
func pendingTestID(k int) string {
	switch {
	case k%17 == 0:
		return ""
	case k%13 == 0:
		return strings.Repeat(fmt.Sprint("long-", k, "-"), 40) // about 300 bytes
	}
	return fmt.Sprint("id-", k)
}

// borrow returns id as a string aliasing p.buf.
func (p *pendingStepper) borrow(id string) string {
	p.buf = append(p.buf[:0], id...)
	if len(p.buf) == 0 {
		return ""
	}
	return unsafe.String(&p.buf[0], len(p.buf))
}

// scribble overwrites the borrowed id.
func (p *pendingStepper) scribble() {
	for i := range p.buf {
		p.buf[i] = '#'
	}
}

func (p *pendingStepper) add(id string) {
	t := p.t
	p.now++
	p.op++
	old, evicted := p.s.add(p.borrow(id), p.now, p.op)
	p.scribble()
	wantOld, wantEvicted := p.ref.add(id, p.now, p.op)
	require.Equal(t, wantEvicted, evicted, "add %q: evicted", id)
	if evicted {
		require.Equal(t, wantOld, old, "add %q: the oldest is evicted", id)
	}
}

func (p *pendingStepper) take(id string) {
	var got []int
	n := p.s.take(p.borrow(id), func(_ int64, v *int) { got = append(got, *v) })
	p.scribble()
	want := p.ref.of(id, true)
	require.Equal(p.t, len(want), n)
	require.Equal(p.t, want, got, "take %q: records of an id come out oldest first", id)
}

func (p *pendingStepper) eachOf(id string) {
	var got []int
	n := p.s.eachOf(p.borrow(id), func(_ int64, v *int) { got = append(got, *v) })
	has := p.s.has(id)
	p.scribble()
	want := p.ref.of(id, false)
	require.Equal(p.t, len(want), n)
	require.Equal(p.t, want, got, "eachOf %q", id)
	require.Equal(p.t, len(want) > 0, has, "has %q", id)
}

func (p *pendingStepper) expire(back int64) {
	var got []int
	p.s.expire(p.now-back, func(v *int) { got = append(got, *v) })
	require.Equal(p.t, p.ref.expire(p.now-back), got)
}

// check compares the whole set with the reference and checks the set's invariants.
func (p *pendingStepper) check() {
	t, s := p.t, p.s
	require.Equal(t, len(p.ref.recs), s.Len())
	var got []pendingRec
	s.each(func(id string, ts int64, v *int) { got = append(got, pendingRec{id, ts, *v}) })
	require.Equal(t, len(p.ref.recs), len(got))
	if len(got) > 0 {
		require.Equal(t, p.ref.recs, got)
	}
	ids := map[string]bool{}
	live := 0
	prevEnd := uint32(0)
	for i := s.head; i >= 0; i = s.nodes[i].next {
		nd := &s.nodes[i]
		off := nd.off - s.idBase
		require.GreaterOrEqual(t, off, prevEnd, "ids lie in age order")
		prevEnd = off + nd.idLen
		ids[string(s.idOf(i))] = true
		live += int(nd.idLen)
	}
	require.LessOrEqual(t, int(prevEnd), len(s.ids))
	require.Len(t, ids, s.heads, "one index slot per id")
	require.Equal(t, live, s.idLive)
	require.LessOrEqual(t, 2*s.heads, len(s.slots), "index at most half full")
	require.LessOrEqual(t, len(s.nodes), s.max)
	checkPendingSlots(t, s)
}

// checkPendingSlots checks that every slot holds the right tag for its entry: the
// fingerprint of the node's hash and its distance from its home slot, saturated.
func checkPendingSlots[T any](t testing.TB, s *pendingSet[T]) {
	t.Helper()
	mask := uint32(len(s.slots) - 1)
	occupied := 0
	for j, v := range s.slots {
		if v == 0 {
			continue
		}
		occupied++
		idx1 := v & s.idxMask
		require.NotZero(t, idx1, "slot %d: a tag without a node", j)
		require.LessOrEqual(t, int(idx1), len(s.nodes))
		nd := &s.nodes[idx1-1]
		require.Equal(t, s.slotTag(nd.hash, (uint32(j)-nd.hash)&mask), v&^s.idxMask, "slot %d: tag", j)
	}
	require.Equal(t, s.heads, occupied)
}

// TestPendingSetModel drives a pendingSet with random adds (ids repeat, so chains form),
// takes, lookups and expiries, with real and colliding hashes, and checks every answer
// against a plain list of the same records.
func TestPendingSetModel(t *testing.T) {
	for _, h := range pendingHashes {
		for _, tc := range []struct {
			name     string
			max, ids int
			maxIDs   int // 0: the real limit
			ops      int
			seed     uint64
		}{
			{"small, many repeats", 4, 3, 0, 5000, 1},
			{"chains", 50, 20, 0, 20000, 2},
			{"mostly unique", 1000, 100000, 0, 20000, 3},
			{"id bytes evict", 200, 1000, 2000, 20000, 4},
		} {
			t.Run(h.name+"/"+tc.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(tc.seed, 0))
				s := newTestPendingSet(tc.max, tc.maxIDs, h.hash)
				p := &pendingStepper{t: t, s: s, ref: pendingRef{max: tc.max, maxIDs: s.maxIDs}}
				for op := range tc.ops {
					id := pendingTestID(r.IntN(tc.ids))
					switch k := r.IntN(20); {
					case k < 11:
						p.add(id)
					case k < 16:
						p.take(id)
					case k < 19:
						p.eachOf(id)
					default:
						p.expire(int64(r.IntN(2 * tc.max)))
					}
					if op%97 == 0 {
						p.check()
					}
				}
				p.check()
				// Everything left comes out by id, in order.
				for _, x := range slices.Clone(p.ref.recs) {
					p.take(x.id)
				}
				require.Zero(t, s.Len())
				require.Zero(t, s.heads)
				require.Zero(t, s.idLive)
				require.Empty(t, s.ids, "an empty set's arena starts over")
			})
		}
	}
}

// TestPendingArenaSlidesWhenTheOldestLeave checks the arena's cheap compaction: while
// records leave oldest first (evicted at capacity), the waiting ids slide to the front and
// idBase takes the difference, nodes untouched; a record taken from the middle then makes
// the next compaction a full walk, which starts the offsets over. Every step is checked
// against the reference.
func TestPendingArenaSlidesWhenTheOldestLeave(t *testing.T) {
	const max = 64
	s := newTestPendingSet(max, 0, nil)
	p := &pendingStepper{t: t, s: s, ref: pendingRef{max: max, maxIDs: s.maxIDs}}
	k := 0
	next := func() string { k++; return pendingTestID(k) }
	slid := 0
	for range 50 * max {
		base := s.idBase
		p.add(next())
		p.check()
		if s.idBase > base {
			slid++
		}
	}
	require.Greater(t, slid, 5, "full-set churn compacts by sliding")
	require.LessOrEqual(t, cap(s.ids), 2*s.idLive+minPendingIDBytes, "arena bounded")

	// A take from the middle leaves garbage behind the oldest id: the walk compacts
	// then, and offsets start over from 0.
	walked := 0
	for range 20 {
		p.take(pendingTestID(k - max/2))
		for range 2 * max {
			base := s.idBase
			p.add(next())
			p.check()
			if base > 0 && s.idBase == 0 {
				walked++
			}
		}
	}
	require.Positive(t, walked, "garbage between ids compacts by walking")
	for range 4 * max {
		p.add(next())
		p.check()
	}
	for _, x := range slices.Clone(p.ref.recs) {
		p.take(x.id)
	}
	require.Zero(t, s.idLive)
}

// TestPendingSetCases checks named situations against the expected records, in age
// order, left in the set.
func TestPendingSetCases(t *testing.T) {
	long := strings.Repeat("0123456789", 103) // longer than the default max_string_length
	type op struct {
		kind string // add, take, expire
		id   string
		arg  int64 // add: event time; expire: cutoff
		want []int // take: values taken; add: the evicted value, if any
	}
	for _, h := range pendingHashes {
		for _, tc := range []struct {
			name   string
			max    int
			maxIDs int
			ops    []op
			left   []string // ids waiting, oldest first
		}{
			{"empty id is an id like any other", 4, 0, []op{
				{"add", "", 1, nil}, {"add", "a", 2, nil}, {"add", "", 3, nil},
				{"take", "", 0, []int{1, 3}},
			}, []string{"a"}},
			{"several records per id in arrival order", 10, 0, []op{
				{"add", "x", 1, nil}, {"add", "y", 2, nil}, {"add", "x", 3, nil}, {"add", "x", 4, nil},
				{"take", "x", 0, []int{1, 3, 4}}, {"take", "x", 0, nil},
			}, []string{"y"}},
			{"capacity evicts the oldest, even mid-chain", 3, 0, []op{
				{"add", "x", 1, nil}, {"add", "y", 2, nil}, {"add", "x", 3, nil},
				{"add", "z", 4, []int{1}}, {"add", "w", 5, []int{2}},
				{"take", "x", 0, []int{3}},
			}, []string{"z", "w"}},
			{"age evicts from the front", 10, 0, []op{
				{"add", "a", 1, nil}, {"add", "b", 5, nil}, {"add", "c", 2, nil}, {"add", "d", 9, nil},
				{"expire", "", 3, []int{1}}, {"expire", "", 6, []int{5, 2}},
			}, []string{"d"}},
			{"long ids", 3, 0, []op{
				{"add", long, 1, nil}, {"add", long + "x", 2, nil}, {"add", long, 3, nil},
				{"take", long, 0, []int{1, 3}},
			}, []string{long + "x"}},
			{"id bytes evict the oldest", 10, 8, []op{
				{"add", "aaa", 1, nil}, {"add", "bbb", 2, nil}, {"add", "cccc", 3, []int{1}},
				{"add", "dddddddd", 4, []int{2}},
			}, []string{"dddddddd"}},
			{"an id longer than the arena is not kept", 10, 8, []op{
				{"add", "a", 1, nil}, {"add", "123456789", 2, []int{2}},
			}, []string{"a"}},
		} {
			t.Run(h.name+"/"+tc.name, func(t *testing.T) {
				s := newTestPendingSet(tc.max, tc.maxIDs, h.hash)
				// Values are the event times, so that expected values read as times.
				for _, o := range tc.ops {
					var got []int
					switch o.kind {
					case "add":
						if old, ev := s.add(o.id, o.arg, int(o.arg)); ev {
							got = append(got, old)
						}
					case "take":
						s.take(o.id, func(_ int64, v *int) { got = append(got, *v) })
					case "expire":
						s.expire(o.arg, func(v *int) { got = append(got, *v) })
					}
					require.Equal(t, o.want, got, "%s %.20q", o.kind, o.id)
				}
				var left []string
				s.each(func(id string, _ int64, _ *int) { left = append(left, id) })
				require.Equal(t, tc.left, left)
			})
		}
	}
}

// TestPendingSetSnapshotRoundtrip copies a set through each and add, as a snapshot and
// its restore do, and checks that the copy answers as the original.
func TestPendingSetSnapshotRoundtrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	s := newPendingSet[int](500)
	for i := range 2000 {
		s.add(pendingTestID(r.IntN(300)), int64(i), i)
		if i%3 == 0 {
			s.take(pendingTestID(r.IntN(300)), func(int64, *int) {})
		}
	}
	type rec struct {
		id  string
		t   int64
		val int
	}
	dump := func(s *pendingSet[int]) (recs []rec) {
		s.each(func(id string, t int64, v *int) { recs = append(recs, rec{id, t, *v}) })
		return recs
	}
	c := newPendingSet[int](500)
	for _, x := range dump(s) {
		c.add(x.id, x.t, x.val)
	}
	require.Equal(t, dump(s), dump(c))
	for k := range 300 {
		id := pendingTestID(k)
		var a, b []int
		s.take(id, func(_ int64, v *int) { a = append(a, *v) })
		c.take(id, func(_ int64, v *int) { b = append(b, *v) })
		require.Equal(t, a, b, "id %q", id)
	}
	require.Zero(t, c.Len())
}

// TestPendingSetSteadyStateAllocatesNothing: once a set has grown, adding records with
// fresh ids (borrowed from a reused buffer), taking them and evicting them allocates
// nothing, and the id arena stays bounded under churn.
func TestPendingSetSteadyStateAllocatesNothing(t *testing.T) {
	const max = 1000
	for _, tc := range []struct {
		name string
		take int // of every 10 records, how many get taken (the rest are evicted)
	}{{"evicted", 0}, {"taken", 10}, {"mixed", 7}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPendingSet[pendingPred](max)
			buf := make([]byte, 0, 64)
			k := 0
			step := func() {
				for range 100 {
					k++
					buf = binary.AppendUvarint(append(buf[:0], "req-"...), uint64(k))
					s.add(unsafe.String(&buf[0], len(buf)), int64(k), pendingPred{})
					// Take an earlier record: out of order, leaving garbage in the arena.
					if k%10 < tc.take {
						buf = binary.AppendUvarint(append(buf[:0], "req-"...), uint64(k-max/2))
						s.take(unsafe.String(&buf[0], len(buf)), func(int64, *pendingPred) {})
					}
				}
			}
			for range 50 {
				step()
			}
			require.Zero(t, testing.AllocsPerRun(100, step))
			require.LessOrEqual(t, cap(s.ids), 2*max*len(buf)+minPendingIDBytes, "arena bounded under churn")
		})
	}
}

// FuzzPendingSet runs random operations against a pendingSet and the reference model.
// The first bytes choose the capacity, the id-byte limit and the hash; then every 2 bytes
// are an operation and an id.
func FuzzPendingSet(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 1, 0, 2, 1, 1, 40, 1, 2, 2})
	f.Add([]byte{1, 1, 1, 0, 0, 0, 0, 64, 0, 128, 0})
	f.Add([]byte{8, 2, 3, 0, 13, 0, 26, 0, 13, 65, 13, 0, 39, 130, 0, 200, 13})
	f.Add([]byte{5, 30, 2, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 70, 3, 0, 7, 0, 8, 200, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		max := 1 + int(data[0]%32)
		maxIDs := 0
		if data[1] != 0 {
			maxIDs = int(data[1]) * 4
		}
		h := pendingHashes[int(data[2])%len(pendingHashes)]
		s := newTestPendingSet(max, maxIDs, h.hash)
		p := &pendingStepper{t: t, s: s, ref: pendingRef{max: max, maxIDs: s.maxIDs}}
		for ops := data[3:]; len(ops) >= 2; ops = ops[2:] {
			id := pendingTestID(int(ops[1]) % 40)
			switch ops[0] >> 6 {
			case 0, 1:
				p.add(id)
			case 2:
				p.take(id)
			default:
				if ops[0]&1 == 0 {
					p.eachOf(id)
				} else {
					p.expire(int64(ops[0] & 0x3e))
				}
			}
			p.check()
		}
	})
}
