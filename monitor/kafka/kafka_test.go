package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	predTopic  = "predictions"
	labelTopic = "labels"
	group      = "vigil-test"
)

// newCluster starts franz-go's in-process Kafka with 4 partitions per topic.
func newCluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, predTopic, labelTopic))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// produce writes n prediction records with ids from start, keyed by model as vigil's
// scaling section asks producers to do; every tenth record is a two-line NDJSON value.
func produce(t *testing.T, brokers []string, start, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(predTopic))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	for i := start; i < start+n; {
		model := fmt.Sprintf("m%d", i%7)
		v := fmt.Appendf(nil, `{"model":%q,"id":"%d","prediction":1}`, model, i)
		i++
		if i%10 == 0 && i < start+n {
			v = fmt.Appendf(v, "\n"+`{"model":%q,"id":"%d","prediction":0}`, model, i)
			i++
		}
		recs = append(recs, &kgo.Record{Key: []byte(model), Value: v})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
}

// countingSink records every id it applies, across consumers.
type countingSink struct {
	mu       sync.Mutex
	seen     map[string]int
	byMember map[string]int
	fail     int // calls to fail before succeeding
	delay    time.Duration
}

func newCountingSink() *countingSink {
	return &countingSink{seen: map[string]int{}, byMember: map[string]int{}}
}

func (s *countingSink) forMember(name string) Sink {
	return func(_ context.Context, _, isJSON bool, body []byte) (Result, error) {
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail > 0 {
			s.fail--
			return Result{}, errors.New("store unavailable")
		}
		if !bytes.HasPrefix(body, []byte("{")) && !isJSON {
			return Result{}, fmt.Errorf("%w: not JSON", ErrRejected)
		}
		n := 0
		for line := range bytes.Lines(body) {
			var ev struct{ ID string }
			if json.Unmarshal(line, &ev) != nil {
				continue
			}
			s.seen[ev.ID]++
			s.byMember[name]++
			n++
		}
		return Result{Accepted: n}, nil
	}
}

func (s *countingSink) stats() (unique, total int, dup []string, byMember map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, n := range s.seen {
		unique++
		total += n
		if n > 1 {
			dup = append(dup, id)
		}
	}
	m := map[string]int{}
	for k, v := range s.byMember {
		m[k] = v
	}
	return unique, total, dup, m
}

// fastOpts make group membership and fetching quick enough for tests.
var fastOpts = []kgo.Opt{
	kgo.FetchMaxWait(50 * time.Millisecond),
	kgo.HeartbeatInterval(100 * time.Millisecond),
	kgo.SessionTimeout(6 * time.Second),
	kgo.RebalanceTimeout(10 * time.Second),
}

type running struct {
	c      *Consumer
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func startConsumer(t *testing.T, brokers []string, sink Sink, extra ...kgo.Opt) *running {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c, err := New(Options{
		Config:     Config{Brokers: brokers, Topics: []string{predTopic}, LabelTopics: []string{labelTopic}, Group: group, ClientID: "t", MaxPollRecords: 50, StartAt: "earliest"},
		Sink:       sink,
		Registerer: reg,
		ExtraOpts:  append(append([]kgo.Opt(nil), fastOpts...), extra...),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("consumer did not stop")
	}
}

// committed sums the group's committed offsets over the predictions topic; -1 while the
// group cannot be asked (it does not exist yet).
func committed(t *testing.T, brokers []string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), group)
	if err != nil {
		return -1
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == predTopic {
			sum += o.At
		}
	})
	return sum
}

func recordCount(start, n int) int {
	// produce packs two events into every tenth record.
	cl := 0
	for i := start; i < start+n; {
		i++
		if i%10 == 0 && i < start+n {
			i++
		}
		cl++
	}
	return cl
}

func TestRestartNeitherLosesNorDoubleCounts(t *testing.T) {
	brokers := newCluster(t)
	sink := newCountingSink()
	produce(t, brokers, 0, 400)
	a := startConsumer(t, brokers, sink.forMember("a"))
	require.Eventually(t, func() bool { u, _, _, _ := sink.stats(); return u >= 100 }, 30*time.Second, 10*time.Millisecond)
	a.stop(t)
	unique, total, dup, _ := sink.stats()
	require.Empty(t, dup)
	require.Equal(t, unique, total)
	// Everything applied before the stop is committed: the offsets count the records.
	seenRecords := committed(t, brokers)
	require.Positive(t, seenRecords)

	produce(t, brokers, 400, 400)
	startConsumer(t, brokers, sink.forMember("b"))
	require.Eventually(t, func() bool { u, _, _, _ := sink.stats(); return u == 800 }, 30*time.Second, 10*time.Millisecond)
	unique, total, dup, _ = sink.stats()
	require.Empty(t, dup, "no event is applied twice across the restart")
	require.Equal(t, 800, unique)
	require.Equal(t, 800, total)
	require.Eventually(t, func() bool {
		return committed(t, brokers) == int64(recordCount(0, 400)+recordCount(400, 400))
	}, 10*time.Second, 20*time.Millisecond)
}

