package monitor

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilml/vigil/monitor/dataset"
	"github.com/vigilml/vigil/monitor/event"
	"github.com/vigilml/vigil/monitor/profile"
)

// BaselineOptions say how to build a reference profile from a data file.
type BaselineOptions struct {
	// Model is the model's config: its features (and their types) are profiled and its
	// drift settings decide the thresholds learnt for `threshold: auto`. When nil, every
	// column of the file is profiled with its type inferred, under ModelName.
	Model     *ModelConfig
	ModelName string
	// Input is the data file: CSV, NDJSON (the ingest format) or Parquet, by extension.
	Input string
	// PredictionColumn and ScoreColumn name the model's output in a CSV or Parquet file,
	// profiled as __prediction__ (the score when there is one); NDJSON records carry it.
	PredictionColumn, ScoreColumn string
	// SampleSize bounds the values kept per numeric feature (0: profile.DefaultSampleSize).
	SampleSize int
	// Progress is called with the bytes read and the file's size, about 10 times a second.
	Progress func(read, total int64)
	Logger   *slog.Logger
	Now      func() time.Time
}

// maxLoggedRowErrors bounds the row errors logged one by one; all are counted.
const maxLoggedRowErrors = 20

// BuildProfile reads the whole input once, in constant memory, and returns its profile.
func BuildProfile(opts BaselineOptions) (*profile.Profile, error) {
	return buildProfile(opts, runtime.GOMAXPROCS(0))
}

