package monitor

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/internal/yamlconf"
	"github.com/vigilml/vigil/monitor/cloudevents"
	"github.com/vigilml/vigil/monitor/files"
	"github.com/vigilml/vigil/monitor/kafka"
	"github.com/vigilml/vigil/monitor/profile"
	"github.com/vigilml/vigil/monitor/scrape"
	"github.com/vigilml/vigil/rules"
)

// Task is what a model predicts; it decides which quality metrics apply.
type Task string

// The tasks a model can declare.
const (
	BinaryClassification     Task = "binary_classification"
	MulticlassClassification Task = "multiclass_classification"
	Regression               Task = "regression"
)

// FeatureType says how a feature's values are compared.
type FeatureType string

// The feature types.
const (
	Numeric     FeatureType = "numeric"
	Categorical FeatureType = "categorical"
)

// Defaults applied where the config is silent. They are documented in docs/configuration.md.
const (
	DefaultEvaluationInterval = 30 * time.Second
	DefaultListenAddress      = ":9780"
	DefaultMaxBodyBytes       = 32 << 20
	DefaultMaxInflight        = 64
	DefaultWindowSize         = 10000
	DefaultLabelTTL           = 72 * time.Hour
	// DefaultMaxPendingLabels is the most labels.max_pending a model takes as its share of
	// global.max_pending_labels.
	DefaultMaxPendingLabels = 100000
	// DefaultMaxPendingLabelsTotal is global.max_pending_labels: about 95 MB of
	// predictions waiting for their labels (and 65 MB of labels waiting for their
	// predictions) across the models that take a share of it.
	DefaultMaxPendingLabelsTotal = 1000000
	DefaultMaxSegments           = 20
	DefaultMaxVersions           = 5
	DefaultMaxClasses            = 32
	DefaultMaxDurationSamples    = 1000000
)

// Config is the root of vigil's configuration file.
type Config struct {
	Global GlobalConfig `yaml:"global"`
	Ingest IngestConfig `yaml:"ingest"`
	// Web protects the HTTP API's admin endpoints (see WebConfig).
	Web    WebConfig     `yaml:"web"`
	Models []ModelConfig `yaml:"models"`
	// Rules are threshold rules over the models' statistics (see the rules package).
	Rules []rules.Config `yaml:"rules"`
	// Alerting is Alertmanager's route, receivers, inhibit_rules and time_intervals, at
	// the top level of the file as in Alertmanager's own config.
	Alerting alerting.Config `yaml:",inline"`
	// CloudEvents turns on the KServe / Seldon payload-logger sink (POST /api/v1/cloudevents).
	CloudEvents *cloudevents.Config `yaml:"cloudevents,omitempty"`
	// Kafka starts a consumer group on prediction and label topics.
	Kafka *kafka.Config `yaml:"kafka,omitempty"`
	// ScrapeConfigs pull records from HTTP endpoints on an interval.
	ScrapeConfigs []scrape.Config `yaml:"scrape_configs,omitempty"`
	// FileSources tail NDJSON or CSV files.
	FileSources []files.Config `yaml:"file_sources,omitempty"`

	// compiled are Rules, checked and compiled at load.
	compiled []*rules.Rule
	// dir is the directory of the loaded file; relative paths resolve against it.
	dir string
	// noProfile names a model whose reference profile is not loaded (vigil baseline).
	noProfile string
	// profiles are the models' reference profiles, by model name.
	profiles map[string]*loadedProfile
}

// GlobalConfig holds settings that apply to every model.
type GlobalConfig struct {
	EvaluationInterval Duration `yaml:"evaluation_interval"`
	StoragePath        string   `yaml:"storage_path"`
	// WAL keeps accepted events across a crash (see WALConfig).
	WAL WALConfig `yaml:"wal"`
	// MaxPendingLabels bounds the label join of the whole daemon: each model that does
	// not set labels.max_pending may keep min(100000, this / number of models)
	// predictions (and as many labels) waiting, so adding models does not add memory.
	MaxPendingLabels int `yaml:"max_pending_labels"`
}

// WALConfig is the write-ahead log of accepted events under storage_path/wal, with a
// snapshot of every model's windows under storage_path/snapshot.gob: an event answered
// with 202 is in the log, so a restart (even after kill -9) loses none.
type WALConfig struct {
	// Enabled turns the log on (default true). Off, a restart starts every window empty.
	Enabled bool `yaml:"enabled"`
	// Fsync makes every ingest request wait for fsync before its 202 (default false), so
	// that accepted events also survive a machine crash (power loss, kernel panic). Off,
	// a 202 means the events are written to the operating system: they survive any crash
	// of vigil itself (kill -9, OOM kill), as Prometheus's own WAL does. Concurrent
	// requests share one fsync.
	Fsync bool `yaml:"fsync"`
	// SnapshotInterval is how often the windows are written to the snapshot and the log
	// before it is removed (default 5m); the log is replayed from the last snapshot at
	// start.
	SnapshotInterval Duration `yaml:"snapshot_interval"`
	// MaxLogBytes starts a snapshot early once the log since the last one is this big
	// (default 1 GiB), which bounds both the disk used and the replay at start.
	MaxLogBytes int64 `yaml:"max_log_bytes"`
}

