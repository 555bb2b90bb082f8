// Package loadgen sends synthetic predictions and labels to a running vigil over HTTP
// NDJSON and measures how fast they are accepted: `vigil loadgen`.
//
// The traffic is described by a Spec (model, task, features, drift schedule); Spec.Config
// prints a vigil config that declares exactly that model, so a daemon started with it
// accepts every event. Run sends batches at a fixed rate or as fast as they are accepted,
// for a count or a duration, and returns a Report: events sent, accepted and rejected,
// 429 answers, and the latency distribution of the ingest requests.
//
// Every batch is generated from its own seeded random source, so the data sent does not
// depend on concurrency or timing, only on the seed and the drift schedule.
package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Tasks the generator can produce events for.
const (
	BinaryClassification = "binary_classification"
	Regression           = "regression"
)

// Spec describes the synthetic model and its traffic.
type Spec struct {
	// Model is the model name in every event; with Models > 1 the models are named
	// Model-000, Model-001, ... and batch k goes to model k mod Models.
	Model  string
	Models int
	// Task is BinaryClassification or Regression.
	Task string
	// Features is the number of features of each prediction, Categorical of them categorical
	// (named c00, c01, ...), the rest numeric (n00, n01, ...).
	Features    int
	Categorical int
	// Categories is the number of distinct values of each categorical feature (v0, v1, ...).
	Categories int
	// DriftAfter is when the drift starts, counted from the start of the run.
	DriftAfter time.Duration
	// DriftShift is applied to batches generated DriftAfter or later after the start:
	// numeric features move by DriftShift standard deviations and a share DriftShift
	// (at most 1) of categorical values becomes v0. The labels keep following the
	// unshifted inputs, so quality drops as well as drift rising. Zero: no drift.
	DriftShift float64
	// WindowSize and WindowMode are written into the config Spec.Config prints.
	WindowSize int
	WindowMode string
}

// Validate reports what is wrong with s.
func (s *Spec) Validate() error {
	var errs []error
	if s.Model == "" {
		errs = append(errs, errors.New("model: a name is required"))
	}
	if s.Models < 0 || s.Models > 10000 {
		errs = append(errs, fmt.Errorf("models: %d is not between 1 and 10000 (0 means 1)", s.Models))
	}
	if strings.ContainsAny(s.Model, "\"\\\n") {
		errs = append(errs, fmt.Errorf("model: %q holds a quote, backslash or newline", s.Model))
	}
	if s.Task != BinaryClassification && s.Task != Regression {
		errs = append(errs, fmt.Errorf("task: %q is not %s or %s (multiclass is not generated)", s.Task, BinaryClassification, Regression))
	}
	if s.Features < 0 || s.Categorical < 0 || s.Categorical > s.Features {
		errs = append(errs, fmt.Errorf("features: %d features of which %d categorical is not possible", s.Features, s.Categorical))
	}
	if s.Categorical > 0 && s.Categories < 1 {
		errs = append(errs, fmt.Errorf("categories: %d; categorical features need at least one value", s.Categories))
	}
	if math.IsNaN(s.DriftShift) || math.IsInf(s.DriftShift, 0) {
		errs = append(errs, errors.New("drift shift: not a finite number"))
	}
	return errors.Join(errs...)
}

func (s *Spec) numeric() int { return s.Features - s.Categorical }

// ModelNames are the names of the models the traffic goes to.
func (s *Spec) ModelNames() []string {
	if s.Models <= 1 {
		return []string{s.Model}
	}
	out := make([]string, s.Models)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", s.Model, i)
	}
	return out
}

func numName(i int) string { return fmt.Sprintf("n%02d", i) }
func catName(i int) string { return fmt.Sprintf("c%02d", i) }

// monitorMaxPendingDefault is the most labels.max_pending a model takes by default
// (monitor.DefaultMaxPendingLabels; loadgen does not import the daemon).
const monitorMaxPendingDefault = 100000

// Config is a vigil config (YAML) that declares the model s describes, so that every
// event Run sends is accepted.
func (s *Spec) Config() string {
	var b strings.Builder
	size := s.WindowSize
	if size <= 0 {
		size = 100000
	}
	mode := s.WindowMode
	if mode == "" {
		mode = "exact"
	}
	fmt.Fprintf(&b, "# A vigil config matching `vigil loadgen --model %s --models %d --task %s --features %d --categorical %d`.\n", s.Model, max(s.Models, 1), s.Task, s.Features, s.Categorical)
	b.WriteString("# vigil run --config.file THIS_FILE, then run vigil loadgen with the same flags.\n")
	b.WriteString("global: {evaluation_interval: 10s}\n")
	b.WriteString("models:\n")
	for _, name := range s.ModelNames() {
		fmt.Fprintf(&b, "  - name: %q\n    task: %s\n", name, s.Task)
		if s.Task == BinaryClassification {
			b.WriteString("    positive_class: 1\n")
		}
		fmt.Fprintf(&b, "    window: {size: %d, mode: %s}\n", size, mode)
		fmt.Fprintf(&b, "    reference: {window: first, size: %d}\n", size)
		if size > monitorMaxPendingDefault {
			// Room for a window of labels; below that the model takes its share of
			// global.max_pending_labels, as a user's config would.
			fmt.Fprintf(&b, "    labels: {ttl: 1h, max_pending: %d}\n", size)
		} else {
			b.WriteString("    labels: {ttl: 1h}\n")
		}
		if s.Features == 0 {
			b.WriteString("    features: []\n")
		} else {
			b.WriteString("    features:\n")
		}
		for i := range s.numeric() {
			fmt.Fprintf(&b, "      - {name: %s, type: numeric}\n", numName(i))
		}
		for i := range s.Categorical {
			fmt.Fprintf(&b, "      - {name: %s, type: categorical}\n", catName(i))
		}
	}
	return b.String()
}

