// Package kafka is vigil's Kafka source: a consumer group (franz-go) on prediction and
// label topics whose records are vigil events (one JSON object, a JSON array, or NDJSON),
// applied through the same ingest path as the HTTP API.
//
// # Delivery
//
// At least once, and exactly once in the window for everything that is committed:
//
//   - Offsets are committed only after the records' events are in the windows (the sink
//     returns once they are applied) and after the BeforeCommit hook (the store's sync,
//     when there is one) has returned.
//   - Rebalances cannot commit across ownership: the client blocks rebalances while a
//     polled batch is processed (kgo.BlockRebalanceOnPoll), so a batch is applied and
//     committed before its partitions move to another member.
//   - A record at or below the last offset this process applied for its partition is
//     skipped (counted as duplicate), so a redelivery to the same process never counts
//     twice. The Applied hook reports every applied offset, so a store that persists the
//     windows can persist the offsets with them and hand them back at restart (Resume);
//     without such a store a crash loses the windows anyway, and with it nothing is
//     counted twice.
//   - Back-pressure instead of buffering: a batch is at most max_poll_records records,
//     the next poll waits until it is applied, and the sink waits for one of
//     ingest.max_inflight_requests; a sink failure is retried with backoff, the offsets
//     staying uncommitted.
package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// Defaults of the kafka: section.
const (
	DefaultGroup          = "vigil"
	DefaultMaxPollRecords = 1000
)

// Config is the kafka: section; its presence starts the consumer.
type Config struct {
	Brokers []string `yaml:"brokers"`
	// Topics hold prediction records; LabelTopics label records.
	Topics      []string `yaml:"topics"`
	LabelTopics []string `yaml:"label_topics"`
	// Group is the consumer group; replicas of vigil in one group share the partitions.
	Group    string `yaml:"group"`
	ClientID string `yaml:"client_id"`
	// MaxPollRecords bounds one batch, and so what is held in memory and not yet applied.
	MaxPollRecords int `yaml:"max_poll_records"`
	// StartAt is where a group without committed offsets starts: earliest or latest.
	StartAt string `yaml:"start_at"`
	// Seldon reads Seldon Core 2's model topics.
	Seldon *SeldonConfig `yaml:"seldon,omitempty"`
}

// SeldonConfig names the Seldon Core 2 models whose topics
// <topic_prefix>.<namespace>.model.<model>.inputs and .outputs are read: Open Inference
// Protocol requests and responses (protobuf, or JSON), keyed by request id.
type SeldonConfig struct {
	Namespace   string   `yaml:"namespace"`
	Models      []string `yaml:"models"`
	TopicPrefix string   `yaml:"topic_prefix"`
}

func (s *SeldonConfig) topic(model string, outputs bool) string {
	prefix := s.TopicPrefix
	if prefix == "" {
		prefix = "seldon"
	}
	suffix := "inputs"
	if outputs {
		suffix = "outputs"
	}
	return prefix + "." + s.Namespace + ".model." + model + "." + suffix
}

// topics lists every topic the section consumes.
func (c *Config) topics() []string {
	out := append(append([]string(nil), c.Topics...), c.LabelTopics...)
	if s := c.Seldon; s != nil {
		for _, m := range s.Models {
			out = append(out, s.topic(m, false), s.topic(m, true))
		}
	}
	return out
}

// UnmarshalYAML sets the defaults before the file's values are read.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = Config{Group: DefaultGroup, ClientID: "vigil", MaxPollRecords: DefaultMaxPollRecords, StartAt: "earliest"}
	type plain Config
	return unmarshal((*plain)(c))
}

