package monitor

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProbSlab(t *testing.T) {
	s := probSlab{width: 3}
	require.Nil(t, s.get(0))
	a := s.put([]float64{1, 2, 3})
	b := s.put([]float64{4})          // padded with zeros
	c := s.put([]float64{5, 6, 7, 8}) // cut to width
	require.NotZero(t, a)
	require.Equal(t, []float64{1, 2, 3}, s.get(a))
	require.Equal(t, []float64{4, 0, 0}, s.get(b))
	require.Equal(t, []float64{5, 6, 7}, s.get(c))
	require.Equal(t, 3, s.rows())

	s.release(b)
	s.release(0) // no row: nothing happens
	require.Equal(t, 2, s.rows())
	d := s.put([]float64{9, 9})
	require.Equal(t, b, d, "a released row is reused")
	require.Equal(t, []float64{9, 9, 0}, s.get(d), "…and holds nothing of its last use")
	require.Len(t, s.data, 9, "no new row while one was free")
	require.Equal(t, []float64{1, 2, 3}, s.get(a), "other rows are untouched")
}

// TestPendingPredHoldsNoPointer: a waiting prediction, and the node that holds it, are
// plain data, so the pending set's slab is memory the garbage collector never scans.
func TestPendingPredHoldsNoPointer(t *testing.T) {
	var walk func(reflect.Type) bool
	walk = func(typ reflect.Type) bool {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.String, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return true
		case reflect.Array:
			return walk(typ.Elem())
		case reflect.Struct:
			for i := range typ.NumField() {
				if walk(typ.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[pendingNode[pendingPred]](), reflect.TypeFor[pendingNode[pendingLabel]]()} {
		require.False(t, walk(typ), typ.String())
	}
	require.Equal(t, uintptr(40), reflect.TypeFor[pendingPred]().Size())
}

const multiclassPendingCfg = `
global: {evaluation_interval: 1h}
models:
  - name: intent
    task: multiclass_classification
    classes: [greet, bye, ask]
    window: {size: 100}
    labels: {ttl: 1h, max_pending: 4}
`

// TestMulticlassProbabilitiesWait: class probabilities of predictions that wait for their
// labels (in the slab) give the same quality as when the labels came first, and the
// rows of predictions evicted or joined are given back.
func TestMulticlassProbabilitiesWait(t *testing.T) {
	classes := []string{"greet", "bye", "ask"}
	pred := func(i int) string {
		p := [3]float64{0.2, 0.3, 0.5}
		p[i%3], p[(i+1)%3] = p[(i+1)%3], p[i%3]
		return fmt.Sprintf(`{"model":"intent","id":"r%d","scores":{"greet":%v,"bye":%v,"ask":%v}}`, i, p[0], p[1], p[2])
	}
	label := func(i int) string {
		return fmt.Sprintf(`{"model":"intent","id":"r%d","label":%q}`, i, classes[(i*7)%3])
	}
	slab := func(d *testDaemon) (rows, pending int) {
		ms := d.m.state.Load().models["intent"]
		ms.mu.Lock()
		defer ms.mu.Unlock()
		return ms.probs.rows(), ms.pendPred.Len()
	}

	post := func(d *testDaemon, path, body string) {
		t.Helper()
		r := d.post(t, path, "", body)
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	}
	// Both daemons join r2…r11 in that order; r0 and r1 never get a label.
	first := startDaemon(t, multiclassPendingCfg) // labels first: nothing waits in the slab
	for i := range 12 {
		if i >= 2 {
			post(first, "/api/v1/labels", label(i))
		}
		post(first, "/api/v1/predictions", pred(i))
	}
	later := startDaemon(t, multiclassPendingCfg) // predictions first: they wait
	for i := range 6 {
		post(later, "/api/v1/predictions", pred(i))
		rows, pending := slab(later)
		require.Equal(t, min(i+1, 4), pending)
		require.Equal(t, pending, rows, "evicted predictions give their rows back")
	}
	for i := 2; i < 6; i++ {
		post(later, "/api/v1/labels", label(i))
	}
	rows, pending := slab(later)
	require.Zero(t, pending)
	require.Zero(t, rows, "joined predictions give their rows back")
	for i := 6; i < 12; i++ {
		post(later, "/api/v1/predictions", pred(i))
		post(later, "/api/v1/labels", label(i))
	}
	first.m.Evaluate(first.clock.Now())
	later.m.Evaluate(later.clock.Now())
	a, b := first.stats(t, "intent"), later.stats(t, "intent")
	require.NotEmpty(t, a.Quality)
	ll, ok := qualityValue(a, "", "*", "log_loss")
	require.True(t, ok, "log_loss needs the class probabilities")
	require.Greater(t, ll, 0.0)
	require.Equal(t, a.Quality, b.Quality)

	// A smaller capacity on reload drops the oldest and compacts the slab to the rows kept.
	for i := 20; i < 24; i++ {
		post(later, "/api/v1/predictions", pred(i))
	}
	ms := later.m.state.Load().models["intent"]
	ms.setLabels(LabelsConfig{TTL: ms.cfg.Labels.TTL, MaxPending: 2})
	rows, pending = slab(later)
	require.Equal(t, 2, pending)
	require.Equal(t, 2, rows)
	ms.mu.Lock()
	require.Len(t, ms.probs.data, 2*ms.probs.width)
	var kept [][]float64
	ms.pendPred.each(func(_ string, _ int64, v *pendingPred) { kept = append(kept, ms.probs.get(v.probs)[:4]) })
	ms.mu.Unlock()
	// pred(22) swaps greet's and bye's, pred(23) ask's and greet's; no fourth class.
	require.Equal(t, [][]float64{{0.2, 0.5, 0.3, 0}, {0.5, 0.3, 0.2, 0}}, kept, "r22 and r23 keep their probabilities")

	// A shrink that drops nothing still compacts: r22 and r23 fit in 3.
	ms.mu.Lock()
	ms.probs.put([]float64{1}) // a stray row the compaction must not keep
	ms.mu.Unlock()
	ms.setLabels(LabelsConfig{TTL: ms.cfg.Labels.TTL, MaxPending: 2})
	ms.setLabels(LabelsConfig{TTL: ms.cfg.Labels.TTL, MaxPending: 3})
	ms.setLabels(LabelsConfig{TTL: ms.cfg.Labels.TTL, MaxPending: 2})
	ms.mu.Lock()
	require.Len(t, ms.probs.data, 2*ms.probs.width)
	ms.mu.Unlock()

	// Expiry by labels.ttl gives the rows back too.
	ms.expire(later.clock.Now().Add(2 * time.Hour))
	rows, pending = slab(later)
	require.Zero(t, pending)
	require.Zero(t, rows, "expired predictions give their rows back")
}

// TestBinaryScoresWait: a binary model may be sent class scores; they choose its
// prediction and are not kept while it waits for its label (a binary model has no
// probability slab).
func TestBinaryScoresWait(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	r := d.post(t, "/api/v1/predictions", "", `{"model":"fraud","id":"b1","scores":{"0":0.3,"1":0.7}}`)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	r = d.post(t, "/api/v1/labels", "", `{"model":"fraud","id":"b1","label":1}`)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	d.m.Evaluate(d.clock.Now())
	acc, ok := qualityValue(d.stats(t, "fraud"), "", "*", "accuracy")
	require.True(t, ok)
	require.Equal(t, 1.0, acc, "the scores chose class 1")
}
