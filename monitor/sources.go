package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/vigilml/vigil/monitor/cloudevents"
	"github.com/vigilml/vigil/monitor/event"
	"github.com/vigilml/vigil/monitor/files"
	"github.com/vigilml/vigil/monitor/kafka"
	"github.com/vigilml/vigil/monitor/scrape"
)

// sources are the ingestion sources besides the HTTP API, built once at New from the
// config's sections (a section added by a reload takes effect at the next restart).
type sources struct {
	cloudevents *cloudevents.Handler // mounted at /api/v1/cloudevents
	// pairer pairs Seldon Core 2's Kafka records: the CloudEvents handler, or one of its
	// own when the HTTP sink is off.
	pairer *cloudevents.Handler
	kafka  *kafka.Consumer
	scrape *scrape.Scraper
	files  *files.Tailer
}

// fileOffsetFile keeps the file sources' offsets under global.storage_path.
const fileOffsetFile = "file-offsets.json"

// scrapeCursorFile keeps the scrape jobs' cursors under global.storage_path.
const scrapeCursorFile = "scrape-cursors.json"

func (m *Monitor) newSources(cfg *Config) error {
	newPairer := func(c cloudevents.Config) *cloudevents.Handler {
		return cloudevents.New(cloudevents.Options{
			Config:       c,
			Sink:         m.sink,
			Model:        m.modelInfo,
			MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
			Registerer:   m.reg,
			Logger:       m.opts.Logger.With("component", "cloudevents"),
			Now:          m.opts.Now,
		})
	}
	if cfg.CloudEvents != nil {
		m.sources.cloudevents = newPairer(*cfg.CloudEvents)
		m.sources.pairer = m.sources.cloudevents
	}
	if len(cfg.FileSources) > 0 {
		t, err := files.New(files.Options{
			Configs:    cfg.FileSources,
			Sink:       m.sink,
			OffsetFile: filepath.Join(cfg.Global.StoragePath, fileOffsetFile),
			Registerer: m.reg,
			Logger:     m.opts.Logger.With("component", "files"),
		})
		if err != nil {
			return err
		}
		m.sources.files = t
	}
	if len(cfg.ScrapeConfigs) > 0 {
		s, err := scrape.New(scrape.Options{
			Configs:    cfg.ScrapeConfigs,
			Sink:       m.sink,
			CursorFile: filepath.Join(cfg.Global.StoragePath, scrapeCursorFile),
			Registerer: m.reg,
			Logger:     m.opts.Logger.With("component", "scrape"),
			Now:        m.opts.Now,
		})
		if err != nil {
			return err
		}
		m.sources.scrape = s
	}
	if cfg.Kafka != nil {
		var seldon func(ctx context.Context, model string, response bool, key string, value []byte) error
		if cfg.Kafka.Seldon != nil {
			if m.sources.pairer == nil {
				m.sources.pairer = newPairer(cloudevents.Config{
					QueueSize: cloudevents.DefaultQueueSize, PairTTL: Duration(cloudevents.DefaultPairTTL), MaxPending: cloudevents.DefaultMaxPending,
				})
			}
			seldon = m.seldonSink
		}
		c, err := kafka.New(kafka.Options{
			Config:       *cfg.Kafka,
			Sink:         m.kafkaSink,
			SeldonSink:   seldon,
			BeforeCommit: m.opts.SourceSync,
			Registerer:   m.reg,
			Logger:       m.opts.Logger.With("component", "kafka"),
			ExtraOpts:    m.opts.KafkaOpts,
		})
		if err != nil {
			return err
		}
		m.sources.kafka = c
	}
	return nil
}

// kafkaSink applies a Kafka batch; a body refused as a whole is reported as
// kafka.ErrRejected so the consumer commits past it instead of retrying it forever.
func (m *Monitor) kafkaSink(ctx context.Context, labels, json bool, body []byte) (kafka.Result, error) {
	kind, f := KindPrediction, event.NDJSON
	if labels {
		kind = KindLabel
	}
	if json {
		f = event.JSON
	}
	resp, err := m.Ingest(ctx, kind, body, f)
	if be, ok := errors.AsType[*IngestBodyError](err); ok {
		return kafka.Result{}, fmt.Errorf("%w: %s", kafka.ErrRejected, be.Msg)
	}
	if err != nil {
		return kafka.Result{}, err
	}
	return kafka.Result{Accepted: resp.Accepted, Rejected: resp.Rejected}, nil
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

// seldonSink hands a Seldon Core 2 record (an Open Inference Protocol request or response,
// protobuf or JSON, keyed by request id) to the pairing the CloudEvents sink uses.
func (m *Monitor) seldonSink(ctx context.Context, model string, response bool, key string, value []byte) error {
	data := value
	if trimmed := bytes.TrimSpace(value); len(trimmed) == 0 || trimmed[0] != '{' {
		var id string
		var err error
		if data, id, err = cloudevents.OIPProtoToJSON(value, response); err != nil {
			return fmt.Errorf("%w: %s", kafka.ErrRejected, err)
		}
		if key == "" {
			key = id
		}
	}
	if key == "" {
		return fmt.Errorf("%w: a Seldon record without a key (the request id)", kafka.ErrRejected)
	}
	typ := cloudevents.TypeSeldonRequest
	if response {
		typ = cloudevents.TypeSeldonResponse
	}
	return m.sources.pairer.Submit(ctx, cloudevents.Event{
		ID: key, Type: typ, Source: "kafka", SpecVersion: "1.0", ContentType: "application/json",
		Extensions: map[string]string{"inferenceservicename": model, "requestid": key}, Data: data,
	})
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
		mux.HandleFunc("POST /api/v1/cloudevents", func(w http.ResponseWriter, r *http.Request) {
			// Read per request, so a reload that rotates the token or turns the
			// requirement on takes effect for the next event.
			st := m.state.Load()
			if ce := st.cfg.CloudEvents; ce != nil && ce.RequireBearerToken && !validBearer(r.Header.Get("Authorization"), st.token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
				writeError(w, http.StatusUnauthorized, "missing or wrong bearer token (cloudevents.require_bearer_token asks for ingest.bearer_token)")
				return
			}
			h.ServeHTTP(w, r)
		})
	} else {
		mux.HandleFunc("POST /api/v1/cloudevents", func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusNotFound, "the CloudEvents sink is off: add a cloudevents: section to the config")
		})
	}
}

// runSources starts the sources' workers; they stop (after draining) when ctx ends.
func (m *Monitor) runSources(ctx context.Context, wg *sync.WaitGroup) {
	if s := m.sources.scrape; s != nil {
		wg.Go(func() { _ = s.Run(ctx) })
	}
	if t := m.sources.files; t != nil {
		wg.Go(func() { _ = t.Run(ctx) })
	}
	if c := m.sources.kafka; c != nil {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				m.logger.Error("Kafka consumer stopped", "err", err)
			}
		})
	}
	if h := m.sources.pairer; h != nil {
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