// Validate checks the section; at names it in errors.
func (c *Config) Validate(at string) error {
	switch {
	case len(c.Brokers) == 0:
		return yamlconf.FieldErr(at+".brokers", "at least one broker is required")
	case len(c.Topics) == 0 && len(c.LabelTopics) == 0 && c.Seldon == nil:
		return yamlconf.FieldErr(at+".topics", "at least one of topics, label_topics and seldon is required")
	case c.Seldon != nil && (c.Seldon.Namespace == "" || len(c.Seldon.Models) == 0):
		return yamlconf.FieldErr(at+".seldon", "namespace and models are required")
	case c.Group == "":
		return yamlconf.FieldErr(at+".group", "is required")
	case c.MaxPollRecords <= 0:
		return yamlconf.FieldErr(at+".max_poll_records", "must be positive")
	case c.StartAt != "earliest" && c.StartAt != "latest":
		return yamlconf.FieldErr(at+".start_at", "%q is not one of earliest, latest", c.StartAt)
	}
	seen := map[string]bool{}
	for _, t := range c.topics() {
		if seen[t] {
			return yamlconf.FieldErr(at, "topic %q is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// Result is what the sink did with a body.
type Result struct {
	Accepted, Rejected int
}

// ErrRejected wraps a sink error for a body that will never be accepted (nothing usable in
// it): the records are counted and committed, not retried.
var ErrRejected = errors.New("rejected")

// Sink applies a body (NDJSON unless json is set: one JSON object or array) of labels or
// predictions and returns once they are applied.
type Sink func(ctx context.Context, labels, json bool, body []byte) (Result, error)

// Partition names one partition of a topic.
type Partition struct {
	Topic     string
	Partition int32
}

// Options configure a Consumer.
type Options struct {
	Config Config
	Sink   Sink
	// BeforeCommit runs after a batch is applied and before its offsets are committed:
	// the place for a store to make the batch durable. An error keeps the offsets
	// uncommitted and the batch is retried.
	BeforeCommit func(ctx context.Context) error
	// Applied is told the last applied offset of each partition of every batch.
	Applied func(p Partition, offset int64)
	// SeldonSink takes a record of a Seldon Core 2 topic: the model's request (response
	// false) or response, keyed by request id. It returns once the record is handed on;
	// an error wrapping ErrRejected counts the record rejected and commits past it.
	SeldonSink func(ctx context.Context, model string, response bool, key string, value []byte) error
	// Resume gives the last applied offsets known from a previous run (a store's); records
	// at or below them are skipped.
	Resume     map[Partition]int64
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// ExtraOpts are passed to the client last (tests: short timeouts).
	ExtraOpts []kgo.Opt
}

// Consumer is a running Kafka source.
type Consumer struct {
	opts    Options
	cl      *kgo.Client
	labels  map[string]bool
	seldon  map[string]seldonTopic
	applied map[Partition]int64
	logger  *slog.Logger

	records  *prometheus.CounterVec
	batches  prometheus.Counter
	retries  prometheus.Counter
	commitKO prometheus.Counter
}

type seldonTopic struct {
	model    string
	response bool
}

// New connects the client (lazily: brokers are dialled by Run).
func New(opts Options) (*Consumer, error) {
	cfg := opts.Config
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	start := kgo.NewOffset().AtStart()
	if cfg.StartAt == "latest" {
		start = kgo.NewOffset().AtEnd()
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.topics()...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(start),
		// Bound what the client buffers ahead of the batch being applied.
		kgo.FetchMaxBytes(16 << 20),
		kgo.MaxConcurrentFetches(2),
	}
	kopts = append(kopts, opts.ExtraOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	c := &Consumer{
		opts: opts, cl: cl, labels: map[string]bool{}, seldon: map[string]seldonTopic{}, applied: map[Partition]int64{},
		logger: opts.Logger,
	}
	for _, t := range cfg.LabelTopics {
		c.labels[t] = true
	}
	if s := cfg.Seldon; s != nil {
		if opts.SeldonSink == nil {
			return nil, errors.New("kafka: seldon topics need a SeldonSink")
		}
		for _, m := range s.Models {
			c.seldon[s.topic(m, false)] = seldonTopic{model: m}
			c.seldon[s.topic(m, true)] = seldonTopic{model: m, response: true}
		}
	}
	for p, o := range opts.Resume {
		c.applied[p] = o
	}
	f := promauto.With(opts.Registerer)
	c.records = f.NewCounterVec(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "kafka", Name: "records_total",
		Help: "Kafka records consumed, by topic and result: applied (handed to ingestion), rejected (nothing usable in it), duplicate (at or below an offset already applied)."},
		[]string{"topic", "result"})
	c.batches = f.NewCounter(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "kafka", Name: "batches_committed_total",
		Help: "Batches applied and committed."})
	c.retries = f.NewCounter(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "kafka", Name: "apply_retries_total",
		Help: "Batches whose ingestion or store sync failed and was retried; their offsets stay uncommitted until it succeeds."})
	c.commitKO = f.NewCounter(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "kafka", Name: "commit_failures_total",
		Help: "Offset commits that failed; the records will be delivered again and skipped as duplicates."})
	for _, t := range cfg.topics() {
		for _, r := range []string{"applied", "rejected", "duplicate"} {
			c.records.WithLabelValues(t, r)
		}
	}
	return c, nil
}

// Run consumes until ctx ends; the batch in hand is applied and committed first, then the
// client leaves the group.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.cl.Close()
	for {
		fetches := c.cl.PollRecords(ctx, c.opts.Config.MaxPollRecords)
		if ctx.Err() != nil {
			c.cl.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			c.logger.Warn("kafka fetch", "topic", topic, "partition", p, "err", err)
		})
		recs := fetches.Records()
		if len(recs) > 0 {
			if err := c.process(context.WithoutCancel(ctx), ctx, recs); err != nil {
				c.logger.Warn("kafka batch left uncommitted", "err", err)
			}
		}
		c.cl.AllowRebalance()
	}
}