// Defaults of global.wal.
const (
	DefaultSnapshotInterval = 5 * time.Minute
	DefaultMaxLogBytes      = 1 << 30
)

// IngestConfig bounds and protects the ingestion API.
type IngestConfig struct {
	// MaxBodyBytes is the largest request body accepted; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxInflightRequests is how many ingest requests may be decoded and applied at once;
	// past it requests get 429 with Retry-After.
	MaxInflightRequests int `yaml:"max_inflight_requests"`
	// BearerToken, when set, is required as "Authorization: Bearer <token>" on ingest requests.
	BearerToken Secret `yaml:"bearer_token,omitempty"`
	// BearerTokenFile is read at load (and reload) for the token; it excludes BearerToken.
	BearerTokenFile string `yaml:"bearer_token_file,omitempty"`
	// MaxFeaturesPerEvent and MaxStringLength bound a single record.
	MaxFeaturesPerEvent int `yaml:"max_features_per_event"`
	MaxStringLength     int `yaml:"max_string_length"`
}

// WebConfig protects the admin endpoints: POST /-/reload, POST and DELETE
// /api/v1/silences, and /debug/pprof/ (when --web.enable-pprof is on). Its token is
// separate from ingest's: neither grants the other's endpoints.
type WebConfig struct {
	// AdminBearerToken, when set, is required as "Authorization: Bearer <token>" on the
	// admin endpoints. ${ENV} is expanded.
	AdminBearerToken Secret `yaml:"admin_bearer_token,omitempty"`
	// AdminBearerTokenFile is read at load (and reload) for the admin token; it excludes
	// AdminBearerToken.
	AdminBearerTokenFile string `yaml:"admin_bearer_token_file,omitempty"`
}

// ModelConfig declares one watched model.
type ModelConfig struct {
	Name          string          `yaml:"name"`
	Task          Task            `yaml:"task"`
	PositiveClass ClassValue      `yaml:"positive_class"`
	Classes       []ClassValue    `yaml:"classes,omitempty"`
	Reference     ReferenceConfig `yaml:"reference"`
	Window        WindowConfig    `yaml:"window"`
	Features      []FeatureConfig `yaml:"features"`
	Segments      []string        `yaml:"segments,omitempty"`
	MaxSegments   int             `yaml:"max_segments"`
	MaxVersions   int             `yaml:"max_versions"`
	MaxClasses    int             `yaml:"max_classes"`
	Labels        LabelsConfig    `yaml:"labels"`
	Drift         DriftConfig     `yaml:"drift"`
	Canary        *CanaryConfig   `yaml:"canary,omitempty"`
}

// DriftConfig sets how a model's features are judged for drift.
type DriftConfig struct {
	// Alpha is the significance level of the p-value tests (ks, chi_square).
	Alpha float64 `yaml:"alpha"`
	// Correction adjusts the p-values across features for the model-level verdict:
	// benjamini_hochberg (default), bonferroni or none.
	Correction string `yaml:"correction"`
	// Share is the share of drifted features at or above which the model has drifted.
	Share float64 `yaml:"share"`
	// MinSamples is the fewest non-missing values the reference and the current window
	// must each hold before a feature gets a verdict.
	MinSamples int `yaml:"min_samples"`
	// LargeSample is the reference size above which the default methods switch from the
	// p-value tests to distances (as Evidently does at 1000).
	LargeSample int `yaml:"large_sample"`
	// Chunks is how many sub-windows of the reference `threshold: auto` learns from.
	Chunks int `yaml:"chunks"`
	// Multivariate turns on the PCA reconstruction-error test over the numeric features.
	Multivariate bool `yaml:"multivariate"`
	// PCAVariance is the share of the reference's variance the kept components explain.
	PCAVariance float64 `yaml:"pca_variance"`
}

