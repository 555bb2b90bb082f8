package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/cloudevents"
)

// fakeCounters is a vigil that takes CloudEvents batches and labels and exports
// vigil_events_total and vigil_events_rejected_total as count says, from what it was
// sent: the test decides what vigil made of it.
type fakeCounters struct {
	t *testing.T
	// count maps the predictions and labels received so far to the counters exported.
	count func(preds, labels int) (accepted, labelsAccepted, rejected int)
	// noMetrics answers /metrics 404.
	noMetrics bool
	// queueOnly, when positive, queues only the first queueOnly events of each batch the
	// first time it comes and answers 429 with the counts, as vigil with a full queue.
	queueOnly int

	mu            sync.Mutex
	preds, labels int
	ids           map[string]bool
	half          map[string]string // ids with one event of their pair so far: its type
	throttled     map[string]bool   // batches (by their first id) answered 429 once
	scrapes       int
}

func (f *fakeCounters) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	require.NoError(f.t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/api/v1/cloudevents":
		events, err := cloudevents.ParseHTTP(r.Header, body)
		require.NoError(f.t, err)
		queued := len(events)
		if f.queueOnly > 0 && queued > f.queueOnly && !f.throttled[events[0].ID] {
			if f.throttled == nil {
				f.throttled = map[string]bool{}
			}
			f.throttled[events[0].ID] = true
			queued = f.queueOnly
		}
		for _, e := range events[:queued] {
			f.take(e)
		}
		if queued < len(events) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"error":"cloudevents queue is full","queued":%d,"refused":%d}`, queued, len(events)-queued)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "/api/v1/labels":
		n := strings.Count(string(body), "\n")
		f.labels += n
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%d,"rejected":0}`, n)
	case "/metrics":
		if f.noMetrics {
			http.NotFound(w, r)
			return
		}
		f.scrapes++
		acc, lab, rej := f.count(f.preds, f.labels)
		fmt.Fprintf(w, `# HELP vigil_events_total Events accepted.
# TYPE vigil_events_total counter
vigil_events_total{kind="prediction",model="lg"} %d
vigil_events_total{kind="label",model="lg"} %d
vigil_events_total{kind="prediction",model="other"} 12345
# HELP vigil_events_rejected_total Records rejected.
# TYPE vigil_events_rejected_total counter
vigil_events_rejected_total{model="lg",reason="invalid"} %d
vigil_events_rejected_total{model="other",reason="invalid"} 999
`, 1000+acc, 500+lab, 7+rej)
	default:
		f.t.Errorf("unexpected path %s", r.URL.Path)
	}
}

// take checks one queued event and counts a prediction once both events of its pair came,
// in either order and in any requests.
func (f *fakeCounters) take(e cloudevents.Event) {
	require.Equal(f.t, "lg", e.Extension("inferenceservicename"))
	switch e.Type {
	case cloudevents.TypeKServeRequest:
		var in struct {
			Instances []map[string]any `json:"instances"`
		}
		require.NoError(f.t, json.Unmarshal(e.Data, &in))
		require.Len(f.t, in.Instances, 1)
		require.Len(f.t, in.Instances[0], testSpec().Features)
	case cloudevents.TypeKServeResponse:
		var out struct {
			Predictions [][]float64 `json:"predictions"`
		}
		require.NoError(f.t, json.Unmarshal(e.Data, &out), string(e.Data))
		require.Len(f.t, out.Predictions, 1)
		require.Len(f.t, out.Predictions[0], 2, "class probabilities")
		require.InDelta(f.t, 1, out.Predictions[0][0]+out.Predictions[0][1], 1e-9)
	default:
		f.t.Errorf("event type %q", e.Type)
	}
	if f.half == nil {
		f.ids, f.half = map[string]bool{}, map[string]string{}
	}
	require.False(f.t, f.ids[e.ID], "ids are unique, and no event is sent twice")
	other, ok := f.half[e.ID]
	if !ok {
		f.half[e.ID] = e.Type
		return
	}
	require.NotEqual(f.t, other, e.Type, "a request and a response per prediction (KServe pairs by ce-id)")
	delete(f.half, e.ID)
	f.ids[e.ID] = true
	f.preds++
}

func TestRunCloudEventsResendsTheRefusedTail(t *testing.T) {
	// Each request of more than 301 events has its first 301 queued the first time it comes
	// and is answered 429: a batch of 500 predictions (1,000 events) goes in as 301 (the
	// request of prediction 151 in, its response not), 301, 301 and the last 97.
	fv := &fakeCounters{t: t, queueOnly: 301, count: func(p, l int) (int, int, int) { return p, l, 0 }}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	clock := newFakeClock()
	start := clock.Now()
	rep, err := Run(t.Context(), Options{
		URL: srv.URL, Spec: testSpec(), Transport: TransportCloudEvents, Count: 2500, BatchSize: 500, Concurrency: 1,
		LabelRatio: 1, Settle: 5 * time.Second, Now: clock.Now, Sleep: clock.Sleep,
	})
	require.NoError(t, err)
	p := rep.Predictions
	require.Equal(t, int64(2500), p.Sent)
	require.Equal(t, int64(2500), p.Accepted)
	require.Zero(t, p.Failed)
	require.Equal(t, int64(15), p.Throttled, "three 429s per batch")
	require.Equal(t, int64(5), p.Requests, "429s are not requests, as over HTTP NDJSON")
	require.True(t, rep.OK(), "%+v", p.Errors)
	require.Len(t, fv.ids, 2500)
	require.Empty(t, fv.half, "every pair completed")
	require.GreaterOrEqual(t, clock.Now().Sub(start), 15*time.Second, "each resend waited Retry-After")
}