// buildProfile is BuildProfile with the profile accumulated on up to workers goroutines,
// besides the one reading the file. The profile is the same for any number, and the same
// as with workers = 0: row by row on the caller's goroutine, the reference order.
func buildProfile(opts BaselineOptions, workers int) (*profile.Profile, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	name := opts.ModelName
	if opts.Model != nil {
		name = opts.Model.Name
	}
	if name == "" {
		return nil, errors.New("baseline: no model name")
	}
	dopts := dataset.Options{
		PredictionColumn: opts.PredictionColumn,
		ScoreColumn:      opts.ScoreColumn,
		Model:            name,
		Progress:         opts.Progress,
	}
	var logged int
	logRowError := func(e *dataset.RowError) {
		if logged < maxLoggedRowErrors {
			logger.Warn("row problem", "file", opts.Input, "err", e, "rejected", e.Rejected)
		} else if logged == maxLoggedRowErrors {
			logger.Warn("more row problems; only counting them from now on", "file", opts.Input)
		}
		logged++
	}
	// With workers, the reader's row problems go into its batches, to be logged in file
	// order with the type mismatches of the numbers it leaves to the first group to
	// convert (DeferNumbers).
	onRowError := logRowError
	dopts.OnRowError = func(e *dataset.RowError) { onRowError(e) }
	dopts.DeferNumbers = workers > 0
	if mc := opts.Model; mc != nil {
		dopts.Types = map[string]dataset.ColumnType{}
		for _, f := range mc.Features {
			dopts.FeatureColumns = append(dopts.FeatureColumns, f.Name)
			t := dataset.Numeric
			if f.Type == Categorical {
				t = dataset.Categorical
			}
			dopts.Types[f.Name] = t
		}
	}
	r, err := dataset.Open(opts.Input, dopts)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer r.Close()

	cols := r.Schema().Columns
	specs := make([]profile.Spec, len(cols))
	for i, c := range cols {
		specs[i] = profile.Spec{Name: c.Name, Type: profile.Numeric}
		if c.Type == dataset.Categorical {
			specs[i].Type = profile.Categorical
		}
	}
	task := Task("")
	if opts.Model != nil {
		task = opts.Model.Task
	}
	predType := predictionType(task, opts)
	b := profile.NewBuilder(name, specs, predType, opts.SampleSize)
	// Reading and parsing the file runs on one goroutine and the profile's accumulation on
	// others, batch by batch, each accumulating a group of features. Every feature sees
	// its values in row order, and the numeric ones, which share the samples' random
	// source, are in one group: the profile does not depend on the number of groups.
	colIndex := make(map[string]int, len(cols))
	for i, c := range cols {
		colIndex[c.Name] = i
	}
	numeric := make([]bool, len(cols))
	for i, s := range specs {
		numeric[i] = s.Type == profile.Numeric
	}
	layout := newBatchLayout(numeric)
	// Type mismatches of the numbers converted here (DeferNumbers), by column.
	deferredMismatches := make([]int64, len(cols))
	var adds []func(bt *baselineBatch)
	for gi, g := range featureGroups(specs, max(workers, 1)) {
		adds = append(adds, func(bt *baselineBatch) {
			vals, preds := bt.vals, bt.preds
			stride, rawStride := len(cols), 0
			if bt.deferred {
				stride, rawStride = layout.ncat, layout.nnum
			}
			ev := 0 // the next of bt.events to log, in the first group
			for k := range preds {
				row := vals[k*stride : (k+1)*stride]
				raw := bt.raw[k*rawStride : (k+1)*rawStride]
				if gi == 0 && bt.deferred {
					// The rows rejected before this one.
					for ev < len(bt.events) && bt.events[ev].row == k && bt.events[ev].err.Rejected {
						logRowError(bt.events[ev].err)
						ev++
					}
				}
				for _, i := range g {
					vi := i
					if bt.deferred {
						vi = layout.slot[i]
					}
					if bt.deferred && layout.numeric[i] {
						sp := raw[vi]
						if sp.end < 0 {
							b.AddMissing(i, false)
							continue
						}
						text := bt.arena[sp.off:sp.end]
						if x, ok := dataset.ParseNumber(text); ok {
							b.AddNumber(i, x)
							continue
						}
						// A type mismatch, logged after the reader's ones of the
						// columns before it in this row.
						for ev < len(bt.events) && bt.events[ev].row == k && colIndex[bt.events[ev].err.Column] < i {
							logRowError(bt.events[ev].err)
							ev++
						}
						deferredMismatches[i]++
						logRowError(dataset.NumberMismatch(preds[k].line, cols[i].Name, text))
						b.AddMissing(i, false)
						continue
					}
					switch v := &row[vi]; {
					case v.Kind == event.Missing:
						b.AddMissing(i, false)
					case specs[i].Type == profile.Numeric:
						b.AddNumber(i, v.Num)
					default:
						b.AddCategory(i, v.Class())
					}
				}
				if gi > 0 {
					continue
				}
				// The reader's type mismatches of this row after the last converted here.
				for ev < len(bt.events) && bt.events[ev].row == k {
					logRowError(bt.events[ev].err)
					ev++
				}
				// The prediction goes with the numeric features, after the row's
				// features: a numeric prediction shares their random source.
				p := &preds[k]
				switch {
				case predType == profile.Numeric && p.hasScore:
					b.AddPredictionNumber(p.score)
				case predType == profile.Numeric && p.value.Kind == event.Number && task == Regression:
					b.AddPredictionNumber(p.value.Num)
				case predType == profile.Categorical && p.value.Kind != event.Missing:
					b.AddPredictionCategory(p.value.Class())
				}
			}
			if gi == 0 {
				// The rows rejected after the batch's last one, at the end of the file
				// or before a fatal error.
				for _, e := range bt.events[ev:] {
					logRowError(e.err)
				}
			}
		})
	}
	if workers > 0 {
		err = readBatches(r, layout, adds, &onRowError)
	} else {
		err = readRows(r, len(cols), adds[0])
	}
	if err != nil {
		return nil, fmt.Errorf("baseline: %s: %w", opts.Input, err)
	}
	st := r.Stats()
	sum, _ := r.SHA256()
	src := profile.Source{Path: opts.Input, SHA256: hex.EncodeToString(sum[:]), Bytes: r.Size(), Rows: st.Rows, Rejected: st.Rejected}
	learner := &modelState{cfg: ModelConfig{Drift: DefaultConfigModel().Drift}}
	if opts.Model != nil {
		learner.cfg = *opts.Model
	}
	p := b.Finish(src, now(), func(f *profile.Feature) { learnProfileThresholds(learner, f) })
	for i := range p.Features {
		if i < len(st.Mismatched) {
			p.Features[i].TypeMismatches = st.Mismatched[i] + deferredMismatches[i]
		}
	}
	logger.Info("profile built", "model", name, "file", opts.Input, "rows", st.Rows, "rejected", st.Rejected, "features", len(cols))
	return p, nil
}

// predictionType is the type the model's output is profiled with, as the monitor tests
// it: a binary model's scores, a regression model's values, a classifier's classes.
func predictionType(task Task, opts BaselineOptions) profile.Type {
	ndjson := isNDJSON(opts.Input)
	switch {
	case opts.ScoreColumn != "":
		return profile.Numeric
	case opts.PredictionColumn == "" && !ndjson:
		return ""
	case task == Regression, ndjson && (task == BinaryClassification || task == ""):
		return profile.Numeric
	}
	return profile.Categorical
}

func isNDJSON(path string) bool {
	f, err := dataset.FormatFromPath(path)
	return err == nil && f == dataset.NDJSON
}