// FeatureDriftConfig overrides how one feature is judged.
type FeatureDriftConfig struct {
	// Method decides vigil_drift_detected: psi, ks, wasserstein, jensen_shannon,
	// hellinger, chi_square or l_infinity. Empty picks the default for the type and size.
	Method string `yaml:"method,omitempty"`
	// Threshold is the statistic's limit, or "auto" to learn it from the reference.
	// For ks and chi_square without a threshold the p-value is compared with alpha.
	Threshold Threshold `yaml:"threshold,omitempty"`
	// EffectSize is the smallest effect a p-value test may call drift: the KS statistic
	// for ks, Cramér's V for chi_square. Default 0.1.
	EffectSize *float64 `yaml:"effect_size,omitempty"`
}

// Threshold is a number, or "auto" (learnt as mean + 3σ over reference sub-windows).
type Threshold struct {
	Value float64
	Auto  bool
	Set   bool
}

// UnmarshalYAML reads a number or "auto".
func (t *Threshold) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode && node.Value == "auto" {
		*t = Threshold{Auto: true, Set: true}
		return nil
	}
	v, err := strconv.ParseFloat(node.Value, 64)
	if node.Kind != yaml.ScalarNode || err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("line %d: threshold must be a non-negative number or auto, not %q", node.Line, node.Value)
	}
	*t = Threshold{Value: v, Set: true}
	return nil
}

// MarshalYAML writes the threshold as it is read.
func (t Threshold) MarshalYAML() (any, error) {
	if t.Auto {
		return "auto", nil
	}
	if !t.Set {
		return nil, nil
	}
	return t.Value, nil
}

// Drift methods, as the method label of vigil_drift_score.
const (
	MethodPSI           = "psi"
	MethodKS            = "ks"
	MethodWasserstein   = "wasserstein"
	MethodJensenShannon = "jensen_shannon"
	MethodHellinger     = "hellinger"
	MethodChiSquare     = "chi_square"
	MethodLInfinity     = "l_infinity"
	// MethodPCA is the multivariate test's method label (feature "*").
	MethodPCA = "pca_reconstruction_error"
)

var numericMethods = []string{MethodPSI, MethodKS, MethodWasserstein, MethodJensenShannon, MethodHellinger, MethodLInfinity}
var categoricalMethods = []string{MethodPSI, MethodChiSquare, MethodJensenShannon, MethodHellinger, MethodLInfinity}

// ReferenceConfig says what the current window is compared with.
type ReferenceConfig struct {
	// Profile is a reference profile file written by `vigil baseline`.
	Profile string `yaml:"profile,omitempty"`
	// Window is "first" (the first Size predictions, then frozen) or "previous"
	// (the window just before the current one).
	Window string `yaml:"window,omitempty"`
	Size   int    `yaml:"size,omitempty"`
}

// WindowConfig sizes the current window: the last Size events, or the events of the last Duration.
type WindowConfig struct {
	// Size makes the window the last Size events; Duration the events whose event
	// time lies in the last Duration. One of the two.
	Size     int      `yaml:"size,omitempty"`
	Duration Duration `yaml:"duration,omitempty"`
	// MaxSamples caps a duration window's memory; the oldest events beyond it are evicted.
	MaxSamples int `yaml:"max_samples,omitempty"`
	// Mode is exact (every feature value held) or streaming (fixed-size summaries).
	Mode string `yaml:"mode,omitempty"`
	// Panes is how many summaries a streaming window is assembled from.
	Panes int `yaml:"panes,omitempty"`
}

// Window modes.
const (
	ModeExact     = "exact"
	ModeStreaming = "streaming"
)

// FeatureConfig declares one input feature.
type FeatureConfig struct {
	// Name is the feature's key in an event's "features"; names starting with "__" are
	// reserved.
	Name string `yaml:"name"`
	// Type is numeric or categorical.
	Type FeatureType `yaml:"type"`
	// Min and Max bound a numeric feature for vigil_feature_out_of_range_ratio; without
	// them the reference's minimum and maximum are the bounds.
	Min *float64 `yaml:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty"`
	// Drift overrides how the feature's drift is judged: method, threshold, effect size.
	Drift *FeatureDriftConfig `yaml:"drift,omitempty"`
}

// LabelsConfig bounds the wait of predictions for their labels (and of labels for their predictions).
// A MaxPending unset or 0 is set by Load to the model's share of
// global.max_pending_labels.
type LabelsConfig struct {
	TTL        Duration `yaml:"ttl"`
	MaxPending int      `yaml:"max_pending"`
}

