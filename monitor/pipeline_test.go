package monitor

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
)

// decodeN calls fn n times with one reused record, as event.Decoder does: record i has
// i%7+1 features and i%3 class scores, all of value i, and id "r<i>".
func decodeN(n int) func(fn func(int, *event.Prediction)) {
	return func(fn func(int, *event.Prediction)) {
		var p event.Prediction
		for i := range n {
			p.ID = fmt.Sprintf("r%d", i)
			p.Features = p.Features[:0]
			for j := range i%7 + 1 {
				p.Features = append(p.Features, event.Feature{Name: fmt.Sprintf("f%d", j), Value: event.Value{Kind: event.Number, Num: float64(i)}})
			}
			p.Scores = p.Scores[:0]
			for j := range i % 3 {
				p.Scores = append(p.Scores, event.ClassScore{Class: fmt.Sprintf("k%d", j), P: float64(i)})
			}
			fn(i, &p)
		}
	}
}

func TestPipelineAppliesEveryRecordInOrder(t *testing.T) {
	pl := newPipeline[event.Prediction]()
	for _, n := range []int{0, 1, chunkRecords - 1, chunkRecords, chunkRecords*pipelineDepth*3 + 5} {
		// The applier records what it saw; assertions run here, on the test's goroutine.
		var got []string
		pl.run(decodeN(n), predictionOps, func(i int, p *event.Prediction) {
			s := fmt.Sprintf("%d:%s:%d:%d", i, p.ID, len(p.Features), len(p.Scores))
			for _, f := range p.Features {
				if f.Value.Num != float64(i) {
					s += fmt.Sprintf(" feature %s=%v", f.Name, f.Value.Num)
				}
			}
			for _, c := range p.Scores {
				if c.P != float64(i) {
					s += fmt.Sprintf(" score %s=%v", c.Class, c.P)
				}
			}
			got = append(got, s)
		})
		require.Len(t, got, n)
		for i, g := range got {
			require.Equal(t, fmt.Sprintf("%d:r%d:%d:%d", i, i, i%7+1, i%3), g, "record %d keeps its own features and scores, not the decoder's next ones", i)
		}
		for range pipelineDepth {
			c := <-pl.free
			for k := range c.recs {
				require.Empty(t, c.recs[k].ID, "an applied record refers to nothing of the body")
			}
			pl.free <- c
		}
	}
}

func TestPipelinePanicsOnTheCallersGoroutine(t *testing.T) {
	pl := newPipeline[event.Prediction]()
	applied := 0
	require.PanicsWithValue(t, "apply failed", func() {
		pl.run(decodeN(1000), predictionOps, func(i int, _ *event.Prediction) {
			if i == 100 {
				panic("apply failed")
			}
			applied++
		})
	})
	require.Equal(t, 100, applied, "nothing after the panic is applied")
	require.PanicsWithValue(t, "decode failed", func() {
		pl.run(func(fn func(int, *event.Prediction)) {
			decodeN(300)(fn)
			panic("decode failed")
		}, predictionOps, func(int, *event.Prediction) {})
	})
	// An applier that exits (t.FailNow does) leaves the decoder free to finish.
	pl.run(decodeN(1000), predictionOps, func(int, *event.Prediction) { runtime.Goexit() })
	// The pipeline is whole again: every chunk back, the applier gone.
	require.Len(t, pl.free, pipelineDepth)
	n := 0
	pl.run(decodeN(500), predictionOps, func(int, *event.Prediction) { n++ })
	require.Equal(t, 500, n)
}

// A body large enough for the pipeline answers exactly as a small one: the same counts
// and the same record indexes for decoder and engine rejections alike.
func TestLargeBodyIngest(t *testing.T) {
	d := startDaemon(t, strings.Replace(binaryCfg, "max_pending: 100", "max_pending: 5000", 1))
	var preds, labels strings.Builder
	const n = 2000
	for i := range n {
		switch {
		case i%500 == 7:
			fmt.Fprintf(&preds, `{"model":"fraud","id":"p%d","score":"high"}`+"\n", i) // the decoder's rejection
		case i%500 == 9:
			fmt.Fprintf(&preds, `{"model":"nobody","id":"p%d","score":0.5}`+"\n", i) // the engine's
		default:
			fmt.Fprintf(&preds, `{"model":"fraud","id":"p%d","features":{"amount":%d,"country":"DE"},"score":0.%d}`+"\n", i, i, i%10)
		}
		fmt.Fprintf(&labels, `{"model":"fraud","id":"p%d","label":%d}`+"\n", i, i%2)
	}
	require.Greater(t, preds.Len(), pipelineMinBytes)
	require.Greater(t, labels.Len(), pipelineMinBytes)

	r := d.post(t, "/api/v1/predictions", "application/x-ndjson", preds.String())
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	out := decodeIngest(t, r)
	require.Equal(t, n-8, out.Accepted)
	require.Equal(t, 8, out.Rejected)
	var idx []int
	var reasons []event.Reason
	for _, e := range out.Errors {
		idx = append(idx, e.Index)
		reasons = append(reasons, e.Reason)
	}
	require.Equal(t, []int{7, 9, 507, 509, 1007, 1009, 1507, 1509}, idx)
	require.Equal(t, event.ReasonInvalidValue, reasons[0])
	require.Equal(t, event.Reason(ReasonUnknownModel), reasons[1])

	r = d.post(t, "/api/v1/labels", "application/x-ndjson", labels.String())
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	require.Equal(t, n, decodeIngest(t, r).Accepted)
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "fraud")
	require.Equal(t, uint64(n-8), s.Events.Predictions)
	require.Equal(t, uint64(n), s.Events.Labels)
	require.Equal(t, 8, s.Labels.PendingLabels, "every label but those of the rejected predictions joined")
	require.Zero(t, s.Labels.PendingPredictions)
}
