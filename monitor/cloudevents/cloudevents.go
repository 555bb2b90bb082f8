// Package cloudevents is vigil's sink for the KServe and Seldon Core payload loggers:
// POST /api/v1/cloudevents takes the CloudEvents they send (binary, structured or batched
// mode), pairs each inference request with its response, turns the pair into vigil
// predictions (and Seldon feedback into labels), and hands them to the same ingest path
// as the HTTP API.
//
// The endpoint answers 202 as soon as an event is queued: KServe's logger keeps only a
// 100-event queue and drops events while its sink is slow (kserve#6167), so the sink must
// not make it wait. The queue is bounded; an event that does not fit is answered 429 and
// counted in vigil_cloudevents_refused_total{reason="queue_full"}.
//
// The parser is this package's own: vigil needs the HTTP binding's three modes and the
// attributes, not the SDK's clients, protocols and event model, and the SDK would add
// several modules to the binary for ~150 lines of header and JSON reading. FuzzParseHTTP
// exercises it.
package cloudevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The CloudEvent types of the payload loggers.
const (
	TypeKServeRequest   = "org.kubeflow.serving.inference.request"
	TypeKServeResponse  = "org.kubeflow.serving.inference.response"
	TypeSeldonRequest   = "io.seldon.serving.inference.request"
	TypeSeldonResponse  = "io.seldon.serving.inference.response"
	TypeSeldonFeedback  = "io.seldon.serving.feedback"
	typeSeldonFeedback2 = "io.seldon.serving.inference.feedback"
)

// Sink applies a body of NDJSON records (labels when labels is true, else predictions) as
// POST /api/v1/predictions and /api/v1/labels do, and returns once they are applied.
type Sink func(ctx context.Context, labels bool, ndjson []byte) error

// ModelInfo is what the handler needs to know of a vigil model to write its predictions.
type ModelInfo struct {
	// Task is binary_classification, multiclass_classification or regression.
	Task string
	// PositiveClass is a binary model's positive class.
	PositiveClass string
}

// Options configure a Handler.
type Options struct {
	Config Config
	Sink   Sink
	// Model describes a vigil model; ok is false for an undeclared one.
	Model func(name string) (info ModelInfo, ok bool)
	// MaxBodyBytes bounds a request body; default 32 MiB.
	MaxBodyBytes int64
	Registerer   prometheus.Registerer
	Logger       *slog.Logger
	// Now is the clock of the pairing TTL; default time.Now.
	Now func() time.Time
	// TickInterval is how often expired pairs are swept; default 1s.
	TickInterval time.Duration
}

// Handler is the CloudEvents endpoint and the worker that pairs and ingests its events.
type Handler struct {
	opts    Options
	cfg     atomic.Pointer[Config]
	queue   chan Event
	stopped chan struct{} // closed when Run stops taking events
	// submitting counts Submit calls in flight, so Run drains what they still send.
	submitting atomic.Int64
	metrics    *metrics
	logger     *slog.Logger

	// The worker's own state: pending events by pairing key, oldest first.
	pending map[string]*pendingPair
	order   []orderEntry
	seq     uint64
	preds   []byte // NDJSON records gathered for the next ingest
	labels  []byte
	// gathered counts the records in preds and labels, so the worker knows when a batch
	// is full without scanning them.
	gathered int
}

type pendingPair struct {
	seq       uint64
	arrived   time.Time
	req, resp *Event
}

type orderEntry struct {
	key string
	seq uint64
}

type metrics struct {
	received *prometheus.CounterVec
	refused  *prometheus.CounterVec
	paired   prometheus.Counter
	expired  *prometheus.CounterVec
	records  *prometheus.CounterVec
	failures prometheus.Counter
	waiting  prometheus.Gauge
}

