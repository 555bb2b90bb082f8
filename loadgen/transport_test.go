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

	mu            sync.Mutex
	preds, labels int
	ids           map[string]bool
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
		require.Zero(f.t, len(events)%2, "a request and a response per prediction")
		for i := 0; i < len(events); i += 2 {
			req, resp := events[i], events[i+1]
			require.Equal(f.t, cloudevents.TypeKServeRequest, req.Type)
			require.Equal(f.t, cloudevents.TypeKServeResponse, resp.Type)
			require.Equal(f.t, req.ID, resp.ID, "KServe pairs by ce-id")
			require.Equal(f.t, "lg", req.Extension("inferenceservicename"))
			var in struct {
				Instances []map[string]any `json:"instances"`
			}
			require.NoError(f.t, json.Unmarshal(req.Data, &in))
			require.Len(f.t, in.Instances, 1)
			require.Len(f.t, in.Instances[0], testSpec().Features)
			var out struct {
				Predictions [][]float64 `json:"predictions"`
			}
			require.NoError(f.t, json.Unmarshal(resp.Data, &out), string(resp.Data))
			require.Len(f.t, out.Predictions, 1)
			require.Len(f.t, out.Predictions[0], 2, "class probabilities")
			require.InDelta(f.t, 1, out.Predictions[0][0]+out.Predictions[0][1], 1e-9)
			if f.ids == nil {
				f.ids = map[string]bool{}
			}
			require.False(f.t, f.ids[req.ID], "ids are unique")
			f.ids[req.ID] = true
			f.preds++
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
