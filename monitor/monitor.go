// Package monitor is vigil's engine: it holds the configured models, takes predictions and
// labels in over HTTP, keeps each model's windows and label join, evaluates statistics on
// an interval, and serves them as Prometheus metrics and JSON.
//
// A Monitor's life is New → Start → Stop, with Reload at any time in between; Run does all
// of it until its context ends. Tests embed a Monitor listening on 127.0.0.1:0.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilml/vigil/monitor/event"
	"github.com/vigilml/vigil/rules"
)

// Options configure a Monitor.
type Options struct {
	// ConfigFile is the YAML config read at Start and on every reload.
	ConfigFile string
	// ListenAddress is where the HTTP API listens; default ":9780".
	ListenAddress string
	// Logger receives the daemon's logs; default discards them.
	Logger *slog.Logger
	// Registry serves /metrics; default a new registry with the Go and process collectors.
	// The per-model statistics (vigil_drift_score, vigil_quality, ...) are added to what
	// it gathers at scrape time; the registry only reserves their names.
	Registry *prometheus.Registry
	// Now is the clock; default time.Now. Evaluation takes its time from here only.
	Now func() time.Time
	// Version is reported by vigil_build_info.
	Version string
	// ShutdownTimeout bounds Stop when its context has no deadline; default 30s.
	ShutdownTimeout time.Duration
	// ExternalURL is the URL vigil is reached at, for links in notifications.
	ExternalURL string
	// Console receives the console_configs integration's lines; default os.Stdout.
	Console io.Writer
	// EnablePprof serves Go's profiler at /debug/pprof/ (--web.enable-pprof); off by
	// default, since a profile shows the process's internals to anyone who can reach it.
	EnablePprof bool
	// KafkaOpts are extra franz-go client options for the kafka: source (tests).
	KafkaOpts []kgo.Opt
	// SourceSync, when set, runs after an at-least-once source (Kafka) has applied a batch
	// and before it commits the batch's offsets: the place to make the batch durable
	// (the write-ahead log's sync). An error leaves the offsets uncommitted and the batch
	// is retried.
	SourceSync func(ctx context.Context) error
	// WebConfigFile is an exporter-toolkit web config (--web.config.file): TLS under
	// tls_server_config, whose certificate and key files are re-read on every TLS
	// handshake, so replacing them on disk takes effect without a restart. Empty serves
	// plain HTTP.
	WebConfigFile string
}

// Monitor is the running engine.
type Monitor struct {
	opts    Options
	logger  *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics
	// statsCol exports the per-model statistics; gatherer is reg plus statsCol, everything
	// /metrics serves.
	statsCol *statsCollector
	gatherer prometheus.Gatherer

	// applyMu is held shared while ingest applies events and exclusively while a reload
	// swaps the state, so that no accepted event lands in a model state being replaced.
	applyMu sync.RWMutex
	// pipes overlap decoding and applying large bodies (pipeline.go).
	pipes pipelines
	state atomic.Pointer[engineState]
	stats atomic.Pointer[map[string]*ModelStats]

	evalMu sync.Mutex // serialises evaluations
	// scratch is the buffers of an evaluation, shared by all models (guarded by evalMu).
	scratch evalScratch
	// stateSaveFailing is guarded by evalMu: a failing save is logged once, not every tick.
	stateSaveFailing bool
	rules            *rules.Manager
	alerts           atomic.Pointer[[]*rules.Alert]
	history          qualityHistory // for the status page's quality charts
	alerting         *notifier      // nil until the config has a route
	durable          *durable       // nil when global.wal is off
	// storeFailing is set while the write-ahead log cannot be written: ingest answers
	// 503 and /-/ready reports not ready.
	storeFailing atomic.Bool
	sources      sources
	start        time.Time

	reloadCh chan chan error
	ready    atomic.Bool
	server   *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	done     chan struct{} // closed when the background goroutines have exited

	stopOnce sync.Once
	stopErr  error
}

// engineState is one loaded configuration and the model states that belong to it.
type engineState struct {
	cfg      *Config
	models   map[string]*modelState
	inflight chan struct{} // ingest request slots
	token    string
	// adminToken guards the admin endpoints (web.admin_bearer_token); empty leaves them open.
	adminToken string
	decoders   sync.Pool // of *event.Decoder with this config's limits
}