// CanaryConfig names the two versions compared by canary checks and the criteria of
// vigil_canary_verdict. See docs/configuration.md ("canary").
type CanaryConfig struct {
	// Baseline is the version the candidate is compared with (usually the primary).
	Baseline string `yaml:"baseline"`
	// Candidate is the version under evaluation (usually sent with role canary).
	Candidate string `yaml:"candidate"`
	// MinSamples is the fewest samples each figure needs (per side, or shadow pairs)
	// before it is computed and judged; below it the figure is "not enough data".
	MinSamples int `yaml:"min_samples"`
	// Alpha is the significance level of the quality and distribution tests.
	Alpha float64 `yaml:"alpha"`
	// PairTTL is how long a shadow prediction waits, in event time, for the other
	// version's prediction of the same id.
	PairTTL Duration `yaml:"pair_ttl"`
	// MaxPendingPairs bounds the predictions waiting for their shadow partner.
	MaxPendingPairs int `yaml:"max_pending_pairs"`
	// Criteria decide the verdict; when none is set, max_prediction_drift: 0.1 applies.
	Criteria CanaryCriteria `yaml:"criteria"`
}

// CanaryCriteria are the limits a candidate must keep. Unset criteria are not judged.
type CanaryCriteria struct {
	// MinAgreement: shadow pairs whose predicted classes agree (classification).
	MinAgreement *float64 `yaml:"min_agreement,omitempty"`
	// MaxScoreMeanAbsDiff: mean |score_candidate − score_baseline| over shadow pairs.
	MaxScoreMeanAbsDiff *float64 `yaml:"max_score_mean_abs_diff,omitempty"`
	// MinScoreCorrelation: Pearson correlation of the shadow pairs' scores.
	MinScoreCorrelation *float64 `yaml:"min_score_correlation,omitempty"`
	// MaxPredictionDrift: the candidate's output distribution fails when the test against
	// the baseline's is significant (p < alpha) and its effect (KS statistic, or Cramér's V
	// of the chi-square test) is at least this.
	MaxPredictionDrift *float64 `yaml:"max_prediction_drift,omitempty"`
	// MaxAccuracyDrop: fails when baseline accuracy − candidate accuracy exceeds this and
	// the two-proportion z-test says the difference is significant.
	MaxAccuracyDrop *float64 `yaml:"max_accuracy_drop,omitempty"`
	// MaxAUCDrop: the same for ROC AUC with DeLong's test (binary models with scores).
	MaxAUCDrop *float64 `yaml:"max_auc_drop,omitempty"`
	// MaxLatencyP50Ratio and MaxLatencyP95Ratio: candidate/baseline latency quantiles.
	MaxLatencyP50Ratio *float64 `yaml:"max_latency_p50_ratio,omitempty"`
	MaxLatencyP95Ratio *float64 `yaml:"max_latency_p95_ratio,omitempty"`
}

// Canary defaults, documented in docs/configuration.md.
const (
	DefaultCanaryMinSamples      = 100
	DefaultCanaryAlpha           = 0.05
	DefaultCanaryPairTTL         = 10 * time.Minute
	DefaultCanaryMaxPendingPairs = 100000
	DefaultCanaryPredictionDrift = 0.1
)

// UnmarshalYAML sets the canary defaults before the file's values are read.
func (c *CanaryConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = CanaryConfig{
		MinSamples: DefaultCanaryMinSamples, Alpha: DefaultCanaryAlpha,
		PairTTL: Duration(DefaultCanaryPairTTL), MaxPendingPairs: DefaultCanaryMaxPendingPairs,
	}
	type plain CanaryConfig
	return unmarshal((*plain)(c))
}

func (c *CanaryConfig) validate(at string) error {
	switch {
	case c.Baseline == "" || c.Candidate == "" || c.Baseline == c.Candidate:
		return fieldErr(at, "baseline and candidate must name two different versions")
	case c.MinSamples < 2:
		return fieldErr(at+".min_samples", "must be at least 2")
	case c.Alpha <= 0 || c.Alpha >= 1:
		return fieldErr(at+".alpha", "must lie in (0, 1)")
	case c.PairTTL <= 0:
		return fieldErr(at+".pair_ttl", "must be positive")
	case c.MaxPendingPairs <= 0:
		return fieldErr(at+".max_pending_pairs", "must be positive")
	}
	cr := &c.Criteria
	for name, v := range map[string]*float64{
		"min_agreement": cr.MinAgreement, "max_score_mean_abs_diff": cr.MaxScoreMeanAbsDiff,
		"max_prediction_drift": cr.MaxPredictionDrift, "max_accuracy_drop": cr.MaxAccuracyDrop,
		"max_auc_drop": cr.MaxAUCDrop, "max_latency_p50_ratio": cr.MaxLatencyP50Ratio,
		"max_latency_p95_ratio": cr.MaxLatencyP95Ratio,
	} {
		if v != nil && (math.IsNaN(*v) || *v < 0) {
			return fieldErr(at+".criteria."+name, "must be a non-negative number")
		}
	}
	if v := cr.MinScoreCorrelation; v != nil && (math.IsNaN(*v) || *v < -1 || *v > 1) {
		return fieldErr(at+".criteria.min_score_correlation", "must lie in [-1, 1]")
	}
	if *cr == (CanaryCriteria{}) {
		d := DefaultCanaryPredictionDrift
		cr.MaxPredictionDrift = &d
	}
	return nil
}