// learnProfileThresholds stores, for a numeric feature whose config asks for
// `threshold: auto`, the limit learnt from the profile's sample.
func learnProfileThresholds(m *modelState, f *profile.Feature) {
	if f.Type != profile.Numeric || len(f.Sample) == 0 {
		return
	}
	var fc *FeatureConfig
	for i := range m.cfg.Features {
		if m.cfg.Features[i].Name == f.Name {
			fc = &m.cfg.Features[i]
		}
	}
	if fc == nil || fc.Drift == nil || !fc.Drift.Threshold.Auto {
		return
	}
	method := fc.Drift.Method
	if method == "" {
		method = defaultMethod(Numeric, len(f.Sample), m.cfg.Drift.LargeSample)
	}
	fd := &featureData{name: f.Name, typ: Numeric, refNum: f.Sample}
	if v := m.learnThreshold(fd, method); finite(v) {
		if f.Thresholds == nil {
			f.Thresholds = map[string]float64{}
		}
		f.Thresholds[method] = v
	}
}

// DefaultConfigModel is a model config with every default set, for tools that profile
// data without a config file.
func DefaultConfigModel() ModelConfig {
	var m ModelConfig
	_ = m.UnmarshalYAML(func(any) error { return nil })
	return m
}

// featureGroups splits the features into at most n groups to accumulate concurrently:
// the first holds every numeric feature (they share a random source), the others share
// out the categorical ones. There is always a first group, empty when there are no
// numeric features; with n = 1 it holds every feature.
func featureGroups(specs []profile.Spec, n int) [][]int {
	var cats []int
	groups := [][]int{{}}
	for i, s := range specs {
		if s.Type == profile.Numeric || n <= 1 {
			groups[0] = append(groups[0], i)
		} else {
			cats = append(cats, i)
		}
	}
	if len(cats) == 0 {
		return groups
	}
	extra := min(n-1, len(cats))
	for g := range extra {
		var group []int
		for k := g; k < len(cats); k += extra {
			group = append(group, cats[k])
		}
		groups = append(groups, group)
	}
	return groups
}

// baselinePrediction is what a profile keeps of a row's prediction, and the row's line.
type baselinePrediction struct {
	value    event.Value
	score    float64
	hasScore bool
	line     int64
}

// baselineBatch is a batch of rows handed over from the reader: the feature values of
// each row (ncols of them, unless deferred) and its prediction.
type baselineBatch struct {
	vals  []event.Value
	preds []baselinePrediction
	// With DeferNumbers (deferred), vals holds only the values that are not numeric, raw
	// where the text of each numeric value is in arena (end < 0 for a missing one), both
	// as batchLayout says; and events the reader's row problems, to log in order.
	deferred bool
	raw      []rawSpan
	arena    []byte
	events   []rowEvent
	err      error
}

// batchLayout says where a row's values are in a batch with deferred numbers: the text
// of numeric column i is raw[slot[i]] of the row's nnum spans, the value of another
// column vals[slot[i]] of its ncat values.
type batchLayout struct {
	numeric    []bool
	slot       []int
	nnum, ncat int
}

func newBatchLayout(numeric []bool) batchLayout {
	l := batchLayout{numeric: numeric, slot: make([]int, len(numeric))}
	for i, num := range numeric {
		if num {
			l.slot[i], l.nnum = l.nnum, l.nnum+1
		} else {
			l.slot[i], l.ncat = l.ncat, l.ncat+1
		}
	}
	return l
}

// rawSpan is where the text of a number left to convert is in its batch's arena.
type rawSpan struct{ off, end int32 }

// rowEvent is a row problem the reader reported while reading row (an index in the
// batch; len(preds) after the last one).
type rowEvent struct {
	row int
	err *dataset.RowError
}

// baselineBatchRows is the number of rows handed over at a time: large enough that the
// hand-over costs nothing per row, small enough to stay in cache.
const baselineBatchRows = 2048

// readRows calls add with each row of r in turn, on the caller's goroutine: the order
// that readBatches, its batches and its goroutines must not change.
func readRows(r *dataset.Reader, ncols int, add func(bt *baselineBatch)) error {
	bt := &baselineBatch{vals: make([]event.Value, ncols), preds: make([]baselinePrediction, 1)}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := &row.Prediction
		for i := range ncols {
			bt.vals[i] = p.Features[i].Value
		}
		bt.preds[0] = baselinePrediction{value: p.Prediction, score: p.Score, hasScore: p.HasScore, line: row.Line}
		add(bt)
	}
}

// baselineBatches is the number of batches in flight: the reader can work ahead of the
// slowest group by a few batches.
const baselineBatches = 4

