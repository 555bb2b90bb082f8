package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
)

// fakeClock is the run's clock: Sleep moves it forward at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept = append(c.slept, d)
	}
	return ctx.Err()
}

// received is one batch as the fake vigil saw it.
type received struct {
	at     time.Time
	ids    []string
	values map[string][]float64 // numeric feature → values
	cats   map[string][]string
}

// fakeVigil decodes batches with vigil's own decoder and answers as vigil does. reject
// (when set) says whether to reject the record at index i of a batch; status (when set)
// may answer a request with another status.
type fakeVigil struct {
	t      *testing.T
	now    func() time.Time
	reject func(i int) bool
	status func(req int) (int, http.Header, string)

	mu     sync.Mutex
	reqs   int
	preds  []received
	labels map[string]string // id → label
}

func (f *fakeVigil) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	require.NoError(f.t, err)
	require.Equal(f.t, "application/x-ndjson", r.Header.Get("Content-Type"))
	f.mu.Lock()
	f.reqs++
	req := f.reqs
	f.mu.Unlock()
	if f.status != nil {
		if code, h, msg := f.status(req); code != 0 {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":%q}`, msg)
			return
		}
	}
	dec := event.NewDecoder(event.Limits{})
	type recErr struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	}
	var accepted int
	errs := []recErr{}
	judge := func(i int) bool {
		if f.reject != nil && f.reject(i) {
			errs = append(errs, recErr{Index: i, Error: "rejected by the test"})
			return false
		}
		accepted++
		return true
	}
	var n int
	var decErrs []event.RecordError
	switch r.URL.Path {
	case "/api/v1/predictions":
		rec := received{values: map[string][]float64{}, cats: map[string][]string{}}
		if f.now != nil {
			rec.at = f.now()
		}
		n, decErrs, err = dec.Predictions(body, event.NDJSON, "", func(i int, p *event.Prediction) {
			if !judge(i) {
				return
			}
			rec.ids = append(rec.ids, strings.Clone(p.ID))
			for _, ft := range p.Features {
				if ft.Value.Kind == event.Number {
					rec.values[ft.Name] = append(rec.values[ft.Name], ft.Value.Num)
				} else {
					rec.cats[ft.Name] = append(rec.cats[ft.Name], strings.Clone(ft.Value.Str))
				}
			}
		})
		f.mu.Lock()
		f.preds = append(f.preds, rec)
		f.mu.Unlock()
	case "/api/v1/labels":
		n, decErrs, err = dec.Labels(body, event.NDJSON, "", func(i int, l *event.Label) {
			if judge(i) {
				f.mu.Lock()
				if f.labels == nil {
					f.labels = map[string]string{}
				}
				f.labels[strings.Clone(l.ID)] = l.Label.Class()
				f.mu.Unlock()
			}
		})
	default:
		f.t.Errorf("unexpected path %s", r.URL.Path)
	}
	require.NoError(f.t, err)
	require.Empty(f.t, decErrs, "the generated NDJSON must decode cleanly")
	status := http.StatusAccepted
	if accepted == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"accepted": accepted, "rejected": n - accepted, "errors": errs})
}

func (f *fakeVigil) predictionIDs() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := map[string]int{}
	for _, r := range f.preds {
		for _, id := range r.ids {
			ids[id]++
		}
	}
	return ids
}

func testSpec() Spec {
	return Spec{Model: "lg", Task: BinaryClassification, Features: 6, Categorical: 2, Categories: 4}
}