// ClassValue is a class written in YAML as a number, string or bool. It is kept as the
// class key that events use (see event.Value.Class): 1 and 1.0 are both "1".
type ClassValue string

// UnmarshalYAML implements yaml.Unmarshaler (func style, so strict decoding is kept).
func (c *ClassValue) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		*c = ClassValue(x)
	case int:
		*c = ClassValue(strconv.Itoa(x))
	case float64:
		*c = ClassValue(strconv.FormatFloat(x, 'g', -1, 64))
	case bool:
		*c = ClassValue(strconv.FormatBool(x))
	default:
		return fmt.Errorf("a class must be a number, string or bool, not %T", v)
	}
	return nil
}

// DefaultConfig returns the configuration used for every field the file leaves out.
func DefaultConfig() Config {
	return Config{
		Global: GlobalConfig{
			EvaluationInterval: Duration(DefaultEvaluationInterval), StoragePath: "data/",
			WAL:              WALConfig{Enabled: true, Fsync: false, SnapshotInterval: Duration(DefaultSnapshotInterval), MaxLogBytes: DefaultMaxLogBytes},
			MaxPendingLabels: DefaultMaxPendingLabelsTotal,
		},
		Ingest: IngestConfig{
			MaxBodyBytes:        DefaultMaxBodyBytes,
			MaxInflightRequests: DefaultMaxInflight,
			MaxFeaturesPerEvent: 1000,
			MaxStringLength:     1024,
		},
	}
}

// UnmarshalYAML sets the defaults before the file's values are read.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type plain Config
	return unmarshal((*plain)(c))
}

// UnmarshalYAML sets a model's defaults before the file's values are read.
func (m *ModelConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*m = ModelConfig{
		MaxSegments: DefaultMaxSegments,
		MaxVersions: DefaultMaxVersions,
		MaxClasses:  DefaultMaxClasses,
		Labels:      LabelsConfig{TTL: Duration(DefaultLabelTTL)}, // MaxPending: a share of global.max_pending_labels
		Drift: DriftConfig{
			Alpha: 0.05, Correction: "benjamini_hochberg", Share: 0.5,
			MinSamples: 30, LargeSample: 1000, Chunks: 10,
			Multivariate: true, PCAVariance: 0.65,
		},
	}
	type plain ModelConfig
	return unmarshal((*plain)(m))
}

// Dir is the directory relative paths in the config resolve against.
func (c *Config) Dir() string { return c.dir }

// Model returns the named model's config, or nil.
func (c *Config) Model(name string) *ModelConfig {
	for i := range c.Models {
		if c.Models[i].Name == name {
			return &c.Models[i]
		}
	}
	return nil
}

// Error is a config error that names where in the file it is.
type Error = yamlconf.Error

// LoadFile reads and validates the config at path.
func LoadFile(path string) (*Config, error) { return loadFile(path, "") }

// LoadFileForBaseline is LoadFile for `vigil baseline`, which builds the profile that the
// model's reference: {profile: …} names: that one profile may not exist yet, and is
// neither read nor checked.
func LoadFileForBaseline(path, model string) (*Config, error) { return loadFile(path, model) }

func loadFile(path, noProfile string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := load(data, filepath.Dir(path), noProfile)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	return cfg, nil
}

// Load parses and validates a config. Relative paths resolve against the working directory.
func Load(data []byte) (*Config, error) { return load(data, ".", "") }

func load(data []byte, dir, noProfile string) (*Config, error) {
	cfg := DefaultConfig()
	if err := yamlconf.DecodeStrict(data, &cfg); err != nil {
		return nil, err
	}
	cfg.dir, cfg.noProfile = dir, noProfile
	if err := cfg.validate(); err != nil {
		return nil, yamlconf.WithLine(err, data)
	}
	return &cfg, nil
}

// Duration is a config duration in Prometheus's notation: 30s, 5m, 1h, 3d, 1w, 1h30m.
type Duration = yamlconf.Duration

func fieldErr(field, format string, args ...any) error {
	return yamlconf.FieldErr(field, format, args...)
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)