// maxArena bounds the text of the numbers of a batch: a batch ends early past it, so that
// a column declared numeric that holds long texts cannot make the batches in flight hold
// gigabytes (a row is at most dataset.DefaultMaxRecordBytes, so the offsets fit an int32),
// and an arena grown past it by one long row is not kept for the next batch.
const maxArena = 8 << 20

// readBatches reads every row of r on a goroutine of its own and calls each of adds with
// batches of their feature values (laid out as layout says) and predictions: adds[0] on
// the caller's goroutine, each other one on a goroutine of its own. Each sees every batch, in order.
// The values' strings may be kept (package dataset's rows allow it). When r leaves its
// numbers to convert (Row.RawNumbers), their texts are in the batch, and so are the row
// problems r reports, through *onRowError, which readBatches sets for the time it reads.
// It returns the reader's error, nil at the end of the file, once every add has returned.
func readBatches(r *dataset.Reader, layout batchLayout, adds []func(bt *baselineBatch), onRowError *func(*dataset.RowError)) error {
	ncols := len(layout.numeric)
	type batch struct {
		baselineBatch
		pending atomic.Int32 // adds yet to see the batch
	}
	full := make(chan *batch, baselineBatches)
	free := make(chan *batch, baselineBatches)
	for range baselineBatches {
		free <- &batch{baselineBatch: baselineBatch{
			vals:  make([]event.Value, 0, baselineBatchRows*ncols),
			preds: make([]baselinePrediction, 0, baselineBatchRows),
			raw:   make([]rawSpan, 0, baselineBatchRows*layout.nnum),
		}}
	}
	// Set before the reader starts, and called by it only: the batch being filled.
	var cur *batch
	*onRowError = func(e *dataset.RowError) {
		cur.events = append(cur.events, rowEvent{row: len(cur.preds), err: e})
	}
	done := make(chan struct{})
	defer close(done) // stops the reader when add's caller returns early
	go func() {
		defer close(full)
		for {
			var bt *batch
			select {
			case bt = <-free:
			case <-done:
				return
			}
			cur = bt
			bt.vals, bt.preds, bt.deferred = bt.vals[:0], bt.preds[:0], false
			bt.raw, bt.arena, bt.events = bt.raw[:0], bt.arena[:0], bt.events[:0]
			if cap(bt.arena) > 2*maxArena {
				bt.arena = nil
			}
			for len(bt.preds) < baselineBatchRows && len(bt.arena) < maxArena {
				row, err := r.Next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						bt.err = err
					}
					select {
					case full <- bt:
					case <-done:
					}
					return
				}
				p := &row.Prediction
				if rawNums := row.RawNumbers; rawNums != nil {
					bt.deferred = true
					// A numeric value is its text, the others are values: the batch's
					// slot of the other kind is left as it was.
					n, m := len(bt.vals), len(bt.raw)
					bt.vals, bt.raw = bt.vals[:n+layout.ncat], bt.raw[:m+layout.nnum]
					vals, raw := bt.vals[n:], bt.raw[m:]
					for i, t := range rawNums {
						switch j := layout.slot[i]; {
						case !layout.numeric[i]:
							vals[j] = p.Features[i].Value
						case t == nil:
							raw[j] = rawSpan{end: -1}
						default:
							off := len(bt.arena)
							bt.arena = append(bt.arena, t...)
							raw[j] = rawSpan{off: int32(off), end: int32(len(bt.arena))}
						}
					}
				} else {
					for i := range ncols {
						bt.vals = append(bt.vals, p.Features[i].Value)
					}
				}
				bt.preds = append(bt.preds, baselinePrediction{value: p.Prediction, score: p.Score, hasScore: p.HasScore, line: row.Line})
			}
			select {
			case full <- bt:
			case <-done:
				return
			}
		}
	}()
	// The last add to see a batch hands it back to the reader; free holds every batch,
	// so that never blocks.
	release := func(bt *batch) {
		if bt.pending.Add(-1) == 0 {
			free <- bt
		}
	}
	var wg sync.WaitGroup
	queues := make([]chan *batch, len(adds)-1)
	for i := range queues {
		queues[i] = make(chan *batch, baselineBatches)
		wg.Go(func() {
			for bt := range queues[i] {
				adds[i+1](&bt.baselineBatch)
				release(bt)
			}
		})
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	for bt := range full {
		bt.pending.Store(int32(len(adds)))
		for _, q := range queues {
			q <- bt
		}
		adds[0](&bt.baselineBatch)
		if bt.err != nil {
			return bt.err
		}
		release(bt)
	}
	return nil
}
