package monitor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPendingSlotLayout checks how a slot is split between the node index and the tag
// for capacities around the widths of the index, up to one that leaves no tag at all.
func TestPendingSlotLayout(t *testing.T) {
	for _, tc := range []struct {
		max                       int
		idxBits, distBits, fpBits uint8
	}{
		{0, 1, 4, 27}, // a set of capacity 0 still holds the record add stores
		{1, 1, 4, 27},
		{7, 3, 4, 25},
		{8, 4, 4, 24},
		{100000, 17, 4, 11},
		{1 << 27, 28, 4, 0},
		{1 << 29, 30, 2, 0},
		{math.MaxInt32, 31, 1, 0},
		{math.MaxInt32 + 1, 32, 0, 0},
		{math.MaxInt, 32, 0, 0},
	} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			s := newPendingSet[int](tc.max)
			require.Equal(t, tc.idxBits, s.idxBits, "idxBits")
			require.Equal(t, tc.distBits, s.distBits, "distBits")
			require.Equal(t, tc.fpBits, s.fpBits, "fpBits")
			require.Equal(t, uint32(uint64(1)<<tc.idxBits-1), s.idxMask)
			require.Greater(t, uint64(s.idxMask), uint64(min(max(tc.max, 1), math.MaxInt32)-1), "1 + every node index fits")
		})
	}
}

// TestPendingSlotTags runs named sequences under hashes that make the tags collide in
// each way a probe can meet them, and checks the answers and every slot's tag after each
// step. Ids are numbered; the hash maps id k to hashes[k].
func TestPendingSlotTags(t *testing.T) {
	const (
		fpA = 0xabc00000 // two fingerprints (top bits of the 32-bit hash)...
		fpB = 0x12300000 // ...that differ at every capacity here
	)
	for _, tc := range []struct {
		name   string
		max    int
		hashes []uint32 // id k hashes to hashes[k]
	}{
		{"same fingerprint and home: the bytes decide", 16, []uint32{fpA | 3, fpA | 3, fpA | 3, fpA | 3}},
		{"same fingerprint, neighbouring homes", 16, []uint32{fpA | 3, fpA | 4, fpA | 3, fpA | 5, fpA | 4, fpA | 3}},
		{"same home, other fingerprints", 16, []uint32{fpA | 7, fpB | 7, fpA | 7, fpB | 7}},
		{"a run across the end of the index", 16, []uint32{fpA | 15, fpB | 15, fpA | 14, fpA, fpB | 15, fpA | 1}},
		{"distances past saturation", 64, slices.Repeat([]uint32{fpA | 9, fpB | 9, fpA | 10}, 12)},
		{"no tag bits", math.MaxInt, []uint32{5, 5, 6, 5, 7, 6, 5}},
		{"one tag bit", math.MaxInt32, []uint32{5, 1<<31 | 5, 6, 5, 1<<31 | 6, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := map[string]int{}
			for k := range tc.hashes {
				ids[fmt.Sprint("id-", k)] = k
			}
			hash := func(id string) uint64 {
				k, ok := ids[id]
				if !ok {
					return 0xdead0000dead
				}
				return 0xffffffff00000000 | uint64(tc.hashes[k])
			}
			r := rand.New(rand.NewPCG(uint64(len(tc.hashes)), 9))
			s := newTestPendingSet(tc.max, 0, hash)
			p := &pendingStepper{t: t, s: s, ref: pendingRef{max: tc.max, maxIDs: s.maxIDs}}
			// Add every id in order, some twice, then take them in a shuffled order,
			// checking after each step; then do it again with random operations.
			for k := range tc.hashes {
				p.add(fmt.Sprint("id-", k))
				if k%3 == 1 {
					p.add(fmt.Sprint("id-", k))
				}
				p.check()
			}
			for _, k := range r.Perm(len(tc.hashes)) {
				for j := range tc.hashes {
					p.eachOf(fmt.Sprint("id-", j))
				}
				p.take(fmt.Sprint("id-", k))
				p.check()
			}
			require.Zero(t, s.heads)
			for range 2000 {
				id := fmt.Sprint("id-", r.IntN(len(tc.hashes)+1)) // and one not there
				switch r.IntN(4) {
				case 0, 1:
					p.add(id)
				case 2:
					p.take(id)
				default:
					p.eachOf(id)
				}
				p.check()
			}
		})
	}
}

// TestPendingSetMaxAcrossIndexWidth grows a set's capacity across the widths of a slot's
// node index (where the tag gets narrower) and checks that every record stays, in order,
// findable, and that the set then fills to its new capacity.
func TestPendingSetMaxAcrossIndexWidth(t *testing.T) {
	for _, h := range pendingHashes {
		for _, tc := range []struct {
			from int
			to   []int
		}{
			{3, []int{4}},
			{7, []int{8, 16, 17}},
			{100, []int{127, 128, 1000}},
			{500, []int{1 << 20, math.MaxInt32}},
			{300, []int{math.MaxInt}}, // no tag bits left
			{200, []int{1 << 29, math.MaxInt, math.MaxInt}},
		} {
			t.Run(fmt.Sprint(h.name, "/", tc.from, "->", tc.to), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(tc.from), 1))
				s := newTestPendingSet(tc.from, 0, h.hash)
				p := &pendingStepper{t: t, s: s, ref: pendingRef{max: tc.from, maxIDs: s.maxIDs}}
				ids := 3 * tc.from
				for range 4 * tc.from {
					id := pendingTestID(r.IntN(ids))
					if r.IntN(5) == 0 {
						p.take(id)
					} else {
						p.add(id)
					}
				}
				p.check()
				for _, to := range tc.to {
					bits := s.idxBits
					require.Zero(t, s.setMax(to))
					p.ref.max = to
					require.GreaterOrEqual(t, s.idxBits, bits)
					p.check()
					for k := range ids {
						p.eachOf(pendingTestID(k))
					}
				}
				// Fill past the old capacity (up to 2,000 more), then empty by id.
				for k := range min(tc.to[len(tc.to)-1], 2000) {
					p.add(pendingTestID(ids + k))
				}
				p.check()
				for _, x := range slices.Clone(p.ref.recs) {
					p.take(x.id)
				}
				require.Zero(t, s.Len())
				require.Zero(t, s.heads)
			})
		}
	}
}