func TestRunCountsExactly(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		count                      int64
		batch, concurrency         int
		labels                     float64
		wantRequests, wantLabelled int64
	}{
		{"one batch", 10, 100, 1, 1, 1, 10},
		{"last batch short", 2500, 1000, 1, 1, 3, 2500},
		{"concurrent", 10000, 250, 8, 1, 40, 10000},
		{"no labels", 3000, 1000, 3, 0, 3, 0},
		{"some labels", 20000, 1000, 4, 0.25, 20, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fv := &fakeVigil{t: t}
			srv := httptest.NewServer(fv)
			defer srv.Close()
			rep, err := Run(t.Context(), Options{
				URL: srv.URL, Spec: testSpec(), Count: tc.count, BatchSize: tc.batch,
				Concurrency: tc.concurrency, LabelRatio: tc.labels, RunID: "t",
			})
			require.NoError(t, err)
			require.True(t, rep.OK(), "%+v", rep)
			require.Equal(t, tc.count, rep.Predictions.Sent)
			require.Equal(t, tc.count, rep.Predictions.Accepted)
			require.Equal(t, tc.wantRequests, rep.Predictions.Requests)
			require.Equal(t, int(tc.wantRequests), rep.Predictions.Latency.Count)
			ids := fv.predictionIDs()
			require.Len(t, ids, int(tc.count), "every id is sent once")
			for i := range tc.count {
				require.Equal(t, 1, ids["lg-t-"+strconv.FormatInt(i, 10)])
			}
			require.Equal(t, int64(len(fv.labels)), rep.Labels.Accepted)
			require.Equal(t, rep.Labels.Sent, rep.Labels.Accepted)
			if tc.wantLabelled >= 0 {
				require.Equal(t, tc.wantLabelled, rep.Labels.Accepted)
			} else {
				share := float64(rep.Labels.Accepted) / float64(tc.count)
				require.InDelta(t, tc.labels, share, 0.02)
			}
			for id := range fv.labels {
				require.Equal(t, 1, ids[id], "a label is only sent for a sent prediction")
			}
		})
	}
}

// TestRunSameDataAnyConcurrency: the data depends on the seed, not on timing.
func TestRunSameDataAnyConcurrency(t *testing.T) {
	collect := func(concurrency int, seed uint64) map[string]float64 {
		fv := &fakeVigil{t: t}
		srv := httptest.NewServer(fv)
		defer srv.Close()
		_, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Count: 2000, BatchSize: 100, Concurrency: concurrency, RunID: "s", Seed: seed})
		require.NoError(t, err)
		out := map[string]float64{}
		for _, r := range fv.preds {
			for i, id := range r.ids {
				out[id] = r.values["n00"][i]
			}
		}
		return out
	}
	a := collect(1, 7)
	require.Equal(t, a, collect(5, 7))
	require.NotEqual(t, a, collect(1, 8))
}

func TestRunRate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
	}{{"sequential", 1}, {"concurrent", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			start := clock.Now()
			fv := &fakeVigil{t: t, now: clock.Now}
			srv := httptest.NewServer(fv)
			defer srv.Close()
			// 1,000 predictions/s in batches of 100: one batch every 100ms.
			rep, err := Run(t.Context(), Options{
				URL: srv.URL, Spec: testSpec(), Count: 1000, BatchSize: 100, Rate: 1000,
				Concurrency: tc.concurrency, RunID: "r", Now: clock.Now, Sleep: clock.Sleep,
			})
			require.NoError(t, err)
			require.True(t, rep.OK())
			require.Len(t, fv.preds, 10)
			for _, r := range fv.preds {
				first, err := strconv.Atoi(strings.TrimPrefix(r.ids[0], "lg-r-"))
				require.NoError(t, err)
				due := start.Add(time.Duration(first/100) * 100 * time.Millisecond)
				require.False(t, r.at.Before(due), "batch %d sent at %v, before it was due at %v", first/100, r.at.Sub(start), due.Sub(start))
			}
			if tc.concurrency == 1 {
				for k, r := range fv.preds {
					require.Equal(t, time.Duration(k)*100*time.Millisecond, r.at.Sub(start), "batch %d", k)
				}
				require.InDelta(t, 0.9, rep.Seconds, 1e-9)
				require.InDelta(t, 1000/0.9, rep.Predictions.AcceptedPerSecond, 1e-6)
			}
		})
	}
}

func TestRunDuration(t *testing.T) {
	clock := newFakeClock()
	fv := &fakeVigil{t: t, now: clock.Now}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	rep, err := Run(t.Context(), Options{
		URL: srv.URL, Spec: testSpec(), Duration: time.Second, BatchSize: 50, Rate: 500,
		Concurrency: 2, LabelRatio: 1, Now: clock.Now, Sleep: clock.Sleep,
	})
	require.NoError(t, err)
	// Batches are due at 0, 100ms, ..., 900ms: ten of them start within the second.
	require.Equal(t, int64(500), rep.Predictions.Accepted)
	require.Equal(t, int64(500), rep.Labels.Accepted)
	require.False(t, rep.Interrupted)
}