// New checks the options and loads the config; it does not listen yet.
func New(opts Options) (*Monitor, error) {
	if opts.ConfigFile == "" {
		return nil, errors.New("no config file given")
	}
	if opts.ListenAddress == "" {
		opts.ListenAddress = DefaultListenAddress
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.Console == nil {
		opts.Console = os.Stdout
	}
	tls, err := checkWebConfig(opts.WebConfigFile)
	if err != nil {
		return nil, err
	}
	if opts.ExternalURL == "" {
		host := opts.ListenAddress
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		scheme := "http://"
		if tls {
			scheme = "https://"
		}
		opts.ExternalURL = scheme + host
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &Monitor{
		opts:     opts,
		logger:   opts.Logger.With("component", "monitor"),
		reg:      reg,
		metrics:  newMetrics(reg),
		reloadCh: make(chan chan error),
		done:     make(chan struct{}),
	}
	empty := map[string]*ModelStats{}
	m.stats.Store(&empty)
	m.alerts.Store(&[]*rules.Alert{})
	m.start = opts.Now()
	m.rules = rules.NewManager(rules.Options{Registerer: reg, Logger: opts.Logger.With("component", "rules")})
	// The statistics are written by the /metrics handler itself (exposition.go); the
	// registry only reserves their names. m.gatherer gathers both, for promhttp's share of
	// /metrics and for tests.
	m.statsCol = newStatsCollector(func() map[string]*ModelStats { return *m.stats.Load() })
	reg.MustRegister(reservedStats{m.statsCol})
	statsReg := prometheus.NewRegistry()
	statsReg.MustRegister(m.statsCol)
	m.gatherer = prometheus.Gatherers{reg, statsReg}
	reg.MustRegister(newCanaryCollector(func() map[string]*ModelStats { return *m.stats.Load() }))
	bi := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info", Help: "vigil's version; always 1.",
		ConstLabels: prometheus.Labels{"version": opts.Version},
	})
	bi.Set(1)
	reg.MustRegister(bi)

	cfg, err := LoadFile(opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	st := m.buildState(cfg, nil)
	m.state.Store(st)
	if cfg.Global.WAL.Enabled {
		d, err := openDurable(cfg, st, opts.Logger.With("component", "wal"), opts.Now())
		if err != nil {
			return nil, err
		}
		m.durable = d
	}
	st.releaseProfileSamples()
	if err := m.newSources(cfg); err != nil {
		return nil, err
	}
	m.rules.Update(cfg.compiled, modelNames(cfg))
	if err := m.restoreRuleState(cfg); err != nil {
		// A damaged state file must not keep vigil down: the rules start afresh.
		m.logger.Error("cannot restore alert states; rules start afresh", "err", err)
	}
	if cfg.alertingEnabled() {
		if err := m.startAlerting(cfg); err != nil {
			return nil, err
		}
	}
	m.metrics.reloadSuccess.Set(1)
	m.metrics.reloadTimestamp.Set(float64(opts.Now().UnixNano()) / 1e9)
	m.logger.Info("config loaded", "file", opts.ConfigFile, "models", len(cfg.Models))
	return m, nil
}

// buildState makes the model states of cfg, keeping each old state whose model config is
// unchanged so a reload loses no window.
func (m *Monitor) buildState(cfg *Config, old *engineState) *engineState {
	st := &engineState{
		cfg:      cfg,
		models:   make(map[string]*modelState, len(cfg.Models)),
		inflight: make(chan struct{}, cfg.Ingest.MaxInflightRequests),
		token:    cfg.Ingest.BearerToken.Reveal(),

		adminToken: cfg.Web.AdminBearerToken.Reveal(),
	}
	limits := event.Limits{MaxFeatures: cfg.Ingest.MaxFeaturesPerEvent, MaxStringLen: cfg.Ingest.MaxStringLength}
	st.decoders.New = func() any {
		// Ids are borrowed from the request body: the label join copies them into its own
		// arena (pendingSet) and nothing else keeps them, so ingest allocates no string.
		d := event.NewDecoder(limits)
		d.BorrowIDs(true)
		return d
	}
	for _, mc := range cfg.Models {
		lp := cfg.profiles[mc.Name]
		if old != nil {
			if prev, ok := old.models[mc.Name]; ok && sameWindows(prev.cfg, mc) && sameProfile(prev.profile, lp) {
				// Always: prev.cfg keeps the labels the state was made with.
				prev.setLabels(mc.Labels)
				st.models[mc.Name] = prev
				continue
			}
			if _, ok := old.models[mc.Name]; ok {
				m.logger.Info("model config changed; its windows start empty", "model", mc.Name)
			}
		}
		ms := newModelState(mc, m.metrics.forModel(mc.Name), lp)
		if err := ms.spillReference(cfg.Global.StoragePath, m.logger); err != nil {
			m.logger.Warn("a filling first-N reference is kept in memory", "model", mc.Name, "err", err)
		}
		ms.watchedSince = m.opts.Now()
		if m.durable != nil {
			ms.log = m.durable.log
		}
		st.models[mc.Name] = ms
	}
	return st
}

// releaseProfileSamples drops what the streaming models' profiles hold that their
// summaries replace, once the models are made (and restored from the snapshot, which may
// make a model again from its profile).
func (st *engineState) releaseProfileSamples() {
	for name, ms := range st.models {
		ms.releaseProfileSamples(ms.profile)
		if lp := st.cfg.profiles[name]; lp != nil && lp != ms.profile {
			ms.releaseProfileSamples(lp) // read again by a reload that kept the model's state
		}
	}
}

func modelNames(cfg *Config) []string {
	out := make([]string, len(cfg.Models))
	for i, mc := range cfg.Models {
		out[i] = mc.Name
	}
	return out
}

// sameWindows reports whether a model's state made under config a can go on under b:
// they differ at most in labels, which setLabels changes in place. Models that take a
// share of global.max_pending_labels get a new labels.max_pending whenever models are
// added or removed, and that must not empty the others' windows.
func sameWindows(a, b ModelConfig) bool {
	a.Labels, b.Labels = LabelsConfig{}, LabelsConfig{}
	return reflect.DeepEqual(a, b)
}

func sameProfile(a, b *loadedProfile) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.sum == b.sum
}