func TestRebalanceNeitherLosesNorDoubleCounts(t *testing.T) {
	brokers := newCluster(t)
	sink := newCountingSink()
	sink.delay = 10 * time.Millisecond // batches take a while, so the rebalance lands mid-stream
	const first, second = 3000, 600
	produce(t, brokers, 0, first)
	startConsumer(t, brokers, sink.forMember("a"))
	require.Eventually(t, func() bool { u, _, _, _ := sink.stats(); return u >= 50 }, 30*time.Second, 5*time.Millisecond)
	assigned := make(chan struct{})
	var once sync.Once
	startConsumer(t, brokers, sink.forMember("b"), kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
		if len(m[predTopic]) > 0 {
			once.Do(func() { close(assigned) })
		}
	})) // joins: the group rebalances while a is mid-stream
	select {
	case <-assigned:
	case <-time.After(30 * time.Second):
		t.Fatal("the second member never got partitions")
	}
	u, _, _, _ := sink.stats()
	require.Less(t, u, first, "the rebalance came after a had applied everything; the test needs it mid-stream")
	produce(t, brokers, first, second)
	require.Eventually(t, func() bool { u, _, _, _ := sink.stats(); return u == first+second }, 60*time.Second, 10*time.Millisecond)
	unique, total, dup, byMember := sink.stats()
	require.Empty(t, dup, "no event is applied twice across the rebalance")
	require.Equal(t, first+second, unique)
	require.Equal(t, first+second, total)
	require.Positive(t, byMember["b"], "the second member took partitions over: %v", byMember)
	require.Eventually(t, func() bool {
		return committed(t, brokers) == int64(recordCount(0, first)+recordCount(first, second))
	}, 10*time.Second, 20*time.Millisecond)
}

func TestFailingSinkIsRetriedNotCommitted(t *testing.T) {
	brokers := newCluster(t)
	sink := newCountingSink()
	sink.fail = 2
	produce(t, brokers, 0, 30)
	r := startConsumer(t, brokers, sink.forMember("a"))
	require.Eventually(t, func() bool { u, _, _, _ := sink.stats(); return u == 30 }, 30*time.Second, 10*time.Millisecond)
	_, total, _, _ := sink.stats()
	require.Equal(t, 30, total)
	require.Equal(t, 2.0, testutil.ToFloat64(r.c.retries))
}

func TestFailingSyncRetriesOnlyTheSync(t *testing.T) {
	brokers := newCluster(t)
	sink := newCountingSink()
	produce(t, brokers, 0, 30)
	var syncs int
	var mu sync.Mutex
	c, err := New(Options{
		Config: Config{Brokers: brokers, Topics: []string{predTopic}, Group: group, MaxPollRecords: 1000, StartAt: "earliest"},
		Sink:   sink.forMember("a"), Registerer: prometheus.NewPedanticRegistry(), ExtraOpts: fastOpts,
		BeforeCommit: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			syncs++
			if syncs <= 2 {
				return errors.New("wal: disk full")
			}
			return nil
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	require.Eventually(t, func() bool { return committed(t, brokers) == int64(recordCount(0, 30)) }, 30*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	unique, total, dup, _ := sink.stats()
	require.Empty(t, dup, "a failed sync must not apply the batch again")
	require.Equal(t, 30, unique)
	require.Equal(t, 30, total)
	require.GreaterOrEqual(t, testutil.ToFloat64(c.retries), 2.0)
}

func TestRejectedRecordIsCountedAndCommitted(t *testing.T) {
	brokers := newCluster(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	defer cl.Close()
	// Pin both records to one partition so their order is fixed.
	require.NoError(t, cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: predTopic, Partition: 0, Value: []byte("not json")},
		&kgo.Record{Topic: labelTopic, Partition: 0, Value: []byte(`[{"model":"m","id":"1","label":1}]`)},
	).FirstErr())
	sink := newCountingSink()
	r := startConsumer(t, brokers, sink.forMember("a"))
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(r.c.records.WithLabelValues(predTopic, "rejected")) == 1 &&
			testutil.ToFloat64(r.c.records.WithLabelValues(labelTopic, "applied")) == 1
	}, 30*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return committed(t, brokers) == 1 }, 10*time.Second, 20*time.Millisecond)
}

func TestDuplicateOffsetsSkipped(t *testing.T) {
	brokers := newCluster(t)
	produce(t, brokers, 0, 20)
	// A previous run's store says everything up to offset 1000 of every partition is in.
	resume := map[Partition]int64{}
	for p := range int32(4) {
		resume[Partition{predTopic, p}] = 1000
	}
	sink := newCountingSink()
	reg := prometheus.NewPedanticRegistry()
	c, err := New(Options{
		Config: Config{Brokers: brokers, Topics: []string{predTopic}, Group: group, MaxPollRecords: 50, StartAt: "earliest"},
		Sink:   sink.forMember("a"), Registerer: reg, Resume: resume, ExtraOpts: fastOpts,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(c.records.WithLabelValues(predTopic, "duplicate")) == float64(recordCount(0, 20))
	}, 30*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	u, _, _, _ := sink.stats()
	require.Zero(t, u)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no brokers", Config{Topics: []string{"a"}, Group: "g", MaxPollRecords: 1, StartAt: "earliest"}, "brokers"},
		{"no topics", Config{Brokers: []string{"b"}, Group: "g", MaxPollRecords: 1, StartAt: "earliest"}, "topics"},
		{"twice", Config{Brokers: []string{"b"}, Topics: []string{"a"}, LabelTopics: []string{"a"}, Group: "g", MaxPollRecords: 1, StartAt: "earliest"}, "twice"},
		{"start", Config{Brokers: []string{"b"}, Topics: []string{"a"}, Group: "g", MaxPollRecords: 1, StartAt: "middle"}, "start_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.cfg.Validate("kafka"), tt.want)
		})
	}
}

func TestBrokerDownStopsCleanly(t *testing.T) {
	// A real address, then closed: nothing listens there any more.
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	dead := c.ListenAddrs()
	c.Close()
	sink := newCountingSink()
	r := startConsumer(t, dead, sink.forMember("a"))
	time.Sleep(300 * time.Millisecond) // let it try to dial
	start := time.Now()
	r.stop(t)
	require.Less(t, time.Since(start), 10*time.Second, "a consumer that cannot reach Kafka must still stop promptly")
	u, _, _, _ := sink.stats()
	require.Zero(t, u)
}