func TestRefusedTail(t *testing.T) {
	body := []byte(`[{"a":1},{"b":2},{"c":3}]`)
	offs := []int{1, 9, 17}
	tail, tailOffs, ok := refusedTail([]byte(`{"error":"full","queued":1,"refused":2}`), body, offs)
	require.True(t, ok)
	require.Equal(t, `[{"b":2},{"c":3}]`, string(tail))
	require.Equal(t, []int{1, 9}, tailOffs)
	for _, answer := range []string{
		`{"error":"full"}`,                        // an older vigil: no counts
		`{"error":"full","queued":1,"refused":1}`, // does not add up to the batch
		`{"error":"full","queued":-1,"refused":4}`,
		`{"error":"full","queued":3,"refused":0}`,
		`not json`,
	} {
		_, _, ok := refusedTail([]byte(answer), body, offs)
		require.False(t, ok, answer)
	}
}

func TestRunCloudEventsCountsWhatVigilCounted(t *testing.T) {
	for _, tc := range []struct {
		name                                 string
		count                                func(preds, labels int) (int, int, int)
		accepted, rejected, failed, labelAcc int64
		settleSeconds                        float64
		errContains                          string
	}{
		{
			name:     "everything counted",
			count:    func(p, l int) (int, int, int) { return p, l, 0 },
			accepted: 2500, labelAcc: 2500,
		},
		{
			// vigil has counted nothing new at the first read after the run and all of
			// it at the second: the run waits one poll for it.
			name: "counted late",
			count: func() func(p, l int) (int, int, int) {
				reads := 0
				return func(p, l int) (int, int, int) {
					reads++
					if reads <= 2 { // the read before the run and the first after
						return 0, 0, 0
					}
					return p, l, 0
				}
			}(),
			accepted: 2500, labelAcc: 2500, settleSeconds: 0.1,
		},
		{
			name:     "some rejected, some never counted",
			count:    func(p, l int) (int, int, int) { return max(0, p-30), l, min(p, 20) },
			accepted: 2470, rejected: 20, failed: 10, labelAcc: 2500, settleSeconds: 5,
			errContains: "vigil had counted 4990 of the 5000 events handed to it",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fv := &fakeCounters{t: t, count: tc.count}
			srv := httptest.NewServer(fv)
			defer srv.Close()
			clock := newFakeClock()
			rep, err := Run(t.Context(), Options{
				URL: srv.URL, Spec: testSpec(), Transport: TransportCloudEvents, Count: 2500, BatchSize: 500, Concurrency: 2,
				LabelRatio: 1, Settle: 5 * time.Second, Now: clock.Now, Sleep: clock.Sleep,
			})
			require.NoError(t, err)
			require.Equal(t, TransportCloudEvents, rep.Transport)
			p := rep.Predictions
			require.Equal(t, int64(2500), p.Sent)
			require.Equal(t, tc.accepted, p.Accepted)
			require.Equal(t, tc.rejected, p.Rejected)
			require.Equal(t, tc.failed, p.Failed)
			require.Equal(t, int64(5), p.Requests)
			require.Equal(t, tc.labelAcc, rep.Labels.Accepted)
			require.InDelta(t, tc.settleSeconds, rep.SettleSeconds, 1e-9)
			require.Equal(t, tc.failed == 0 && tc.rejected == 0, rep.OK())
			if tc.errContains != "" {
				require.Len(t, p.Errors, 1)
				require.Contains(t, p.Errors[0], tc.errContains)
			} else {
				require.Empty(t, p.Errors)
			}
			require.Len(t, fv.ids, 2500)
		})
	}
}

func TestRunAsyncNeedsVigilsCounters(t *testing.T) {
	fv := &fakeCounters{t: t, noMetrics: true}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	_, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Transport: TransportCloudEvents, Count: 10})
	require.ErrorContains(t, err, "over cloudevents vigil's counters tell what it accepted")
	require.ErrorContains(t, err, "404 Not Found")
	require.Zero(t, fv.preds, "nothing is sent that could not be counted")
}

func TestRunKafkaNeedsBrokers(t *testing.T) {
	fv := &fakeCounters{t: t}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	_, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Transport: TransportKafka, Count: 10})
	require.ErrorContains(t, err, "kafka: give the brokers")
	_, err = Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Transport: "grpc", Count: 10})
	require.ErrorContains(t, err, `transport "grpc": want http, kafka or cloudevents`)
}

func TestSourceConfig(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, ""},
		{Options{Transport: TransportHTTP}, ""},
		{Options{Transport: TransportCloudEvents}, "cloudevents: {queue_size: 200000}\n"},
		{Options{Transport: TransportKafka, Kafka: Kafka{Brokers: []string{"k1:9092", "k2:9092"}}},
			`kafka: {brokers: ["k1:9092", "k2:9092"], topics: ["vigil-predictions"], label_topics: ["vigil-labels"]}` + "\n"},
		{Options{Transport: TransportKafka, Kafka: Kafka{Brokers: []string{"k:9092"}, Topic: "p", LabelTopic: "l"}},
			`kafka: {brokers: ["k:9092"], topics: ["p"], label_topics: ["l"]}` + "\n"},
	} {
		require.Equal(t, tc.want, tc.opts.SourceConfig())
	}
}
