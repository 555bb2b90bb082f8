package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Transports: how Run sends the load to vigil.
const (
	// TransportHTTP posts NDJSON batches to /api/v1/predictions and /api/v1/labels; vigil's
	// answer to each request says how many of its events were accepted.
	TransportHTTP = "http"
	// TransportKafka produces one record per event to Kafka topics vigil consumes.
	TransportKafka = "kafka"
	// TransportCloudEvents posts predictions to /api/v1/cloudevents as the KServe payload
	// logger's request and response events (batched mode); labels go to /api/v1/labels.
	TransportCloudEvents = "cloudevents"
)

// Kafka is where the kafka transport produces.
type Kafka struct {
	// Brokers are the seed brokers; required.
	Brokers []string
	// Topic and LabelTopic receive predictions and labels; default vigil-predictions
	// and vigil-labels.
	Topic      string
	LabelTopic string
	// Opts are added to the producer's options (tests shorten its timeouts with them).
	Opts []kgo.Opt
}

// DefaultSettle is how long Run waits by default, after its last send over Kafka or
// CloudEvents, for vigil to count every event it was handed.
const DefaultSettle = 30 * time.Second

// SourceConfig is the part of a vigil config that makes vigil read what Run sends over
// o.Transport: a kafka section naming the topics, or a cloudevents section. It is empty
// for HTTP, which needs none.
func (o *Options) SourceConfig() string {
	switch o.Transport {
	case TransportKafka:
		k := o.Kafka.withDefaults()
		quoted := make([]string, len(k.Brokers))
		for i, b := range k.Brokers {
			quoted[i] = fmt.Sprintf("%q", b)
		}
		return fmt.Sprintf("kafka: {brokers: [%s], topics: [%q], label_topics: [%q]}\n",
			strings.Join(quoted, ", "), k.Topic, k.LabelTopic)
	case TransportCloudEvents:
		// Each batch is two events per prediction: the default queue of 10,000 holds the
		// batches of a few requests in flight, this one those of many.
		return "cloudevents: {queue_size: 200000}\n"
	}
	return ""
}

func (k Kafka) withDefaults() Kafka {
	if k.Topic == "" {
		k.Topic = "vigil-predictions"
	}
	if k.LabelTopic == "" {
		k.LabelTopic = "vigil-labels"
	}
	return k
}

// async reports whether vigil's answer to a send says only that the events were handed
// over, not whether they were accepted: then Run reads vigil's counters.
func (r *runner) async() bool { return r.opts.Transport != TransportHTTP }

// produce sends each NDJSON line of body as one record to topic and waits for the
// brokers to acknowledge them all. It returns the records acknowledged and how long that
// took.
func (r *runner) produce(ctx context.Context, t *kindTally, w *worker, topic string, body []byte) (int64, time.Duration) {
	w.recs = w.recs[:0]
	for line := range bytes.Lines(body) {
		w.recs = append(w.recs, kgo.Record{Topic: topic, Value: bytes.TrimSuffix(line, []byte{'\n'})})
	}
	w.ptrs = w.ptrs[:0]
	for i := range w.recs {
		w.ptrs = append(w.ptrs, &w.recs[i])
	}
	start := r.opts.Now()
	res := r.kafka.ProduceSync(ctx, w.ptrs...)
	lat := r.opts.Now().Sub(start)
	var acked int64
	for _, p := range res {
		if p.Err != nil {
			if ctx.Err() == nil {
				t.addError(fmt.Sprintf("produce to %s: %v", topic, p.Err))
			}
			continue
		}
		acked++
	}
	n := int64(len(res))
	t.requests.Add(1)
	t.sent.Add(n)
	t.accepted.Add(acked) // handed over; settle replaces it with what vigil counted
	t.failed.Add(n - acked)
	return acked, lat
}

// counts are vigil's counters of the run's models.
type counts struct {
	predictions, labels, rejected float64
}

