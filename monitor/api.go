package monitor

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilml/vigil/monitor/event"
)

// maxErrorsReported bounds the per-record errors an ingest response lists; the counts
// always cover every record.
const maxErrorsReported = 1000

// ReasonUnknownModel is the rejection reason for events of undeclared models.
const ReasonUnknownModel event.Reason = "unknown_model"

// IngestResponse is the body of every answer to an ingest request that had records.
type IngestResponse struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	// Errors names each rejected record (at most 1000; ErrorsTruncated says when more were).
	Errors          []IngestError `json:"errors"`
	ErrorsTruncated bool          `json:"errors_truncated,omitempty"`
}

// IngestError names one rejected record of a batch.
type IngestError struct {
	Index  int          `json:"index"`
	Reason event.Reason `json:"reason"`
	Error  string       `json:"error"`
}

// Handler is the daemon's HTTP API.
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/predictions", m.ingest(kindPrediction))
	mux.HandleFunc("POST /api/v1/labels", m.ingest(kindLabel))
	mux.HandleFunc("POST /api/v1/models/{model}/predictions", m.ingest(kindPrediction))
	mux.HandleFunc("POST /api/v1/models/{model}/labels", m.ingest(kindLabel))
	m.mountSources(mux)
	mux.HandleFunc("GET /api/v1/models", m.listModels)
	mux.HandleFunc("GET /api/v1/models/{model}", m.getModel)
	mux.HandleFunc("GET /api/v1/alerts", m.listAlerts)
	mux.HandleFunc("GET /api/v1/alerts/history", m.alertHistory)
	mux.HandleFunc("GET /api/v1/silences", m.listSilences)
	mux.HandleFunc("POST /api/v1/silences", m.admin(m.postSilence))
	mux.HandleFunc("DELETE /api/v1/silences/{id}", m.admin(m.deleteSilence))
	mux.Handle("GET /metrics", newMetricsHandler(m.reg, m.statsCol, m.gatherer, slog.NewLogLogger(m.logger.Handler(), slog.LevelError)))
	for _, p := range []string{"/healthz", "/-/healthy"} {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "OK") })
	}
	for _, p := range []string{"/readyz", "/-/ready"} {
		mux.HandleFunc("GET "+p, m.readyz)
	}
	mux.HandleFunc("POST /-/reload", m.admin(m.reloadHandler))
	m.statusRoutes(mux)
	if m.opts.EnablePprof {
		mux.HandleFunc("GET /debug/pprof/", m.admin(pprof.Index))
		mux.HandleFunc("GET /debug/pprof/cmdline", m.admin(pprof.Cmdline))
		mux.HandleFunc("GET /debug/pprof/profile", m.admin(pprof.Profile))
		mux.HandleFunc("GET /debug/pprof/symbol", m.admin(pprof.Symbol))
		mux.HandleFunc("GET /debug/pprof/trace", m.admin(pprof.Trace))
	}
	return mux
}

type eventKind int

const (
	kindPrediction eventKind = iota
	kindLabel
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (m *Monitor) ingest(kind eventKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := m.state.Load()
		if st.token != "" && !validBearer(r.Header.Get("Authorization"), st.token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		select {
		case st.inflight <- struct{}{}:
			defer func() { <-st.inflight }()
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "ingest queue is full; retry after 1s")
			return
		}
		m.metrics.inflight.Inc()
		defer m.metrics.inflight.Dec()

		limit := st.cfg.Ingest.MaxBodyBytes
		if r.ContentLength > limit {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes exceeds the limit of %d bytes (ingest.max_body_bytes)", r.ContentLength, limit))
			return
		}
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufPool.Put(buf)
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds the limit of %d bytes (ingest.max_body_bytes)", limit))
				return
			}
			writeError(w, http.StatusBadRequest, "read body: "+err.Error())
			return
		}
		resp, status, msg := m.apply(r.Context(), st, kind, buf.Bytes(), bodyFormat(r.Header.Get("Content-Type")), r.PathValue("model"))
		if msg != "" {
			writeError(w, status, msg)
			return
		}
		writeJSON(w, status, resp)
	}
}