func (c *Config) validate() error {
	if c.Global.WAL.Enabled && c.Global.WAL.SnapshotInterval <= 0 {
		return fieldErr("global.wal.snapshot_interval", "must be positive")
	}
	if c.Global.WAL.Enabled && c.Global.WAL.MaxLogBytes < 1<<20 {
		return fieldErr("global.wal.max_log_bytes", "must be at least 1 MiB")
	}
	if c.Global.WAL.Enabled && c.Global.StoragePath == "" {
		return fieldErr("global.storage_path", "the write-ahead log needs a directory (or set global.wal.enabled: false)")
	}
	if c.Global.EvaluationInterval <= 0 {
		return fieldErr("global.evaluation_interval", "must be positive")
	}
	if c.Global.MaxPendingLabels <= 0 {
		return fieldErr("global.max_pending_labels", "must be positive")
	}
	in := &c.Ingest
	switch {
	case in.MaxBodyBytes <= 0:
		return fieldErr("ingest.max_body_bytes", "must be positive")
	case in.MaxInflightRequests <= 0:
		return fieldErr("ingest.max_inflight_requests", "must be positive")
	case in.MaxFeaturesPerEvent <= 0:
		return fieldErr("ingest.max_features_per_event", "must be positive")
	case in.MaxStringLength <= 0:
		return fieldErr("ingest.max_string_length", "must be positive")
	}
	tok, file, err := c.loadToken("ingest", "bearer_token", in.BearerToken, in.BearerTokenFile)
	if err != nil {
		return err
	}
	in.BearerToken, in.BearerTokenFile = tok, file
	web := &c.Web
	tok, file, err = c.loadToken("web", "admin_bearer_token", web.AdminBearerToken, web.AdminBearerTokenFile)
	if err != nil {
		return err
	}
	web.AdminBearerToken, web.AdminBearerTokenFile = tok, file
	if tok != "" && tok == in.BearerToken {
		return fieldErr("web.admin_bearer_token", "must differ from ingest.bearer_token, or the ingest token would grant the admin endpoints")
	}
	seen := map[string]bool{}
	for i := range c.Models {
		m := &c.Models[i]
		at := fmt.Sprintf("models[%d]", i)
		if err := m.validate(at); err != nil {
			return err
		}
		if seen[m.Name] {
			return fieldErr(at+".name", "model %q is declared twice", m.Name)
		}
		seen[m.Name] = true
	}
	share := c.pendingLabelShare()
	for i := range c.Models {
		if c.Models[i].Labels.MaxPending == 0 {
			c.Models[i].Labels.MaxPending = share
		}
	}
	if c.CloudEvents != nil {
		if err := c.CloudEvents.Validate("cloudevents"); err != nil {
			return err
		}
		if c.CloudEvents.RequireBearerToken && in.BearerToken == "" {
			return fieldErr("cloudevents.require_bearer_token", "needs ingest.bearer_token or ingest.bearer_token_file, the token it requires")
		}
	}
	if c.Kafka != nil {
		if err := c.Kafka.Validate("kafka"); err != nil {
			return err
		}
	}
	if err := scrape.ValidateAll(c.ScrapeConfigs, c.dir); err != nil {
		return err
	}
	if err := files.ValidateAll(c.FileSources, c.dir); err != nil {
		return err
	}
	if err := c.loadProfiles(); err != nil {
		return err
	}
	compiled, err := rules.Compile(c.Rules)
	if err != nil {
		var re *rules.Error
		if errors.As(err, &re) {
			return &Error{Line: re.Line, Field: re.Field, Err: re.Err}
		}
		return fieldErr("rules", "%w", err)
	}
	c.compiled = compiled
	return c.validateAlerting()
}

// pendingLabelShare is labels.max_pending of a model that does not set it: an equal share
// of global.max_pending_labels, at most DefaultMaxPendingLabels and at least 1.
func (c *Config) pendingLabelShare() int {
	return max(1, min(DefaultMaxPendingLabels, c.Global.MaxPendingLabels/max(1, len(c.Models))))
}

// loadedProfile is a model's reference profile and the digest of its file, so a reload
// keeps a model's state exactly when neither its config nor its profile changed.
type loadedProfile struct {
	p   *profile.Profile
	sum [sha256.Size]byte
}