// process applies a batch and commits it, retrying a failing sink or store until stop ends.
// Applying uses work (never cancelled mid-batch) so an accepted batch is not cut in half.
func (c *Consumer) process(work, stop context.Context, recs []*kgo.Record) error {
	fresh := recs[:0:0]
	for _, r := range recs {
		p := Partition{r.Topic, r.Partition}
		if last, ok := c.applied[p]; ok && r.Offset <= last {
			c.records.WithLabelValues(r.Topic, "duplicate").Inc()
			continue
		}
		fresh = append(fresh, r)
	}
	backoff := 100 * time.Millisecond
	applied := false
	for {
		var err error
		if !applied {
			// Applied once, a batch is never applied again: only the sync is retried.
			err = c.apply(work, fresh)
			applied = err == nil
		}
		if err == nil && c.opts.BeforeCommit != nil {
			err = c.opts.BeforeCommit(work)
		}
		if err == nil {
			break
		}
		c.retries.Inc()
		c.logger.Warn("kafka batch not applied; retrying", "records", len(fresh), "err", err)
		select {
		case <-stop.Done():
			return fmt.Errorf("stopping with a batch not applied: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	for _, r := range fresh {
		p := Partition{r.Topic, r.Partition}
		if last, ok := c.applied[p]; !ok || r.Offset > last {
			c.applied[p] = r.Offset
		}
	}
	if c.opts.Applied != nil {
		for p, o := range c.applied {
			c.opts.Applied(p, o)
		}
	}
	if err := c.cl.CommitRecords(work, recs...); err != nil {
		c.commitKO.Inc()
		return fmt.Errorf("commit offsets: %w", err)
	}
	c.batches.Inc()
	return nil
}

// apply hands the batch to the sink: NDJSON records of each kind together, JSON arrays on
// their own. Records of a kind whose body is refused as a whole are counted rejected.
func (c *Consumer) apply(ctx context.Context, recs []*kgo.Record) error {
	var preds, labels bytes.Buffer
	var predTopics, labelTopics map[string]int
	add := func(m *map[string]int, t string) {
		if *m == nil {
			*m = map[string]int{}
		}
		(*m)[t]++
	}
	for _, r := range recs {
		if st, ok := c.seldon[r.Topic]; ok {
			err := c.opts.SeldonSink(ctx, st.model, st.response, string(r.Key), r.Value)
			result := "applied"
			if errors.Is(err, ErrRejected) {
				result, err = "rejected", nil
			}
			if err != nil {
				return err
			}
			c.records.WithLabelValues(r.Topic, result).Inc()
			continue
		}
		v := bytes.TrimSpace(r.Value)
		isLabel := c.labels[r.Topic]
		if len(v) > 0 && v[0] == '[' {
			if err := c.send(ctx, isLabel, true, v, map[string]int{r.Topic: 1}); err != nil {
				return err
			}
			continue
		}
		if isLabel {
			labels.Write(v)
			labels.WriteByte('\n')
			add(&labelTopics, r.Topic)
		} else {
			preds.Write(v)
			preds.WriteByte('\n')
			add(&predTopics, r.Topic)
		}
	}
	if preds.Len() > 0 {
		if err := c.send(ctx, false, false, preds.Bytes(), predTopics); err != nil {
			return err
		}
	}
	if labels.Len() > 0 {
		return c.send(ctx, true, false, labels.Bytes(), labelTopics)
	}
	return nil
}

func (c *Consumer) send(ctx context.Context, labels, json bool, body []byte, topics map[string]int) error {
	_, err := c.opts.Sink(ctx, labels, json, body)
	result := "applied"
	if errors.Is(err, ErrRejected) {
		result, err = "rejected", nil
	}
	if err != nil {
		return err
	}
	for t, n := range topics {
		c.records.WithLabelValues(t, result).Add(float64(n))
	}
	return nil
}