// apply decodes body and applies every valid record. It returns the response and its
// status, or a message for a body with nothing usable.
func (m *Monitor) apply(_ context.Context, st *engineState, kind eventKind, body []byte, f event.Format, urlModel string) (*IngestResponse, int, string) {
	if urlModel != "" && st.models[urlModel] == nil {
		m.metrics.rejected.WithLabelValues("", string(ReasonUnknownModel)).Inc()
		return nil, http.StatusNotFound, fmt.Sprintf("unknown model %q: declare it under models: in the config", urlModel)
	}
	// While the write-ahead log cannot be written, nothing is applied: a client retrying
	// its 503s for minutes is not counted again and again, and nothing piles up in memory.
	// Each request (and each readiness probe) tries the log again.
	if m.durable != nil && m.storeFailing.Load() {
		if serr := m.syncLog(); serr != nil {
			return nil, http.StatusServiceUnavailable, storeFailingMessage(serr)
		}
	}
	dec := st.decoders.Get().(*event.Decoder)
	defer st.decoders.Put(dec)
	now := m.opts.Now()

	var engineErrs []event.RecordError
	accepted := 0
	rejectRecord := func(i int, model string, rej *rejection) {
		engineErrs = append(engineErrs, event.RecordError{Index: i, Model: model, Reason: rej.reason, Err: rej.err})
	}
	lookup := func(i int, model string) *modelState {
		ms := st.models[model]
		if ms == nil {
			rejectRecord(i, "", reject(ReasonUnknownModel, "unknown model %q: declare it under models: in the config", model))
		}
		return ms
	}

	var records int
	var decErrs []event.RecordError
	var err error
	addPrediction := func(i int, p *event.Prediction) {
		if ms := lookup(i, p.Model); ms != nil {
			if rej := ms.addPrediction(p, now); rej != nil {
				rejectRecord(i, p.Model, rej)
				return
			}
			accepted++
		}
	}
	addLabel := func(i int, l *event.Label) {
		if ms := lookup(i, l.Model); ms != nil {
			if rej := ms.addLabel(l, now); rej != nil {
				rejectRecord(i, l.Model, rej)
				return
			}
			accepted++
		}
	}
	pipelined := f == event.NDJSON && len(body) >= pipelineMinBytes
	m.applyMu.RLock()
	func() {
		defer m.applyMu.RUnlock() // a panic must not leave reloads (and then ingest) waiting
		if kind == kindPrediction {
			decodeApply(&m.pipes.preds, pipelined, predictionOps, func(fn func(int, *event.Prediction)) {
				records, decErrs, err = dec.Predictions(body, f, urlModel, fn)
			}, addPrediction)
			return
		}
		decodeApply(&m.pipes.labels, pipelined, labelOps, func(fn func(int, *event.Label)) {
			records, decErrs, err = dec.Labels(body, f, urlModel, fn)
		}, addLabel)
	}()
	if accepted > 0 && m.durable != nil {
		if serr := m.syncLog(); serr != nil {
			return nil, http.StatusServiceUnavailable, storeFailingMessage(serr)
		}
	}
	if err != nil {
		m.metrics.rejected.WithLabelValues("", string(event.ReasonInvalidJSON)).Inc()
		return nil, http.StatusBadRequest, err.Error()
	}
	if records == 0 {
		return nil, http.StatusBadRequest, "the body holds no records"
	}

	errs := append(decErrs, engineErrs...)
	slices.SortStableFunc(errs, func(a, b event.RecordError) int { return a.Index - b.Index })
	resp := &IngestResponse{Accepted: accepted, Rejected: len(errs), Errors: []IngestError{}}
	for i, e := range errs {
		model := ""
		if st.models[e.Model] != nil {
			model = e.Model
		}
		m.metrics.rejected.WithLabelValues(model, string(e.Reason)).Inc()
		if i < maxErrorsReported {
			resp.Errors = append(resp.Errors, IngestError{Index: e.Index, Reason: e.Reason, Error: e.Err.Error()})
		}
	}
	resp.ErrorsTruncated = len(errs) > maxErrorsReported
	if accepted == 0 {
		return resp, http.StatusBadRequest, ""
	}
	return resp, http.StatusAccepted, ""
}

// bodyFormat picks NDJSON for the NDJSON and JSON Lines media types, JSON otherwise.
func bodyFormat(contentType string) event.Format {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines":
		return event.NDJSON
	}
	return event.JSON
}