// Addr is the address the HTTP server listens on, once started.
func (m *Monitor) Addr() net.Addr {
	if m.listener == nil {
		return nil
	}
	return m.listener.Addr()
}

// Start listens, serves the API and starts the evaluation loop.
func (m *Monitor) Start() error {
	ln, err := net.Listen("tcp", m.opts.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.opts.ListenAddress, err)
	}
	m.listener = ln
	m.server = &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
	}
	// The first evaluation runs before anything is served: the status page, the API and
	// /metrics show every model (and the restored windows' statistics) from the first
	// request on.
	m.Evaluate(m.opts.Now())
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logger.Error("HTTP server stopped", "err", err)
		}
	})
	wg.Go(func() { m.evaluationLoop(ctx) })
	wg.Go(func() { m.reloadLoop(ctx) })
	if m.durable != nil {
		wg.Go(func() { m.snapshotLoop(ctx) })
	}
	m.runSources(ctx, &wg)
	if m.alerting != nil {
		d := m.alerting.d
		wg.Go(func() {
			if err := d.Run(ctx); err != nil {
				m.logger.Error("alert delivery stopped", "err", err)
			}
		})
	}
	go func() { wg.Wait(); close(m.done) }()
	m.ready.Store(true)
	m.logger.Info("listening", "address", ln.Addr().String())
	if m.state.Load().adminToken == "" && !isLoopback(ln.Addr()) {
		m.logger.Info("admin endpoints answer only callers on this host (403 to others): set web.admin_bearer_token_file to reload the config or manage silences from elsewhere", "address", ln.Addr().String())
	}
	return nil
}

// isLoopback reports whether addr only accepts connections from this machine.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// Stop drains HTTP (in-flight requests finish), stops the loops and runs a last
// evaluation so the final state is exported. It is idempotent and bounded by ctx
// (or ShutdownTimeout when ctx has no deadline).
func (m *Monitor) Stop(ctx context.Context) error {
	m.stopOnce.Do(func() {
		m.ready.Store(false)
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, m.opts.ShutdownTimeout)
			defer cancel()
		}
		var errs []error
		if m.server != nil {
			if err := m.server.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("drain HTTP: %w", err))
			}
		}
		if m.cancel != nil {
			m.cancel()
			select {
			case <-m.done:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("stop background work: %w", ctx.Err()))
			}
		}
		m.Evaluate(m.opts.Now())
		if m.durable != nil {
			// Ingest has stopped: the last snapshot holds every accepted event.
			if err := m.durable.close(m.state.Load(), m.opts.Now()); err != nil {
				errs = append(errs, fmt.Errorf("close the write-ahead log: %w", err))
			}
		}
		for _, ms := range m.state.Load().models {
			ms.closeSpill()
		}
		if m.alerting != nil {
			// Queued notifications stay in the store and are delivered after a restart.
			if err := m.alerting.stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop alerting: %w", err))
			}
		}
		m.stopErr = errors.Join(errs...)
		m.logger.Info("stopped")
	})
	return m.stopErr
}

// Run starts the monitor and stops it when ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	if err := m.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return m.Stop(context.Background())
}

// Reload rereads the config file. A config that does not load is refused and the running
// one kept; the error says why. SIGHUP and POST /-/reload both come here.
func (m *Monitor) Reload(ctx context.Context) error {
	errc := make(chan error, 1)
	select {
	case m.reloadCh <- errc:
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return errors.New("vigil is stopping")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Monitor) reloadLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case errc := <-m.reloadCh:
			errc <- m.reload()
		}
	}
}