// readCounts reads vigil_events_total and vigil_events_rejected_total of the run's
// models (and rejections of undeclared ones, model="") from vigil's /metrics.
func (r *runner) readCounts(ctx context.Context) (counts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.metricsURL, nil)
	if err != nil {
		return counts{}, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := r.client.Do(req)
	if err != nil {
		return counts{}, fmt.Errorf("read vigil's counters: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return counts{}, fmt.Errorf("read vigil's counters: GET %s: %s", r.metricsURL, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return counts{}, fmt.Errorf("read vigil's counters from %s: %w", r.metricsURL, err)
	}
	var c counts
	for _, m := range fams["vigil_events_total"].GetMetric() {
		var name, kind string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "model":
				name = l.GetValue()
			case "kind":
				kind = l.GetValue()
			}
		}
		if _, ok := r.models[name]; !ok {
			continue
		}
		switch kind {
		case "prediction":
			c.predictions += m.GetCounter().GetValue()
		case "label":
			c.labels += m.GetCounter().GetValue()
		}
	}
	for _, m := range fams["vigil_events_rejected_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() != "model" {
				continue
			}
			if _, ok := r.models[l.GetValue()]; ok || l.GetValue() == "" {
				c.rejected += m.GetCounter().GetValue()
			}
		}
	}
	return c, nil
}

// settle waits until vigil has counted every event handed to it since the run began
// (accepted or rejected), or opts.Settle has passed, and then writes vigil's counts into
// the tallies: what vigil never counted is failed. It returns when the last count was
// read.
func (r *runner) settle(ctx context.Context) time.Time {
	labelsAsync := r.opts.Transport == TransportKafka
	want := float64(r.pred.accepted.Load() + r.lab.accepted.Load())
	if !labelsAsync {
		want += float64(r.lab.rejected.Load()) // labels' rejections, counted by vigil too
	}
	deadline := r.opts.Now().Add(r.opts.Settle)
	var (
		got     counts
		readAt  time.Time
		lastErr error
	)
	for {
		c, err := r.readCounts(ctx)
		if err == nil {
			got, readAt, lastErr = c, r.opts.Now(), nil
			d := got.minus(r.before)
			if d.predictions+d.labels+d.rejected >= want {
				break
			}
		} else {
			lastErr = err
		}
		if !r.opts.Now().Before(deadline) || r.opts.Sleep(ctx, 100*time.Millisecond) != nil {
			break
		}
	}
	if readAt.IsZero() {
		// Not one count since the run began: nothing sent is known to be in.
		msg := "vigil's counters could not be read after the run"
		if lastErr != nil {
			msg = lastErr.Error()
		}
		for _, t := range []*kindTally{&r.pred, &r.lab} {
			if t == &r.lab && !labelsAsync {
				continue
			}
			t.failed.Store(t.sent.Load())
			t.accepted.Store(0)
			t.addError(msg)
		}
		return r.opts.Now()
	}
	d := got.minus(r.before)
	rejected := int64(d.rejected)
	if labelsAsync {
		// vigil's rejection counter does not say whether a prediction or a label was
		// refused: the labels vigil did not accept are counted as its rejections first.
		lab := &r.lab
		missing := max(0, lab.accepted.Load()-int64(d.labels))
		labRejected := min(missing, rejected)
		rejected -= labRejected
		r.count(lab, int64(d.labels), labRejected)
	} else {
		rejected -= r.lab.rejected.Load()
	}
	r.count(&r.pred, int64(d.predictions), max(0, rejected))
	if lastErr != nil {
		r.pred.addError(lastErr.Error())
	}
	if d.predictions+d.labels+d.rejected < want {
		r.pred.addError(fmt.Sprintf("after %s vigil had counted %.0f of the %.0f events handed to it; the rest are counted as failed (--settle waits longer)",
			r.opts.Settle, d.predictions+d.labels+d.rejected, want))
	}
	return readAt
}

// count sets a tally's outcome from vigil's counters: what was sent and neither accepted
// nor rejected failed.
func (r *runner) count(t *kindTally, accepted, rejected int64) {
	t.accepted.Store(accepted)
	t.rejected.Store(rejected)
	t.failed.Store(max(0, t.sent.Load()-accepted-rejected))
}

func (c counts) minus(b counts) counts {
	return counts{predictions: c.predictions - b.predictions, labels: c.labels - b.labels, rejected: c.rejected - b.rejected}
}

// newKafka returns the producer of the kafka transport.
func newKafka(k Kafka) (*kgo.Client, error) {
	if len(k.Brokers) == 0 {
		return nil, errors.New("kafka: give the brokers (--kafka-brokers)")
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID("vigil-loadgen"),
		// A batch is produced at once and waited for: lingering only delays it.
		kgo.ProducerLinger(0),
		kgo.MaxBufferedRecords(1 << 20),
		// A record that cannot be delivered (a topic that does not exist, brokers gone)
		// fails the batch instead of stalling the run.
		kgo.RecordDeliveryTimeout(time.Minute),
	}
	cl, err := kgo.NewClient(append(opts, k.Opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return cl, nil
}