// New makes a Handler; Run must be running for queued events to be processed.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = time.Second
	}
	h := &Handler{
		opts:    opts,
		queue:   make(chan Event, opts.Config.QueueSize),
		stopped: make(chan struct{}),
		logger:  opts.Logger,
		pending: map[string]*pendingPair{},
	}
	cfg := opts.Config
	h.cfg.Store(&cfg)
	f := promauto.With(opts.Registerer)
	const ns, sub = "vigil", "cloudevents"
	h.metrics = &metrics{
		received: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "received_total",
			Help: "CloudEvents queued, by kind (request, response, feedback)."}, []string{"kind"}),
		refused: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_total",
			Help: "CloudEvents refused, by reason: queue_full (429), malformed (400), too_large (413), unknown_type, unknown_model, bad_payload."}, []string{"reason"}),
		paired: f.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "paired_total",
			Help: "Inference requests joined with their response."}),
		expired: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "expired_total",
			Help: "Events whose partner never came, by kind (request, response) and reason (ttl, capacity, shutdown). An expired response is still ingested, without features."}, []string{"kind", "reason"}),
		records: f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "records_total",
			Help: "Prediction and label records handed to ingestion, by kind."}, []string{"kind"}),
		failures: f.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "ingest_failures_total",
			Help: "Batches of records that ingestion refused as a whole."}),
		waiting: f.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "pending",
			Help: "Events waiting for their partner."}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "queue_length",
		Help: "Events queued and not yet processed."}, func() float64 { return float64(len(h.queue)) })
	for _, k := range []string{"request", "response", "feedback"} {
		h.metrics.received.WithLabelValues(k)
	}
	for _, r := range []string{"queue_full", "malformed", "too_large", "unknown_type", "unknown_model", "bad_payload"} {
		h.metrics.refused.WithLabelValues(r)
	}
	return h
}

// ApplyConfig swaps the model mappings (on reload). Queue size and pairing limits keep
// their values from the start.
func (h *Handler) ApplyConfig(c Config) { h.cfg.Store(&c) }

type eventKind int

const (
	kindOther eventKind = iota
	kindRequest
	kindResponse
	kindFeedback
)

func kindOf(typ string) eventKind {
	switch typ {
	case TypeKServeRequest, TypeSeldonRequest:
		return kindRequest
	case TypeKServeResponse, TypeSeldonResponse:
		return kindResponse
	case TypeSeldonFeedback, typeSeldonFeedback2:
		return kindFeedback
	}
	return kindOther
}

var kindNames = [...]string{kindOther: "other", kindRequest: "request", kindResponse: "response", kindFeedback: "feedback"}