func TestRunDrift(t *testing.T) {
	clock := newFakeClock()
	fv := &fakeVigil{t: t, now: clock.Now}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	spec := testSpec()
	spec.DriftAfter, spec.DriftShift = 500*time.Millisecond, 3
	_, err := Run(t.Context(), Options{
		URL: srv.URL, Spec: spec, Count: 2000, BatchSize: 200, Rate: 2000,
		Concurrency: 1, Now: clock.Now, Sleep: clock.Sleep,
	})
	require.NoError(t, err)
	require.Len(t, fv.preds, 10)
	for k, r := range fv.preds {
		var sum float64
		for _, v := range r.values["n03"] {
			sum += v
		}
		v0 := 0
		for _, c := range r.cats["c01"] {
			if c == "v0" {
				v0++
			}
		}
		mean, share := sum/float64(len(r.ids)), float64(v0)/float64(len(r.ids))
		if k < 5 { // batches due before 500ms
			require.InDelta(t, 0, mean, 0.3, "batch %d", k)
			require.InDelta(t, 0.25, share, 0.1, "batch %d", k)
		} else {
			require.InDelta(t, 3, mean, 0.3, "batch %d", k)
			require.Equal(t, 1.0, share, "batch %d: a shift ≥ 1 puts every categorical value on v0", k)
		}
	}
}

func TestRunThrottled(t *testing.T) {
	clock := newFakeClock()
	fv := &fakeVigil{t: t, status: func(req int) (int, http.Header, string) {
		if req <= 3 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}, "ingest queue is full; retry after 1s"
		}
		return 0, nil, ""
	}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	rep, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Count: 500, BatchSize: 100, Concurrency: 1, Now: clock.Now, Sleep: clock.Sleep})
	require.NoError(t, err)
	require.True(t, rep.OK(), "a throttled batch is retried until accepted")
	require.Equal(t, int64(500), rep.Predictions.Accepted)
	require.Equal(t, int64(3), rep.Predictions.Throttled)
	require.Equal(t, int64(5), rep.Predictions.Requests)
	require.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}, clock.slept, "Retry-After is honoured")
	require.Len(t, fv.predictionIDs(), 500)
}

func TestRunThrottledInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	fv := &fakeVigil{t: t, status: func(int) (int, http.Header, string) {
		cancel() // the user presses ^C while vigil answers 429
		return http.StatusTooManyRequests, nil, "full"
	}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	rep, err := Run(ctx, Options{URL: srv.URL, Spec: testSpec(), Count: 500, BatchSize: 100, Concurrency: 1})
	require.NoError(t, err)
	require.True(t, rep.Interrupted)
	require.False(t, rep.OK())
	require.Equal(t, int64(100), rep.Predictions.Failed)
	require.Equal(t, int64(100), rep.Predictions.Sent)
}

func TestRunRejectionsAndFailures(t *testing.T) {
	t.Run("rejected records", func(t *testing.T) {
		fv := &fakeVigil{t: t, reject: func(i int) bool { return i%10 == 0 }}
		srv := httptest.NewServer(fv)
		defer srv.Close()
		rep, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Count: 1000, BatchSize: 100, LabelRatio: 1})
		require.NoError(t, err)
		require.False(t, rep.OK())
		require.Equal(t, int64(1000), rep.Predictions.Sent)
		require.Equal(t, int64(900), rep.Predictions.Accepted)
		require.Equal(t, int64(100), rep.Predictions.Rejected)
		require.Equal(t, []string{"rejected by the test"}, rep.Predictions.Errors, "distinct messages once")
		require.Equal(t, int64(1000), rep.Labels.Sent, "labels are sent for the batch once any of it was accepted")
	})
	t.Run("unauthorized", func(t *testing.T) {
		fv := &fakeVigil{t: t, status: func(int) (int, http.Header, string) {
			return http.StatusUnauthorized, nil, "missing or wrong bearer token"
		}}
		srv := httptest.NewServer(fv)
		defer srv.Close()
		rep, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Count: 300, BatchSize: 100, LabelRatio: 1})
		require.NoError(t, err)
		require.False(t, rep.OK())
		require.Equal(t, int64(300), rep.Predictions.Failed)
		require.Equal(t, int64(0), rep.Labels.Sent, "no label for a prediction that was not accepted")
		require.Equal(t, []string{"401 Unauthorized: missing or wrong bearer token"}, rep.Predictions.Errors)
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		rep, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Count: 100, BatchSize: 100})
		require.NoError(t, err)
		require.False(t, rep.OK())
		require.Equal(t, int64(100), rep.Predictions.Failed)
		require.Len(t, rep.Predictions.Errors, 1)
	})
}

func TestParseAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		n       int
		want    answer
		wantErr string
	}{
		{"all accepted", 202, `{"accepted":3,"rejected":0,"errors":[]}`, 3, answer{accepted: 3}, ""},
		{"some rejected", 202, `{"accepted":2,"rejected":1,"errors":[{"index":1,"error":"bad"}]}`, 3, answer{accepted: 2, rejected: 1, errors: []string{"bad"}}, ""},
		{"none accepted", 400, `{"accepted":0,"rejected":3,"errors":[]}`, 3, answer{rejected: 3}, ""},
		{"bad body", 400, `{"error":"the body holds no records"}`, 3, answer{}, "the body holds no records"},
		{"counts off", 202, `{"accepted":5,"rejected":0}`, 3, answer{}, "5 accepted and 0 rejected for a batch of 3"},
		{"negative", 202, `{"accepted":4,"rejected":-1}`, 3, answer{}, "for a batch of 3"},
		{"server error", 500, `oops`, 3, answer{}, "oops"},
		{"413", 413, `{"error":"too large"}`, 3, answer{}, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAnswer(tc.status, []byte(tc.body), tc.n)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseAnswer(f *testing.F) {
	f.Add(202, []byte(`{"accepted":3,"rejected":0,"errors":[]}`), 3)
	f.Add(400, []byte(`{"accepted":0,"rejected":3,"errors":[{"error":"x"}]}`), 3)
	f.Add(429, []byte(`{"error":"full"}`), 1)
	f.Fuzz(func(t *testing.T, status int, body []byte, n int) {
		a, err := parseAnswer(status, body, n)
		if err != nil {
			return
		}
		if a.accepted < 0 || a.rejected < 0 || a.accepted+a.rejected != int64(n) {
			t.Fatalf("accepted answer with counts %d + %d for %d", a.accepted, a.rejected, n)
		}
	})
}

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		url     string
		allow   bool
		wantErr string
	}{
		{"http://localhost:9780", false, ""},
		{"http://127.0.0.1:9780", false, ""},
		{"http://127.8.9.10:9780", false, ""},
		{"http://[::1]:9780", false, ""},
		{"https://LOCALHOST:9780/", false, ""},
		{"http://10.0.0.5:9780", false, "not a loopback address"},
		{"http://vigil.example.com", false, "not a loopback address"},
		{"http://localhost.example.com", false, "not a loopback address"},
		{"http://vigil.example.com", true, ""},
		{"ftp://localhost", true, "want http://host:port"},
		{"localhost:9780", true, "want http://host:port"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := CheckTarget(tc.url, tc.allow)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
		})
	}
	_, err := Run(t.Context(), Options{URL: "http://192.0.2.1:9780", Spec: testSpec(), Count: 1})
	require.ErrorContains(t, err, "not a loopback address", "Run refuses on its own")
}

func TestRunNeedsAnEnd(t *testing.T) {
	_, err := Run(t.Context(), Options{URL: "http://localhost:1", Spec: testSpec()})
	require.ErrorContains(t, err, "give a count or a duration")
}

