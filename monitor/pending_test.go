package monitor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPendingSetModel drives a pendingSet with random adds (ids repeat, so chains form),
// takes and expiries, and checks every answer against a plain list of the same records.
func TestPendingSetModel(t *testing.T) {
	type rec struct {
		id  string
		t   int64
		val int
	}
	for _, tc := range []struct {
		name      string
		max, ids  int
		ops, seed uint64
	}{
		{"small, many repeats", 4, 3, 5000, 1},
		{"chains", 50, 20, 20000, 2},
		{"mostly unique", 1000, 100000, 20000, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tc.seed, 0))
			s := newPendingSet[int](tc.max)
			var model []rec // oldest first
			var now int64
			for op := range tc.ops {
				id := fmt.Sprint("id-", r.IntN(tc.ids))
				switch k := r.IntN(10); {
				case k < 6:
					now++
					old, evicted := s.add(id, now, int(op))
					if len(model) >= tc.max {
						require.True(t, evicted)
						require.Equal(t, model[0].val, old, "the oldest is evicted")
						model = model[1:]
					} else {
						require.False(t, evicted)
					}
					model = append(model, rec{id, now, int(op)})
				case k < 9:
					var got, want []int
					n := s.take(id, func(_ int64, v *int) { got = append(got, *v) })
					model = slices.DeleteFunc(model, func(x rec) bool {
						if x.id == id {
							want = append(want, x.val)
							return true
						}
						return false
					})
					require.Equal(t, len(want), n)
					require.Equal(t, want, got, "records of an id come out oldest first")
				default:
					cutoff := now - int64(r.IntN(2*tc.max))
					var got []int
					s.expire(cutoff, func(v *int) { got = append(got, *v) })
					var want []int
					for len(model) > 0 && model[0].t < cutoff {
						want = append(want, model[0].val)
						model = model[1:]
					}
					require.Equal(t, want, got)
				}
				require.Equal(t, len(model), s.Len())
			}
			// Everything left comes out by id, in order.
			for _, x := range slices.Clone(model) {
				s.take(x.id, func(int64, *int) {})
			}
			require.Zero(t, s.Len())
			require.Empty(t, s.byID)
		})
	}
}