// ServeHTTP takes one request's CloudEvents into the queue and answers at once: 202 when
// all were queued, 429 when the queue is full, 400 or 413 for a request that is not one.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := h.opts.MaxBodyBytes
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.metrics.refused.WithLabelValues("too_large").Inc()
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds the limit of %d bytes (ingest.max_body_bytes)", limit))
			return
		}
		httpError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	events, err := ParseHTTP(r.Header, body)
	if err != nil {
		h.metrics.refused.WithLabelValues("malformed").Inc()
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	for i := range events {
		k := kindOf(events[i].Type)
		if k == kindOther {
			h.metrics.refused.WithLabelValues("unknown_type").Inc()
			httpError(w, http.StatusBadRequest, fmt.Sprintf("event type %q is not a KServe or Seldon inference request, response or feedback", events[i].Type))
			return
		}
	}
	for i, e := range events {
		select {
		case h.queue <- e:
			h.metrics.received.WithLabelValues(kindNames[kindOf(e.Type)]).Inc()
		default:
			n := float64(len(events) - i)
			h.metrics.refused.WithLabelValues("queue_full").Add(n)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(queueFull{
				Error:  fmt.Sprintf("cloudevents queue is full (cloudevents.queue_size); %d of %d events refused", len(events)-i, len(events)),
				Queued: i, Refused: len(events) - i,
			})
			return
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// queueFull is the answer 429: events are queued in request order, so the first Queued
// were taken and the last Refused are the ones to send again.
type queueFull struct {
	Error   string `json:"error"`
	Queued  int    `json:"queued"`
	Refused int    `json:"refused"`
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// ErrStopped is returned by Submit once Run has returned.
var ErrStopped = errors.New("the CloudEvents worker has stopped")

// Submit queues an event from another source (Seldon Core 2's Kafka topics), waiting while
// the queue is full: that source's back-pressure.
func (h *Handler) Submit(ctx context.Context, e Event) error {
	if kindOf(e.Type) == kindOther {
		h.metrics.refused.WithLabelValues("unknown_type").Inc()
		return fmt.Errorf("event type %q is not an inference request, response or feedback", e.Type)
	}
	h.submitting.Add(1)
	defer h.submitting.Add(-1)
	select {
	case <-h.stopped:
		return ErrStopped
	default:
	}
	select {
	case h.queue <- e:
		h.metrics.received.WithLabelValues(kindNames[kindOf(e.Type)]).Inc()
		return nil
	case <-h.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxBatchRecords is how many records the worker gathers before it ingests them.
const maxBatchRecords = 1000

// Run processes queued events until ctx ends, then processes what is still queued, ingests
// it and returns. Pairs still waiting then are counted as expired (reason shutdown).
func (h *Handler) Run(ctx context.Context) error {
	ticker := time.NewTicker(h.opts.TickInterval)
	defer ticker.Stop()
	flushCtx := context.WithoutCancel(ctx)
	for {
		select {
		case e := <-h.queue:
			h.process(&e)
			if len(h.queue) == 0 || h.gathered >= maxBatchRecords {
				h.flush(flushCtx)
			}
		case <-ticker.C:
			h.expire(h.opts.Now(), false)
			h.flush(flushCtx)
		case <-ctx.Done():
			close(h.stopped)
			for h.submitting.Load() > 0 || len(h.queue) > 0 {
				select {
				case e := <-h.queue:
					h.process(&e)
				case <-time.After(time.Millisecond):
				}
			}
			h.expire(time.Time{}, true)
			h.flush(flushCtx)
			return nil
		}
	}
}

// pairKey is what joins a request with its response: ce-id for KServe (the logger sends
// both with the request's id), the requestid extension for Seldon (its ce-id differs per
// event).
func pairKey(e *Event) string {
	if strings.HasPrefix(e.Type, "io.seldon.") {
		if id := e.Extension("requestid"); id != "" {
			return id
		}
	}
	return e.ID
}

// process handles one event on the worker.
func (h *Handler) process(e *Event) {
	key := pairKey(e)
	switch kindOf(e.Type) {
	case kindFeedback:
		h.feedback(e, key)
		return
	case kindRequest, kindResponse:
	default:
		return
	}
	p := h.pending[key]
	if p == nil {
		cfg := h.cfg.Load()
		if len(h.pending) >= cfg.MaxPending {
			h.evictOldest()
		}
		h.seq++
		p = &pendingPair{seq: h.seq, arrived: h.opts.Now()}
		h.pending[key] = p
		h.order = append(h.order, orderEntry{key, p.seq})
	}
	ev := *e
	if kindOf(e.Type) == kindRequest {
		p.req = &ev
	} else {
		p.resp = &ev
	}
	if p.req != nil && p.resp != nil {
		delete(h.pending, key)
		h.metrics.paired.Inc()
		h.emit(key, p.req, p.resp)
	}
	h.metrics.waiting.Set(float64(len(h.pending)))
}

func (h *Handler) evictOldest() {
	for len(h.order) > 0 {
		o := h.order[0]
		h.order = h.order[1:]
		if p := h.pending[o.key]; p != nil && p.seq == o.seq {
			delete(h.pending, o.key)
			h.lone(o.key, p, "capacity")
			return
		}
	}
}

// expire drops pairs that waited past the TTL (all of them when all is set).
func (h *Handler) expire(now time.Time, all bool) {
	ttl := h.cfg.Load().PairTTL.Std()
	reason := "ttl"
	if all {
		reason = "shutdown"
	}
	for len(h.order) > 0 {
		o := h.order[0]
		p := h.pending[o.key]
		if p == nil || p.seq != o.seq {
			h.order = h.order[1:] // already paired
			continue
		}
		if !all && now.Sub(p.arrived) < ttl {
			break
		}
		h.order = h.order[1:]
		delete(h.pending, o.key)
		h.lone(o.key, p, reason)
	}
	if len(h.order) == 0 {
		h.order = nil // let the backing array go
	}
	h.metrics.waiting.Set(float64(len(h.pending)))
}

// lone handles an event whose partner never came: a response is still a prediction
// (without features: the logger may be in mode response), a request is dropped.
func (h *Handler) lone(key string, p *pendingPair, reason string) {
	if p.resp != nil {
		h.metrics.expired.WithLabelValues("response", reason).Inc()
		h.emit(key, nil, p.resp)
		return
	}
	h.metrics.expired.WithLabelValues("request", reason).Inc()
}

// rowID is the id of instance i of n: the pairing key for a single instance, else
// "<key>/<i>", so labels can name each instance of a batch.
func rowID(key string, i, n int) string {
	if n == 1 {
		return key
	}
	return key + "/" + strconv.Itoa(i)
}

// emit turns a request/response pair (req may be nil) into prediction records.
func (h *Handler) emit(key string, req, resp *Event) {
	m := h.cfg.Load().mapping(resp.Extension("inferenceservicename"))
	info, ok := h.opts.Model(m.Model)
	if !ok {
		h.metrics.refused.WithLabelValues("unknown_model").Inc()
		h.logger.Warn("CloudEvent for an undeclared model", "model", m.Model, "inference_service", m.InferenceService)
		return
	}
	outs, err := responseOutputs(resp.Data, m)
	var rows [][]feature
	if err == nil && req != nil {
		rows, err = requestRows(req.Data, m)
		if err == nil && len(rows) != len(outs) {
			err = fmt.Errorf("the request has %d instances, the response %d answers", len(rows), len(outs))
		}
	}
	if err != nil {
		h.metrics.refused.WithLabelValues("bad_payload").Inc()
		h.logger.Warn("CloudEvent payload not understood", "model", m.Model, "id", key, "err", err)
		return
	}
	version := m.Version
	endpoint := resp.Extension("endpoint")
	if version == "" {
		version = endpoint
	}
	role := ""
	if endpoint == "canary" {
		role = "canary"
	}
	ts := resp.Time
	if req != nil && !req.Time.IsZero() {
		ts = req.Time
	}
	stamp := ""
	if !ts.IsZero() {
		stamp = ts.UTC().Format(time.RFC3339Nano)
	}
	for i, o := range outs {
		r := record{Model: m.Model, Version: version, Role: role, ID: rowID(key, i, len(outs)), Timestamp: stamp}
		if rows != nil {
			r.Features = rows[i]
		}
		setOutput(&r, o, info, m)
		h.preds = r.appendJSON(h.preds)
	}
	h.gathered += len(outs)
	h.metrics.records.WithLabelValues("prediction").Add(float64(len(outs)))
}

// setOutput writes an answer as the model's task reads it.
func setOutput(r *record, o output, info ModelInfo, m *Mapping) {
	r.Prediction = o.pred
	if len(o.scores) == 0 {
		return
	}
	class := func(j int) string {
		if j < len(m.Classes) {
			return m.Classes[j]
		}
		return strconv.Itoa(j)
	}
	switch info.Task {
	case "binary_classification":
		j := len(o.scores) - 1 // [p] or [p0, p1]: the last is the positive class's
		for k := range o.scores {
			if class(k) == info.PositiveClass {
				j = k
			}
		}
		if s := o.scores[j]; s >= 0 && s <= 1 {
			r.Score, r.HasScore = s, true
		}
	case "multiclass_classification":
		r.Scores = make([]classScore, len(o.scores))
		for k, p := range o.scores {
			r.Scores[k] = classScore{class(k), p}
		}
	default: // regression: a one-element list is the value
		if len(o.scores) == 1 && r.Prediction == nil && !math.IsNaN(o.scores[0]) {
			r.Prediction = o.scores[0]
		}
	}
}

// feedback turns a Seldon feedback event into labels.
func (h *Handler) feedback(e *Event, key string) {
	m := h.cfg.Load().mapping(e.Extension("inferenceservicename"))
	if _, ok := h.opts.Model(m.Model); !ok {
		h.metrics.refused.WithLabelValues("unknown_model").Inc()
		return
	}
	truth, err := feedbackTruth(e.Data)
	if err != nil {
		h.metrics.refused.WithLabelValues("bad_payload").Inc()
		h.logger.Warn("feedback payload not understood", "model", m.Model, "id", key, "err", err)
		return
	}
	for i, y := range truth {
		h.labels = appendLabel(h.labels, m.Model, rowID(key, i, len(truth)), y)
	}
	h.gathered += len(truth)
	h.metrics.records.WithLabelValues("label").Add(float64(len(truth)))
}

// flush ingests the gathered records: predictions first, so labels find them.
func (h *Handler) flush(ctx context.Context) {
	for _, b := range []struct {
		buf    *[]byte
		labels bool
	}{{&h.preds, false}, {&h.labels, true}} {
		if len(*b.buf) == 0 {
			continue
		}
		if err := h.opts.Sink(ctx, b.labels, *b.buf); err != nil {
			h.metrics.failures.Inc()
			h.logger.Warn("ingest of CloudEvent records refused", "err", err)
		}
		*b.buf = (*b.buf)[:0]
	}
	h.gathered = 0
}