// loadProfiles reads every model's reference profile and checks it fits the model: every
// declared feature must be in it with the same type.
func (c *Config) loadProfiles() error {
	c.profiles = map[string]*loadedProfile{}
	for i := range c.Models {
		m := &c.Models[i]
		if m.Reference.Profile == "" || m.Name == c.noProfile {
			continue
		}
		at := fmt.Sprintf("models[%d].reference.profile", i)
		path := c.resolve(m.Reference.Profile)
		data, err := os.ReadFile(path)
		if err != nil {
			return fieldErr(at, "%w", err)
		}
		p, err := profile.Parse(data)
		if err != nil {
			return fieldErr(at, "%s: %w", path, err)
		}
		if p.Model != m.Name {
			return fieldErr(at, "%s is a profile of model %q, not %q", path, p.Model, m.Name)
		}
		for _, f := range m.Features {
			pf := p.Feature(f.Name)
			if pf == nil {
				return fieldErr(at, "%s has no feature %q: rebuild it with vigil baseline", path, f.Name)
			}
			if string(pf.Type) != string(f.Type) {
				return fieldErr(at, "%s has feature %q as %s, the config declares it %s", path, f.Name, pf.Type, f.Type)
			}
		}
		c.profiles[m.Name] = &loadedProfile{p: p, sum: sha256.Sum256(data)}
	}
	return nil
}

func (m *ModelConfig) validate(at string) error {
	if m.Name == "" {
		return fieldErr(at+".name", "is required")
	}
	if !nameRE.MatchString(m.Name) || len(m.Name) > 128 {
		return fieldErr(at+".name", "%q is not a valid model name (letters, digits, _ . : -, at most 128)", m.Name)
	}
	switch m.Task {
	case BinaryClassification:
		if m.PositiveClass == "" {
			m.PositiveClass = "1"
		}
	case MulticlassClassification:
	case Regression:
		if m.PositiveClass != "" {
			return fieldErr(at+".positive_class", "applies to binary_classification only")
		}
	case "":
		return fieldErr(at+".task", "is required: binary_classification, multiclass_classification or regression")
	default:
		return fieldErr(at+".task", "%q is not one of binary_classification, multiclass_classification, regression", m.Task)
	}
	if len(m.Classes) > 0 && m.Task != MulticlassClassification {
		return fieldErr(at+".classes", "applies to multiclass_classification only")
	}
	if m.MaxClasses <= 0 || m.MaxSegments <= 0 || m.MaxVersions <= 0 {
		return fieldErr(at, "max_classes, max_segments and max_versions must be positive")
	}
	if len(m.Classes) > m.MaxClasses {
		return fieldErr(at+".classes", "%d classes exceed max_classes %d", len(m.Classes), m.MaxClasses)
	}

	w := &m.Window
	switch {
	case w.Size < 0:
		return fieldErr(at+".window.size", "must be positive")
	case w.Duration < 0:
		return fieldErr(at+".window.duration", "must be positive")
	case w.Size > 0 && w.Duration > 0:
		return fieldErr(at+".window", "size and duration are mutually exclusive")
	case w.Size == 0 && w.Duration == 0:
		w.Size = DefaultWindowSize
	}
	if w.Duration > 0 && w.MaxSamples == 0 {
		w.MaxSamples = DefaultMaxDurationSamples
	}
	if w.Size > 0 && w.MaxSamples != 0 {
		return fieldErr(at+".window.max_samples", "applies to duration windows only")
	}
	switch w.Mode {
	case "":
		w.Mode = ModeExact
	case ModeExact, ModeStreaming:
	default:
		return fieldErr(at+".window.mode", "%q is not one of exact, streaming", w.Mode)
	}
	if w.Panes == 0 {
		w.Panes = 10
	}
	if w.Panes < 2 || w.Panes > 100 || (w.Mode != ModeStreaming && w.Panes != 10) {
		return fieldErr(at+".window.panes", "must be 2 to 100, in streaming mode")
	}
	if w.Mode == ModeStreaming && m.Reference.Window == "previous" {
		return fieldErr(at+".window.mode", "streaming needs a fixed reference ({window: first} or {profile: FILE}): the bins of a previous window would move with every window")
	}

	r := &m.Reference
	switch {
	case r.Profile != "" && (r.Window != "" || r.Size != 0):
		return fieldErr(at+".reference", "profile excludes window and size: the profile is the reference")
	case r.Profile != "":
		// Loaded and checked against the features by Config.loadProfiles.
	case r.Window == "" && r.Size == 0:
		r.Window = "first"
	}
	switch r.Window {
	case "":
		if r.Profile == "" {
			return fieldErr(at+".reference.window", "is required with size: first or previous")
		}
	case "first":
		if r.Size < 0 {
			return fieldErr(at+".reference.size", "must be positive")
		}
		if r.Size == 0 {
			r.Size = max(w.Size, DefaultWindowSize)
		}
	case "previous":
		if r.Size != 0 {
			return fieldErr(at+".reference.size", "does not apply to {window: previous}: the reference is the window before the current one, of the same size")
		}
	default:
		return fieldErr(at+".reference.window", "%q is not one of first, previous", r.Window)
	}

	names := map[string]FeatureType{}
	for j, f := range m.Features {
		fat := fmt.Sprintf("%s.features[%d]", at, j)
		if f.Name == "" {
			return fieldErr(fat+".name", "is required")
		}
		if _, dup := names[f.Name]; dup {
			return fieldErr(fat+".name", "feature %q is declared twice", f.Name)
		}
		if strings.HasPrefix(f.Name, "__") {
			return fieldErr(fat+".name", "names starting with __ are reserved (%s is the model's own prediction)", PredictionFeature)
		}
		switch f.Type {
		case Numeric, Categorical:
		case "":
			return fieldErr(fat+".type", "is required: numeric or categorical")
		default:
			return fieldErr(fat+".type", "%q is not one of numeric, categorical", f.Type)
		}
		if err := f.validate(fat); err != nil {
			return err
		}
		names[f.Name] = f.Type
	}
	if len(m.Segments) > maxSegmentFeatures {
		return fieldErr(at+".segments", "at most %d segment features, got %d", maxSegmentFeatures, len(m.Segments))
	}
	for j, s := range m.Segments {
		if _, ok := names[s]; !ok {
			return fieldErr(fmt.Sprintf("%s.segments[%d]", at, j), "%q is not a declared feature", s)
		}
	}
	if err := m.Drift.validate(at + ".drift"); err != nil {
		return err
	}
	if m.Labels.TTL <= 0 {
		return fieldErr(at+".labels.ttl", "must be positive")
	}
	if m.Labels.MaxPending < 0 {
		return fieldErr(at+".labels.max_pending", "must be positive, or unset for a share of global.max_pending_labels")
	}
	if c := m.Canary; c != nil {
		if err := c.validate(at + ".canary"); err != nil {
			return err
		}
		if m.MaxVersions < 2 {
			return fieldErr(at+".max_versions", "must be at least 2 with canary")
		}
	}
	return nil
}

