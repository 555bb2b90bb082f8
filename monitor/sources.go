package monitor

import (
	"context"
	"net/http"
	"sync"

	"github.com/vigilml/vigil/monitor/cloudevents"
	"github.com/vigilml/vigil/monitor/event"
)

// sources are the ingestion sources besides the HTTP API, built once at New from the
// config's sections (a section added by a reload takes effect at the next restart).
type sources struct {
	cloudevents *cloudevents.Handler
}

func (m *Monitor) newSources(cfg *Config) {
	if cfg.CloudEvents != nil {
		m.sources.cloudevents = cloudevents.New(cloudevents.Options{
			Config:       *cfg.CloudEvents,
			Sink:         m.sink,
			Model:        m.modelInfo,
			MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
			Registerer:   m.reg,
			Logger:       m.opts.Logger.With("component", "cloudevents"),
			Now:          m.opts.Now,
		})
	}
}

// sink is the sources' way into the ingest path the HTTP API uses.
func (m *Monitor) sink(ctx context.Context, labels bool, ndjson []byte) error {
	kind := KindPrediction
	if labels {
		kind = KindLabel
	}
	_, err := m.Ingest(ctx, kind, ndjson, event.NDJSON)
	return err
}

func (m *Monitor) modelInfo(name string) (cloudevents.ModelInfo, bool) {
	mc := m.state.Load().cfg.Model(name)
	if mc == nil {
		return cloudevents.ModelInfo{}, false
	}
	return cloudevents.ModelInfo{Task: string(mc.Task), PositiveClass: string(mc.PositiveClass)}, true
}

func (m *Monitor) mountSources(mux *http.ServeMux) {
	if h := m.sources.cloudevents; h != nil {
		mux.Handle("POST /api/v1/cloudevents", h)
	} else {
		mux.HandleFunc("POST /api/v1/cloudevents", func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusNotFound, "the CloudEvents sink is off: add a cloudevents: section to the config")
		})
	}
}

// runSources starts the sources' workers; they stop (after draining) when ctx ends.
func (m *Monitor) runSources(ctx context.Context, wg *sync.WaitGroup) {
	if h := m.sources.cloudevents; h != nil {
		wg.Go(func() {
			if err := h.Run(ctx); err != nil {
				m.logger.Error("CloudEvents worker stopped", "err", err)
			}
		})
	}
}

// reloadSources gives the sources a reloaded config's mappings.
func (m *Monitor) reloadSources(cfg *Config) {
	if h := m.sources.cloudevents; h != nil {
		if cfg.CloudEvents == nil {
			m.logger.Warn("the reloaded config drops cloudevents:; the sink stays on with its old mappings until a restart")
			return
		}
		h.ApplyConfig(*cfg.CloudEvents)
	}
}
