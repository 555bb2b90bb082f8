package monitor

import (
	"bytes"
	"encoding/gob"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/drift/sketch"
	"github.com/vigilml/vigil/monitor/event"
)

// rawReference is what a first-N reference held as raw values: each column in arrival
// order, NaN or 0 for missing, regenerated from testEvents.
func rawReference(m *modelState, seed uint64) (num [][]float64, cat [][]uint32) {
	num, cat = make([][]float64, len(m.first.num)), make([][]uint32, len(m.first.cat))
	for k := range m.cfg.Reference.Size {
		p, _ := testEvents(m, k, seed)
		for i, f := range p.Features {
			fs := m.feats[i]
			if fs.typ == Numeric {
				v := math.NaN()
				if f.Value.Kind == event.Number {
					v = f.Value.Num
				}
				num[fs.col] = append(num[fs.col], v)
			} else {
				var id uint32
				if f.Value.Kind != event.Missing {
					id = fs.dict.id(f.Value.Class())
				}
				cat[fs.col] = append(cat[fs.col], id)
			}
		}
	}
	return num, cat
}

// streamingModel is a streaming model with a first-2,000 reference: model s of
// scratchModels (numeric and categorical features, threshold: auto on both kinds).
func streamingModel(t *testing.T) *modelState {
	t.Helper()
	m := testModels(t, scratchModels)[0]
	require.Equal(t, ModeStreaming, m.cfg.Window.Mode)
	return m
}

// TestStreamingReferenceSummarised checks that a streaming model whose first-N reference
// is full keeps it as summaries only, and that those are what the reference's raw values
// give: each numeric column's sorted values added to a summary with the panes' options,
// each categorical column's counts, the thresholds learnt from the values in arrival order.
func TestStreamingReferenceSummarised(t *testing.T) {
	m := streamingModel(t)
	n := m.cfg.Reference.Size
	feedModel(t, m, 0, n-1, 1)
	require.Nil(t, m.stream.ref, "the reference is not full")
	feedModel(t, m, n-1, n+500, 1)
	require.True(t, m.first.frozen())
	require.NotNil(t, m.stream.ref)
	for i := range m.first.num {
		require.Nil(t, m.first.num[i], "numeric column %d of the raw reference is kept", i)
	}
	for i := range m.first.cat {
		require.Nil(t, m.first.cat[i], "categorical column %d of the raw reference is kept", i)
	}
	require.Equal(t, n, m.first.len(), "the model's outputs stay")

	num, cat := rawReference(m, 1)
	st := m.evaluate(testEpoch.Add(time.Duration(n+500)*time.Millisecond), &evalScratch{})
	for i, f := range m.feats {
		t.Run(f.name, func(t *testing.T) {
			fd := featureData{name: f.name, typ: f.typ, cfg: &m.cfg.Features[i]}
			if f.typ == Numeric {
				fd.refNum = slices.DeleteFunc(slices.Clone(num[f.col]), math.IsNaN)
				want, err := sketch.NewNumeric(m.stream.panes[0].num[f.col].Options())
				require.NoError(t, err)
				for _, v := range drift.NewSample(fd.refNum).Sorted() {
					want.Add(v)
				}
				wb, err := want.MarshalBinary()
				require.NoError(t, err)
				gb, err := m.stream.ref.num[f.col].MarshalBinary()
				require.NoError(t, err)
				require.Equal(t, wb, gb)
				require.Equal(t, len(fd.refNum), st.Features[i].Reference)
			} else {
				fd.refCat = slices.DeleteFunc(slices.Clone(cat[f.col]), func(id uint32) bool { return id == 0 })
				require.Equal(t, drift.CountCategories(fd.refCat), m.stream.ref.cat[f.col])
				require.Equal(t, len(fd.refCat), st.Features[i].Reference)
			}
			auto, ok := m.stream.ref.auto[f.name]
			require.Equal(t, fd.cfg.Drift != nil && fd.cfg.Drift.Threshold.Auto, ok)
			if ok {
				method := defaultMethod(f.typ, len(fd.refNum)+len(fd.refCat), m.cfg.Drift.LargeSample)
				require.Equal(t, m.learnThreshold(&fd, method), auto)
				require.True(t, st.Features[i].ThresholdAuto)
				require.Equal(t, auto, *st.Features[i].Threshold)
			}
			require.NotNil(t, st.Features[i].Detected, st.Features[i].NoVerdict)
		})
	}
}