func (d *DriftConfig) validate(at string) error {
	switch {
	case d.Alpha <= 0 || d.Alpha >= 1:
		return fieldErr(at+".alpha", "must lie in (0, 1)")
	case d.Share <= 0 || d.Share > 1:
		return fieldErr(at+".share", "must lie in (0, 1]")
	case d.MinSamples < 1:
		return fieldErr(at+".min_samples", "must be at least 1")
	case d.LargeSample < 1:
		return fieldErr(at+".large_sample", "must be at least 1")
	case d.Chunks < 2:
		return fieldErr(at+".chunks", "must be at least 2")
	case d.PCAVariance <= 0 || d.PCAVariance >= 1:
		return fieldErr(at+".pca_variance", "must lie in (0, 1)")
	}
	switch d.Correction {
	case "benjamini_hochberg", "bonferroni", "none":
	default:
		return fieldErr(at+".correction", "%q is not one of benjamini_hochberg, bonferroni, none", d.Correction)
	}
	return nil
}

func (f *FeatureConfig) validate(at string) error {
	if f.Type == Categorical && (f.Min != nil || f.Max != nil) {
		return fieldErr(at, "min and max apply to numeric features only")
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return fieldErr(at, "min %g is above max %g", *f.Min, *f.Max)
	}
	if f.Drift == nil || f.Drift.Method == "" {
		return nil
	}
	allowed := numericMethods
	if f.Type == Categorical {
		allowed = categoricalMethods
	}
	if !slices.Contains(allowed, f.Drift.Method) {
		return fieldErr(at+".drift.method", "%q does not apply to a %s feature; use one of %s", f.Drift.Method, f.Type, strings.Join(allowed, ", "))
	}
	if e := f.Drift.EffectSize; e != nil && (*e < 0 || *e > 1) {
		return fieldErr(at+".drift.effect_size", "must lie in [0, 1]")
	}
	return nil
}

func (c *Config) resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(c.dir, path)
}

// loadToken resolves a bearer token given inline (with ${ENV} expanded) or as a file
// (read now, trailing white space trimmed); at most one of the two may be set. It returns
// the token and the resolved file path.
func (c *Config) loadToken(section, field string, inline Secret, file string) (Secret, string, error) {
	if inline != "" && file != "" {
		return "", "", fieldErr(section, "at most one of %s and %s_file may be set", field, field)
	}
	if inline != "" {
		tok, err := yamlconf.ExpandEnv(string(inline))
		if err != nil {
			return "", "", fieldErr(section+"."+field, "%w", err)
		}
		return Secret(tok), "", nil
	}
	if file == "" {
		return "", "", nil
	}
	file = c.resolve(file)
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", fieldErr(section+"."+field+"_file", "%w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", "", fieldErr(section+"."+field+"_file", "file %s is empty", file)
	}
	return Secret(tok), file, nil
}