// pendingMapModel is a reference for large pending sets: records in age order with a
// map from id to its records, so that each operation costs about what it does in the set.
type pendingMapModel struct {
	max  int
	recs []pendingModelRec // age order; removed records stay, dead, until they reach the front
	head int               // first record that may be live
	byID map[string][]int  // live records of an id, oldest first, as indexes into recs
	n    int
}

type pendingModelRec struct {
	id   string
	t    int64
	val  int
	dead bool
}

func (m *pendingMapModel) front() int {
	for m.recs[m.head].dead {
		m.head++
	}
	return m.head
}

// dropOldest removes the oldest live record and returns its value.
func (m *pendingMapModel) dropOldest() int {
	i := m.front()
	x := &m.recs[i]
	x.dead = true
	l := m.byID[x.id]
	if l[0] != i {
		panic("the oldest record is not the oldest of its id")
	}
	if len(l) == 1 {
		delete(m.byID, x.id)
	} else {
		m.byID[x.id] = l[1:]
	}
	m.n--
	return x.val
}

func (m *pendingMapModel) add(id string, t int64, v int) (old int, evicted bool) {
	for m.n > 0 && m.n >= m.max {
		o := m.dropOldest()
		if !evicted {
			old, evicted = o, true
		}
	}
	m.recs = append(m.recs, pendingModelRec{id: id, t: t, val: v})
	m.byID[id] = append(m.byID[id], len(m.recs)-1)
	m.n++
	return old, evicted
}

func (m *pendingMapModel) take(id string, remove bool) []int {
	var vals []int
	for _, i := range m.byID[id] {
		vals = append(vals, m.recs[i].val)
		if remove {
			m.recs[i].dead = true
			m.n--
		}
	}
	if remove {
		delete(m.byID, id)
	}
	return vals
}

func (m *pendingMapModel) expire(cutoff int64) []int {
	var vals []int
	for m.n > 0 && m.recs[m.front()].t < cutoff {
		vals = append(vals, m.dropOldest())
	}
	return vals
}

// TestPendingSetLargeModel drives a large pending set (tens of thousands of records, an
// index of up to 128Ki slots) with random adds, takes, lookups, expiries and capacity
// changes, and checks every answer against a map-based model.
func TestPendingSetLargeModel(t *testing.T) {
	ops := 300000
	if testing.Short() {
		ops = 60000
	}
	for _, h := range []struct {
		name string
		hash func(string) uint64
	}{
		{"maphash", nil},
		{"same fingerprint, other slots", pendingLowHash},
	} {
		t.Run(h.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(42, 43))
			const max0 = 40000
			s := newTestPendingSet(max0, 0, h.hash)
			m := &pendingMapModel{max: max0, byID: map[string][]int{}}
			idSpace := 3 * max0
			now := int64(0)
			var got []int
			collect := func(_ int64, v *int) { got = append(got, *v) }
			for op := range ops {
				id := pendingTestID(r.IntN(idSpace))
				got = nil
				switch k := r.IntN(100); {
				case k < 60:
					now++
					old, ev := s.add(id, now, op)
					wantOld, wantEv := m.add(id, now, op)
					require.Equal(t, wantEv, ev, "op %d: add %q evicted", op, id)
					if ev {
						require.Equal(t, wantOld, old, "op %d: add %q", op, id)
					}
				case k < 80:
					n := s.take(id, collect)
					want := m.take(id, true)
					require.Equal(t, len(want), n)
					require.Equal(t, want, got, "op %d: take %q", op, id)
				case k < 98:
					n := s.eachOf(id, collect)
					want := m.take(id, false)
					require.Equal(t, len(want), n)
					require.Equal(t, want, got, "op %d: eachOf %q", op, id)
					require.Equal(t, n > 0, s.has(id))
				case k < 99:
					cutoff := now - int64(r.IntN(2*m.max))
					s.expire(cutoff, func(v *int) { got = append(got, *v) })
					require.Equal(t, m.expire(cutoff), got, "op %d: expire", op)
				default:
					if op%500 != 0 {
						continue
					}
					// Now and then a new capacity: mostly larger, across index widths.
					to := m.max + r.IntN(m.max)
					if r.IntN(4) == 0 {
						to = m.max/2 + r.IntN(m.max/2) + 1
					}
					k := s.setMax(to)
					m.max = to
					for range k {
						m.dropOldest()
					}
				}
				require.Equal(t, m.n, s.Len(), "op %d", op)
				if op%20000 == 0 {
					checkPendingSlots(t, s)
				}
			}
			checkPendingSlots(t, s)
			for id := range m.byID {
				require.Equal(t, len(m.byID[id]), s.take(id, func(int64, *int) {}))
			}
			require.Zero(t, s.Len())
			require.Zero(t, s.heads)
		})
	}
}