// TestStreamingReferenceFillingNotCopied checks that an evaluation while a streaming
// model's first-N reference fills counts the reference's values without copying them.
func TestStreamingReferenceFillingNotCopied(t *testing.T) {
	m := streamingModel(t)
	feedModel(t, m, 0, 1500, 1)
	num, cat := rawReference(m, 1)
	var s evalScratch
	st := m.evaluate(testEpoch.Add(1500*time.Millisecond), &s)
	for i, f := range m.feats {
		require.Zero(t, cap(s.feats[i].refNum)+cap(s.feats[i].refCat), "feature %s: the filling reference was copied", f.name)
		want := 0
		if f.typ == Numeric {
			for _, v := range num[f.col][:1500] {
				if !math.IsNaN(v) {
					want++
				}
			}
		} else {
			for _, id := range cat[f.col][:1500] {
				if id != 0 {
					want++
				}
			}
		}
		require.Equal(t, want, st.Features[i].Reference, f.name)
		require.Equal(t, 0, st.Features[i].Current)
	}
}

// TestSnapshotStreamingReference restores a streaming model whose first-N reference is
// full from a snapshot of the current format (the reference as summaries) and of format 1
// (the reference as raw values, as older versions wrote it): both give a model that holds
// no raw reference and whose statistics equal the original's, now and after more traffic.
func TestSnapshotStreamingReference(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format int
	}{
		{"format 2, summaries", snapshotFormat},
		{"format 1, raw values", snapshotFormatRaw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := streamingModel(t)
			n := orig.cfg.Reference.Size
			feedModel(t, orig, 0, n+700, 1)
			snap, err := orig.snapState("s", "fp")
			require.NoError(t, err)
			require.Equal(t, snapshotFormat, snap.Format)
			require.NotNil(t, snap.StreamRef)
			for _, c := range snap.First.Num {
				require.Empty(t, c, "format 2 writes no raw reference values")
			}
			if tc.format == snapshotFormatRaw {
				// What format 1 wrote: the raw reference, no summaries.
				snap.Format, snap.StreamRef = snapshotFormatRaw, nil
				snap.First.Num, snap.First.Cat = rawReference(orig, 1)
			}
			var buf bytes.Buffer
			require.NoError(t, gob.NewEncoder(&buf).Encode(snap))
			var got modelSnap
			require.NoError(t, gob.NewDecoder(&buf).Decode(&got))
			require.True(t, restorableFormat(got.Format))

			restored := streamingModel(t)
			require.NoError(t, restored.restoreState(&got))
			require.NotNil(t, restored.stream.ref)
			for i := range restored.first.num {
				require.Nil(t, restored.first.num[i])
			}
			for _, step := range []struct{ from, to int }{{n + 700, n + 700}, {n + 700, n + 4000}} {
				feedModel(t, orig, step.from, step.to, 1)
				feedModel(t, restored, step.from, step.to, 1)
				at := testEpoch.Add(time.Duration(step.to) * time.Millisecond)
				// The anomaly signals are per-tick sums a snapshot does not keep.
				want, got := orig.evaluate(at, &evalScratch{}), restored.evaluate(at, &evalScratch{})
				want.Anomalies, got.Anomalies = nil, nil
				require.JSONEq(t, statsJSON(t, want), statsJSON(t, got))
			}
		})
	}
}

// TestRestorableFormat: the current snapshot format and the raw-reference one are restored,
// others ignored.
func TestRestorableFormat(t *testing.T) {
	for _, tc := range []struct {
		format int
		want   bool
	}{{0, false}, {1, true}, {2, true}, {3, false}} {
		require.Equal(t, tc.want, restorableFormat(tc.format), tc.format)
	}
}