// TestRunFollowsNoRedirect: load goes to the address given, never where it points.
func TestRunFollowsNoRedirect(t *testing.T) {
	var hits int
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/api/v1/predictions", http.StatusTemporaryRedirect))
	defer srv.Close()
	rep, err := Run(t.Context(), Options{URL: srv.URL, Spec: testSpec(), Count: 10, BatchSize: 10})
	require.NoError(t, err)
	require.Equal(t, 0, hits)
	require.Equal(t, int64(10), rep.Predictions.Failed)
}

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	var hundred []int
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, i)
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"empty", nil, Latency{}},
		{"one", ms(7), Latency{Count: 1, P50: 7 * time.Millisecond, P90: 7 * time.Millisecond, P99: 7 * time.Millisecond, Max: 7 * time.Millisecond}},
		{"1..100 reversed", ms(hundred...), Latency{Count: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
		{"ten", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Latency{Count: 10, P50: 5 * time.Millisecond, P90: 9 * time.Millisecond, P99: 10 * time.Millisecond, Max: 10 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, summarize(tc.in)) })
	}
}

func TestReportText(t *testing.T) {
	rep := &Report{
		Target: "http://localhost:9780", Model: "lg", BatchSize: 1000, Concurrency: 4, Rate: 0, Seconds: 4.25,
		Predictions: KindStats{Sent: 1000000, Accepted: 999990, Rejected: 10, AcceptedPerSecond: 235291.76, Requests: 1000, Throttled: 2,
			Latency: Latency{Count: 1000, P50: 3210 * time.Microsecond, P90: 4 * time.Millisecond, P99: 6500 * time.Microsecond, Max: 12 * time.Millisecond},
			Errors:  []string{"score: 2 is outside [0, 1]"}},
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	require.Equal(t, `target       http://localhost:9780, model lg, batches of 1000, 4 in flight, as fast as accepted
elapsed      4.250s
predictions  sent 1000000, accepted 999990 (235,292/s), rejected 10, failed 0; 1000 requests, 2 answered 429
             latency p50 3.210ms, p90 4.000ms, p99 6.500ms, max 12.000ms
             error: score: 2 is outside [0, 1]
labels       sent 0, accepted 0 (0/s), rejected 0, failed 0; 0 requests, 0 answered 429
NOT OK: some events sent were not accepted
`, b.String())

	rep.Predictions = KindStats{Sent: 5, Accepted: 5}
	rep.Rate = 12500
	rep.Transport, rep.Target, rep.SettleSeconds = TransportKafka, "k1:9092,k2:9092", 0.25
	b.Reset()
	rep.WriteText(&b)
	require.Contains(t, b.String(), "target       k1:9092,k2:9092 over kafka, model lg")
	require.Contains(t, b.String(), "elapsed      4.250s (the last 0.250s waiting for vigil to count what it was handed)\n")
	require.Contains(t, b.String(), "12,500 predictions/s")
	require.Contains(t, b.String(), "OK: every event sent was accepted")

	js, err := json.Marshal(rep)
	require.NoError(t, err)
	require.Contains(t, string(js), `"predictions":{"sent":5,"accepted":5,`)
	require.Contains(t, string(js), `"p99_ns":0`)
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Spec)
		wantErr string
	}{
		{"ok", func(*Spec) {}, ""},
		{"no model", func(s *Spec) { s.Model = "" }, "model: a name is required"},
		{"quote", func(s *Spec) { s.Model = `a"b` }, "quote"},
		{"multiclass", func(s *Spec) { s.Task = "multiclass_classification" }, "multiclass is not generated"},
		{"too many categorical", func(s *Spec) { s.Categorical = 7 }, "6 features of which 7 categorical"},
		{"no categories", func(s *Spec) { s.Categories = 0 }, "at least one value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			tc.edit(&s)
			err := s.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
		})
	}
}

func TestAppendFixed(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		d    int
		want string
	}{
		{0, 4, "0.0000"}, {1.5, 4, "1.5000"}, {-0.00004, 4, "0.0000"}, {-0.00006, 4, "-0.0001"},
		{-2.25, 4, "-2.2500"}, {123.456789, 6, "123.456789"}, {0.999999, 6, "0.999999"}, {7, 0, "7"},
		{-1234567.12345, 4, "-1234567.1235"},
	} {
		require.Equal(t, tc.want, string(appendFixed(nil, tc.x, tc.d)), "%v, %d decimals", tc.x, tc.d)
	}
	// Away from halves it agrees with strconv.
	r := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		x := r.NormFloat64() * 1000
		require.Equal(t, strconv.FormatFloat(x, 'f', 4, 64), string(appendFixed(nil, x, 4)))
	}
}