// generator writes batches of events. It is owned by one goroutine.
type generator struct {
	spec    Spec
	runID   string
	seed    uint64
	numKeys [][]byte // `"n00":` ...
	catKeys [][]byte
	catVals [][]byte // `"v0"` ...
	head    [][]byte // per model: `{"model":"M","version":"v1","id":"`
	labHead [][]byte // per model: `{"model":"M","id":"`
	ceHead  [][]byte // per model: `,"source":"vigil-loadgen","inferenceservicename":"M","datacontenttype":"application/json"`
	buf     []byte
	labels  []byte
	truth   []float64 // the label of each event of the last batch
	// events are the last batch's events within buf, for the transports that send them
	// other than as one NDJSON body.
	events []eventSpan
	ce     []byte
	ceOff  []int // where each event object of ce begins, in order
}

// eventSpan locates one event of a batch in generator.buf.
type eventSpan struct {
	line, id, features span    // the whole line without its newline, the id's text, the features' object
	output             float64 // the score of a binary model, the prediction of a regression
}

// span is buf[start:end].
type span struct{ start, end int }

func (s span) of(b []byte) []byte { return b[s.start:s.end] }

func newGenerator(s Spec, runID string, seed uint64) *generator {
	g := &generator{spec: s, runID: runID, seed: seed}
	for i := range s.numeric() {
		g.numKeys = append(g.numKeys, []byte(`"`+numName(i)+`":`))
	}
	for i := range s.Categorical {
		g.catKeys = append(g.catKeys, []byte(`"`+catName(i)+`":`))
	}
	for v := range s.Categories {
		g.catVals = append(g.catVals, []byte(`"v`+strconv.Itoa(v)+`"`))
	}
	for _, name := range s.ModelNames() {
		model := strconv.Quote(name)
		g.head = append(g.head, []byte(`{"model":`+model+`,"version":"v1","id":"`))
		g.labHead = append(g.labHead, []byte(`{"model":`+model+`,"id":"`))
		g.ceHead = append(g.ceHead, []byte(`,"source":"vigil-loadgen","inferenceservicename":`+model+`,"datacontenttype":"application/json"`))
	}
	return g
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// predictions writes batch k (n events, ids first..first+n-1) as NDJSON into g.buf and
// remembers each event's true label; drifted applies the drift shift.
func (g *generator) predictions(k, first int64, n int, drifted bool) []byte {
	r := rand.New(rand.NewPCG(g.seed, uint64(k)))
	shift := 0.0
	if drifted {
		shift = g.spec.DriftShift
	}
	catShare := min(math.Abs(shift), 1)
	g.buf = g.buf[:0]
	g.truth = g.truth[:0]
	g.events = g.events[:0]
	head := g.head[k%int64(len(g.head))]
	for i := range n {
		var ev eventSpan
		ev.line.start = len(g.buf)
		g.buf = append(g.buf, head...)
		ev.id.start = len(g.buf)
		g.buf = g.appendID(g.buf, first+int64(i))
		ev.id.end = len(g.buf)
		g.buf = append(g.buf, `","features":`...)
		ev.features.start = len(g.buf)
		g.buf = append(g.buf, '{')
		// The model's signal is the first two numeric features.
		var seen, truth float64
		for j, key := range g.numKeys {
			x := r.NormFloat64()
			if j < 2 {
				truth += x
				seen += x + shift
			}
			if j > 0 {
				g.buf = append(g.buf, ',')
			}
			g.buf = append(g.buf, key...)
			g.buf = appendFixed(g.buf, x+shift, 4)
		}
		for j, key := range g.catKeys {
			v := r.IntN(len(g.catVals))
			if catShare > 0 && r.Float64() < catShare {
				v = 0
			}
			if j > 0 || len(g.numKeys) > 0 {
				g.buf = append(g.buf, ',')
			}
			g.buf = append(g.buf, key...)
			g.buf = append(g.buf, g.catVals[v]...)
		}
		g.buf = append(g.buf, '}')
		ev.features.end = len(g.buf)
		if g.spec.Task == BinaryClassification {
			score := sigmoid(seen + 0.5*r.NormFloat64())
			y := 0.0
			if r.Float64() < sigmoid(truth) {
				y = 1
			}
			pred := byte('0')
			if score >= 0.5 {
				pred = '1'
			}
			g.buf = append(g.buf, `,"prediction":`...)
			g.buf = append(g.buf, pred)
			g.buf = append(g.buf, `,"score":`...)
			g.buf = appendFixed(g.buf, score, 6)
			g.truth = append(g.truth, y)
			ev.output = score
		} else {
			g.buf = append(g.buf, `,"prediction":`...)
			g.buf = appendFixed(g.buf, seen, 4)
			g.truth = append(g.truth, truth+0.1*r.NormFloat64())
			ev.output = seen
		}
		g.buf = append(g.buf, '}')
		ev.line.end = len(g.buf)
		g.buf = append(g.buf, '\n')
		g.events = append(g.events, ev)
	}
	return g.buf
}

// cloudEvents writes the last predictions batch (batch k) as the KServe payload logger
// would send it, in CloudEvents batched mode: per prediction an inference request of one
// instance (its features) and the response (the binary model's class probabilities or
// the regression's value), both with the prediction's id as ce-id. vigil pairs them into
// the same predictions the NDJSON body holds, so labels find them by the same ids.
func (g *generator) cloudEvents(k int64) []byte {
	head := g.ceHead[k%int64(len(g.ceHead))]
	g.ce = append(g.ce[:0], '[')
	g.ceOff = g.ceOff[:0]
	for i, ev := range g.events {
		if i > 0 {
			g.ce = append(g.ce, ',')
		}
		g.ceOff = append(g.ceOff, len(g.ce))
		g.ce = append(g.ce, `{"specversion":"1.0","type":"org.kubeflow.serving.inference.request","id":"`...)
		g.ce = append(g.ce, ev.id.of(g.buf)...)
		g.ce = append(g.ce, '"')
		g.ce = append(g.ce, head...)
		g.ce = append(g.ce, `,"data":{"instances":[`...)
		g.ce = append(g.ce, ev.features.of(g.buf)...)
		g.ce = append(g.ce, `]}},`...)
		g.ceOff = append(g.ceOff, len(g.ce))
		g.ce = append(g.ce, `{"specversion":"1.0","type":"org.kubeflow.serving.inference.response","id":"`...)
		g.ce = append(g.ce, ev.id.of(g.buf)...)
		g.ce = append(g.ce, '"')
		g.ce = append(g.ce, head...)
		g.ce = append(g.ce, `,"data":{"predictions":[`...)
		if g.spec.Task == BinaryClassification {
			g.ce = append(g.ce, '[')
			g.ce = appendFixed(g.ce, 1-ev.output, 6)
			g.ce = append(g.ce, ',')
			g.ce = appendFixed(g.ce, ev.output, 6)
			g.ce = append(g.ce, ']')
		} else {
			g.ce = appendFixed(g.ce, ev.output, 4)
		}
		g.ce = append(g.ce, "]}}"...)
	}
	return append(g.ce, ']')
}

// labelBatch writes the labels of the last predictions batch (ids first...) as NDJSON,
// each event labelled with probability ratio, and returns the body and its count.
func (g *generator) labelBatch(k, first int64, ratio float64) ([]byte, int) {
	r := rand.New(rand.NewPCG(^g.seed, uint64(k)))
	g.labels = g.labels[:0]
	head := g.labHead[k%int64(len(g.labHead))]
	n := 0
	for i, y := range g.truth {
		if ratio < 1 && r.Float64() >= ratio {
			continue
		}
		n++
		g.labels = append(g.labels, head...)
		g.labels = g.appendID(g.labels, first+int64(i))
		g.labels = append(g.labels, `","label":`...)
		if g.spec.Task == BinaryClassification {
			g.labels = strconv.AppendInt(g.labels, int64(y), 10)
		} else {
			g.labels = appendFixed(g.labels, y, 4)
		}
		g.labels = append(g.labels, "}\n"...)
	}
	return g.labels, n
}

func (g *generator) appendID(b []byte, seq int64) []byte {
	b = append(b, "lg-"...)
	b = append(b, g.runID...)
	b = append(b, '-')
	return strconv.AppendInt(b, seq, 10)
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// appendFixed appends x with the given number of decimals (at most 6), as
// strconv.AppendFloat(b, x, 'f', decimals, 64) does up to the rounding of halves, in a
// tenth of its time: the generator must cost less than vigil's parse of what it writes.
// |x| must be below 1e12.
func appendFixed(b []byte, x float64, decimals int) []byte {
	v := int64(math.Round(x * pow10[decimals]))
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	scale := int64(pow10[decimals])
	b = strconv.AppendInt(b, v/scale, 10)
	if decimals == 0 {
		return b
	}
	var digits [7]byte
	digits[0] = '.'
	frac := v % scale
	for i := decimals; i > 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	b = append(b, digits[:decimals+1]...)
	return b
}
