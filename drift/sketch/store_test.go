package sketch

import (
	"math/rand/v2"
	"testing"

	ddstore "github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/stretchr/testify/require"
)

// bucketsOf lists a store's non-empty buckets in ascending order.
func bucketsOf(s *store) [][2]uint64 {
	var out [][2]uint64
	s.forEach(func(k int, n uint64) { out = append(out, [2]uint64{uint64(int64(k)), n}) })
	return out
}

func ddBucketsOf(s *ddstore.CollapsingLowestDenseStore) [][2]uint64 {
	var out [][2]uint64
	s.ForEach(func(k int, n float64) bool {
		out = append(out, [2]uint64{uint64(int64(k)), uint64(n)})
		return false
	})
	return out
}

// TestStoreMatchesSketchesGo checks the compact store against the store it replaces,
// sketches-go's CollapsingLowestDenseStore of MaxBuckets buckets: the same buckets and
// counts after random adds (narrow and wide ranges, collapsing ones, counts that widen
// the counters), merges, clears and clones.
func TestStoreMatchesSketchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	index := func(spread int) int { return r.IntN(spread) - spread/2 + r.IntN(3)*400 }
	count := func() uint64 {
		switch r.IntN(10) {
		case 0:
			return uint64(r.IntN(1 << 20))
		case 1:
			return uint64(r.Int64N(1 << 40))
		default:
			return 1
		}
	}
	for round := range 300 {
		spread := []int{3, 50, 900, 1100, 3000, 100000}[round%6]
		var a, b store
		da := ddstore.NewCollapsingLowestDenseStore(MaxBuckets)
		db := ddstore.NewCollapsingLowestDenseStore(MaxBuckets)
		for step := range 400 {
			switch op := r.IntN(100); {
			case op < 60:
				k, n := index(spread), count()
				a.add(k, n)
				da.AddWithCount(k, float64(n))
			case op < 85:
				k, n := index(spread), count()
				b.add(k, n)
				db.AddWithCount(k, float64(n))
			case op < 92:
				a.mergeWith(&b)
				da.MergeWith(db)
			case op < 95:
				c := b.clone()
				c.mergeWith(&a)
				dc := db.Copy()
				dc.MergeWith(da)
				require.Equal(t, ddBucketsOf(dc.(*ddstore.CollapsingLowestDenseStore)), bucketsOf(&c), "round %d step %d: merge into a clone", round, step)
			case op < 97:
				b.clear()
				db.Clear()
			default:
				a = a.clone()
			}
			require.Equal(t, ddBucketsOf(da), bucketsOf(&a), "round %d step %d", round, step)
			require.Equal(t, ddBucketsOf(db), bucketsOf(&b), "round %d step %d", round, step)
			if lo, hi, ok := a.bounds(); ok {
				dlo, _ := da.MinIndex()
				dhi, _ := da.MaxIndex()
				require.Equal(t, [2]int{dlo, dhi}, [2]int{lo, hi})
			}
		}
	}
}