// admin wraps an admin endpoint: when web.admin_bearer_token is set, a request without
// it gets 401. Without one, only callers on this host (loopback: a sidecar, kubectl
// port-forward, the vigil CLI on the machine) are let in and others get 403, so a
// default install cannot be reloaded or silenced from the network. The token is read per
// request, so a reload that rotates it takes effect for the next request.
func (m *Monitor) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := m.state.Load().adminToken
		switch {
		case tok != "" && !validBearer(r.Header.Get("Authorization"), tok):
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin bearer token (web.admin_bearer_token)")
			return
		case tok == "" && !fromLoopback(r):
			writeError(w, http.StatusForbidden, "admin endpoints answer only callers on vigil's own host until web.admin_bearer_token (or _file) is set")
			return
		}
		h(w, r)
	}
}

// fromLoopback reports whether the request's peer is on this host.
func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// syncLog writes what the write-ahead log holds and keeps storeFailing, which turns
// ingest into 503s and readiness off, in step with the outcome; each change of state is
// logged once.
func (m *Monitor) syncLog() error {
	if err := m.durable.log.Sync(m.durable.log.LastLSN()); err != nil {
		if !m.storeFailing.Swap(true) {
			m.logger.Error("cannot store accepted events; ingest answers 503 and vigil is not ready until the write-ahead log can be written", "err", err)
		}
		return err
	}
	if m.storeFailing.Swap(false) {
		m.logger.Info("the write-ahead log is written again; ingest and readiness are back")
	}
	return nil
}

func storeFailingMessage(err error) string {
	return "cannot store the events (" + err.Error() + "); nothing was acknowledged, retry later"
}

func validBearer(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func (m *Monitor) readyz(w http.ResponseWriter, _ *http.Request) {
	if !m.ready.Load() {
		writeText(w, http.StatusServiceUnavailable, "not ready")
		return
	}
	if m.storeFailing.Load() && m.syncLog() != nil {
		writeText(w, http.StatusServiceUnavailable, "not ready: the write-ahead log cannot be written")
		return
	}
	writeText(w, http.StatusOK, "ready")
}

func (m *Monitor) reloadHandler(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	if err := m.Reload(ctx); err != nil {
		writeError(w, http.StatusInternalServerError, "config reload refused, the running config is kept: "+err.Error())
		return
	}
	writeText(w, http.StatusOK, "config reloaded")
}

// ModelList is the answer of GET /api/v1/models.
type ModelList struct {
	Models []*ModelStats `json:"models"`
}

func (m *Monitor) listModels(w http.ResponseWriter, _ *http.Request) {
	all := *m.stats.Load()
	out := ModelList{Models: make([]*ModelStats, 0, len(all))}
	for _, name := range m.modelNames() {
		if s, ok := all[name]; ok {
			out.Models = append(out.Models, s)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (m *Monitor) getModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	s, ok := m.Stats(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q", name))
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// modelNames lists the configured models in config order.
func (m *Monitor) modelNames() []string { return modelNames(m.state.Load().cfg) }

// AlertView is one alert as GET /api/v1/alerts shows it.
type AlertView struct {
	Rule        string             `json:"rule"`
	State       string             `json:"state"`
	Labels      map[string]string  `json:"labels"`
	Annotations map[string]string  `json:"annotations"`
	Value       *float64           `json:"value,omitempty"`
	Values      map[string]float64 `json:"values,omitempty"`
	Samples     int                `json:"samples"`
	NoData      bool               `json:"no_data"`
	ActiveAt    *time.Time         `json:"active_at,omitempty"`
	FiredAt     *time.Time         `json:"fired_at,omitempty"`
	ResolvedAt  *time.Time         `json:"resolved_at,omitempty"`
}

// AlertList is the answer of GET /api/v1/alerts: pending, firing and recently resolved alerts.
type AlertList struct {
	Alerts []AlertView `json:"alerts"`
}

func (m *Monitor) listAlerts(w http.ResponseWriter, _ *http.Request) {
	out := AlertList{Alerts: []AlertView{}}
	for _, a := range *m.alerts.Load() {
		v := AlertView{
			Rule: a.Rule, State: a.State.String(), Labels: a.Labels, Annotations: a.Annotations,
			Values: a.Values, Samples: a.Samples, NoData: a.NoData,
			ActiveAt: timePtr(a.ActiveAt), FiredAt: timePtr(a.FiredAt), ResolvedAt: timePtr(a.ResolvedAt),
		}
		if a.Resolved() {
			v.State = "resolved"
		}
		if !a.NoData && finite(a.Value) {
			v.Value = ptr(a.Value)
		}
		out.Alerts = append(out.Alerts, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
