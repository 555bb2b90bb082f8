package monitor

import (
	"sync"

	"github.com/vigilml/vigil/monitor/event"
)

// A large NDJSON body is decoded on the request's goroutine and applied on a second one,
// a chunk of records at a time, so that decoding the next records overlaps applying the
// last: a request's latency becomes about the larger of the two instead of their sum
// when a core is free (docs/performance.md, "Decoding and applying at once"). Records
// are applied in body order, one goroutine at a time, exactly as without the pipeline.

const (
	// pipelineMinBytes is the smallest body worth a second goroutine (about 100 records).
	pipelineMinBytes = 32 << 10
	// chunkRecords is how many records the decoder hands over at once.
	chunkRecords = 64
	// pipelineDepth is how many chunks may be in flight between the two goroutines.
	pipelineDepth = 4
)

// chunk is a run of decoded records with their indexes in the body.
type chunk[T any] struct {
	idx  [chunkRecords]int
	recs [chunkRecords]T
	n    int
}

// pipeline carries chunks from the decoder to the applier. It is reused across requests
// (through a sync.Pool), so that steady-state ingest allocates nothing per record.
type pipeline[T any] struct {
	full chan *chunk[T] // nil marks the end of a body
	free chan *chunk[T]
	done chan any // the applier's panic value, or nil
}

func newPipeline[T any]() *pipeline[T] {
	p := &pipeline[T]{
		full: make(chan *chunk[T], pipelineDepth+1),
		free: make(chan *chunk[T], pipelineDepth),
		done: make(chan any, 1),
	}
	for range pipelineDepth {
		p.free <- new(chunk[T])
	}
	return p
}

// recordOps copy a record out of the decoder's reused one into a chunk's (whose slices it
// may reuse), and clear a chunk's record once applied, keeping its slices, so that a
// pooled pipeline holds no reference to the last body (ids may be borrowed from it).
type recordOps[T any] struct {
	copy  func(dst, src *T)
	clear func(*T)
}

// run decodes with decode, which calls its fn for each record as the decoder does, and
// applies each record with apply on a second goroutine. run returns once every record is
// applied; a panic in apply is raised again here, on the request's goroutine, after the
// decoder has finished.
func (p *pipeline[T]) run(decode func(fn func(int, *T)), ops recordOps[T], apply func(int, *T)) {
	go p.apply(apply, ops.clear)
	cur := <-p.free
	ended := false
	defer func() {
		if !ended { // decode panicked: let the applier finish before the panic goes on
			p.full <- cur
			p.full <- nil
			<-p.done
		}
	}()
	decode(func(i int, rec *T) {
		ops.copy(&cur.recs[cur.n], rec)
		cur.idx[cur.n] = i
		cur.n++
		if cur.n == chunkRecords {
			p.full <- cur
			cur = <-p.free
		}
	})
	p.full <- cur
	p.full <- nil
	ended = true
	if v := <-p.done; v != nil {
		panic(v)
	}
}

func (p *pipeline[T]) apply(apply func(int, *T), clearRec func(*T)) {
	var panicked any
	var c *chunk[T] // the chunk being applied
	finished := false
	defer func() {
		if !finished {
			// apply called runtime.Goexit (t.FailNow in a test): take this chunk and
			// the remaining ones anyway, so that the decoder is not left waiting.
			if c != nil {
				p.recycle(c, clearRec)
			}
			p.recycle(nil, clearRec)
		}
		p.done <- panicked
	}()
	for c = range p.full {
		if c == nil {
			finished = true
			return
		}
		if panicked == nil {
			func() {
				defer func() { panicked = recover() }()
				for k := range c.n {
					apply(c.idx[k], &c.recs[k])
				}
			}()
		}
		p.recycle(c, clearRec)
	}
}

// recycle clears chunk c and returns it to the free list; with c nil, every chunk up to
// the end of the body.
func (p *pipeline[T]) recycle(c *chunk[T], clearRec func(*T)) {
	if c == nil {
		for c := range p.full {
			if c == nil {
				return
			}
			p.recycle(c, clearRec)
		}
		return
	}
	for k := range c.n {
		clearRec(&c.recs[k])
	}
	c.n = 0
	p.free <- c
}

// copyPrediction copies src into dst, reusing dst's feature and score slices.
func copyPrediction(dst, src *event.Prediction) {
	feats, scores := dst.Features[:0], dst.Scores[:0]
	*dst = *src
	dst.Features = append(feats, src.Features...)
	dst.Scores = append(scores, src.Scores...)
}

// clearPrediction drops what p refers to but its feature and score slices' capacity.
func clearPrediction(p *event.Prediction) {
	feats, scores := p.Features[:0], p.Scores[:0]
	*p = event.Prediction{Features: feats, Scores: scores}
}

func copyLabel(dst, src *event.Label) { *dst = *src }

func clearLabel(l *event.Label) { *l = event.Label{} }

var (
	predictionOps = recordOps[event.Prediction]{copy: copyPrediction, clear: clearPrediction}
	labelOps      = recordOps[event.Label]{copy: copyLabel, clear: clearLabel}
)

// pipelines are the monitor's reusable pipelines, one kind per record type.
type pipelines struct {
	preds  sync.Pool // of *pipeline[event.Prediction]
	labels sync.Pool // of *pipeline[event.Label]
}

// decodeApply calls decode with apply, or, when pipelined, runs it through a pipeline
// from pool (whose pipelines carry records of type T) so that applying overlaps decoding.
func decodeApply[T any](pool *sync.Pool, pipelined bool, ops recordOps[T], decode func(fn func(int, *T)), apply func(int, *T)) {
	if !pipelined {
		decode(apply)
		return
	}
	pl, ok := pool.Get().(*pipeline[T])
	if !ok {
		pl = newPipeline[T]()
	}
	pl.run(decode, ops, apply)
	pool.Put(pl) // not after a panic: that pipeline is dropped
}