func (m *Monitor) reload() error {
	cfg, err := LoadFile(m.opts.ConfigFile)
	if err != nil {
		m.metrics.reloadSuccess.Set(0)
		m.logger.Error("config reload refused; the running config is kept", "err", err)
		return err
	}
	m.applyMu.Lock()
	old := m.state.Load()
	st := m.buildState(cfg, old)
	st.releaseProfileSamples()
	m.state.Store(st)
	m.rules.Update(cfg.compiled, modelNames(cfg))
	m.applyMu.Unlock()
	for name, ms := range old.models {
		if st.models[name] != ms {
			ms.closeSpill() // changed or removed: its state is dropped
		}
	}
	m.reloadSources(cfg)
	if err := m.reloadAlerting(cfg); err != nil {
		m.metrics.reloadSuccess.Set(0)
		m.logger.Error("alerting config refused; the running routing is kept", "err", err)
		return err
	}
	for name := range old.models {
		if _, ok := st.models[name]; !ok {
			m.metrics.forget(name)
			m.logger.Info("model removed", "model", name)
		}
	}
	if m.durable != nil && replacedModels(old, st) {
		// A model whose config changed starts empty: the snapshot says so, so that a
		// restart does not replay its old events into the new windows.
		if err := m.durable.snapshot(st, m.opts.Now()); err != nil {
			m.logger.Warn("after the reload, a restart would replay the changed models' old events", "err", err)
		}
	}
	// Statistics for the new models exist before anyone is told the reload is done.
	m.Evaluate(m.opts.Now())
	m.metrics.reloadSuccess.Set(1)
	m.metrics.reloadTimestamp.Set(float64(m.opts.Now().UnixNano()) / 1e9)
	m.logger.Info("config reloaded", "file", m.opts.ConfigFile, "models", len(cfg.Models))
	return nil
}

// replacedModels reports whether st dropped or replaced any model state of old.
func replacedModels(old, st *engineState) bool {
	for name, ms := range old.models {
		if st.models[name] != ms {
			return true
		}
	}
	return false
}

// snapshotLoop writes a snapshot every snapshot_interval, or sooner when the log has
// grown past max_log_bytes.
func (m *Monitor) snapshotLoop(ctx context.Context) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if now := m.opts.Now(); m.durable.due(now) {
				m.applyMu.RLock()                           // a reload does not swap the models mid-snapshot
				_ = m.durable.snapshot(m.state.Load(), now) // logged inside
				m.applyMu.RUnlock()
			}
		}
	}
}

func (m *Monitor) evaluationLoop(ctx context.Context) {
	interval := time.Duration(m.state.Load().cfg.Global.EvaluationInterval)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			m.Evaluate(m.opts.Now())
			if iv := time.Duration(m.state.Load().cfg.Global.EvaluationInterval); iv != interval {
				interval = iv
				ticker.Reset(iv)
			}
		}
	}
}

// Evaluate computes every model's statistics at ts and publishes them to /metrics and the
// JSON API. The evaluation loop calls it every evaluation_interval; tests call it directly.
func (m *Monitor) Evaluate(ts time.Time) {
	m.evalMu.Lock()
	defer m.evalMu.Unlock()
	start := time.Now()
	st := m.state.Load()
	out := make(map[string]*ModelStats, len(st.models))
	for name, ms := range st.models {
		s := ms.evaluate(ts, &m.scratch)
		out[name] = &s
	}
	m.stats.Store(&out)
	m.history.record(ts, out)
	alerts := m.rules.Eval(context.Background(), ts, &signalSource{stats: out, now: ts, started: m.start})
	m.alerts.Store(&alerts)
	m.sendAlerts(context.Background(), alerts)
	if err := m.saveRuleState(st.cfg, ts); err != nil {
		if !m.stateSaveFailing {
			m.logger.Error("cannot save alert states; a restart now would reset for clocks", "err", err)
		}
		m.stateSaveFailing = true
	} else if m.stateSaveFailing {
		m.logger.Info("alert states are saved again")
		m.stateSaveFailing = false
	}
	m.metrics.evalDuration.Observe(time.Since(start).Seconds())
	m.metrics.evalTimestamp.Set(float64(ts.UnixNano()) / 1e9)
}

// Stats returns the last evaluation's statistics of one model.
func (m *Monitor) Stats(model string) (*ModelStats, bool) {
	s, ok := (*m.stats.Load())[model]
	return s, ok
}

// reloadAlerting applies a reloaded config's routing. Alerting turned on by a reload is
// started at the next restart: the store is opened once, at start.
func (m *Monitor) reloadAlerting(cfg *Config) error {
	switch {
	case m.alerting != nil && cfg.alertingEnabled():
		return m.alerting.d.ApplyConfig(&cfg.Alerting, integrations(cfg.dir, m.opts.Logger.With("component", "alerting"), m.opts.Console).Build)
	case m.alerting == nil && cfg.alertingEnabled():
		m.logger.Warn("the reloaded config adds alerting; restart vigil to start routing")
	case m.alerting != nil:
		m.logger.Warn("the reloaded config has no route; alerts are no longer sent until it has one")
	}
	return nil
}
