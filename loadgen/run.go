package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxErrorsKept bounds the distinct error messages a Report keeps.
const maxErrorsKept = 5

// Options configure one load run.
type Options struct {
	// URL is vigil's base URL, such as http://localhost:9780.
	URL string
	// AllowNonLoopback lets Run target an address that is not loopback. The command line
	// sets it only when the user gave --url: load is never sent anywhere by default.
	AllowNonLoopback bool
	// Spec is the model and traffic to generate.
	Spec Spec
	// Transport is TransportHTTP (the default), TransportKafka or TransportCloudEvents.
	// Over Kafka and CloudEvents vigil's answer only says the events were handed over:
	// Run then reads vigil's counters on URL's /metrics before and after, and waits up to
	// Settle (default DefaultSettle) after the last send for them to count everything.
	Transport string
	Kafka     Kafka
	Settle    time.Duration
	// BatchSize is the number of events per request; default 1000.
	BatchSize int
	// Concurrency is the number of requests in flight at once; default 2.
	Concurrency int
	// Rate is predictions per second; 0 sends as fast as they are accepted.
	Rate float64
	// Count stops after this many predictions; Duration stops after this long (no new
	// batch starts later; those in flight finish). At least one of them must be set.
	Count    int64
	Duration time.Duration
	// LabelRatio is the share of predictions that get a label, sent after their
	// prediction batch was accepted; 0 sends no labels.
	LabelRatio float64
	// BearerToken is sent as "Authorization: Bearer <token>" when set.
	BearerToken string
	// Seed makes the data; the same seed sends the same values.
	Seed uint64
	// RunID is part of every event id, so that runs against one vigil do not share
	// ids; default from the clock.
	RunID string
	// Client sends the requests; default one that keeps Concurrency connections open and
	// follows no redirect.
	Client *http.Client
	// Now and Sleep are the clock; default time.Now and a timer.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Report is what a run did.
type Report struct {
	Target      string  `json:"target"`
	Transport   string  `json:"transport"`
	Model       string  `json:"model"`
	BatchSize   int     `json:"batch_size"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	// Seconds runs from the first send to the last answer, or over Kafka and CloudEvents
	// to when vigil had counted every event (SettleSeconds of which after the last send).
	Seconds       float64   `json:"seconds"`
	SettleSeconds float64   `json:"settle_seconds,omitempty"`
	Predictions   KindStats `json:"predictions"`
	Labels        KindStats `json:"labels"`
	// Interrupted is true when the run was stopped before its count or duration.
	Interrupted bool `json:"interrupted"`
}

// KindStats counts one kind of event (predictions or labels) and times its requests.
type KindStats struct {
	// Sent is every event in a request that got an answer or failed; Accepted and
	// Rejected are as vigil answered; Failed are events of requests without a usable
	// answer (connection errors, 401, 413, 5xx) or given up after 429s when stopped.
	Sent     int64 `json:"sent"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	Failed   int64 `json:"failed"`
	// AcceptedPerSecond is Accepted over the run's duration.
	AcceptedPerSecond float64 `json:"accepted_per_second"`
	// Requests counts requests answered other than 429; Throttled counts 429 answers
	// (each retried after its Retry-After).
	Requests  int64 `json:"requests"`
	Throttled int64 `json:"throttled"`
	// Latency is the distribution of the requests' durations (send to answer read), 429s
	// excluded; over Kafka, of a batch's produce until the brokers acknowledged it.
	Latency Latency `json:"latency"`
	// Errors are the first distinct error messages.
	Errors []string `json:"errors,omitempty"`
}

// OK reports whether every event sent was accepted and none failed.
func (r *Report) OK() bool {
	return r.Predictions.Accepted == r.Predictions.Sent && r.Predictions.Failed == 0 &&
		r.Labels.Accepted == r.Labels.Sent && r.Labels.Failed == 0
}

// ingestAnswer is the body of vigil's ingest answers.
type ingestAnswer struct {
	Accepted *int64 `json:"accepted"`
	Rejected int64  `json:"rejected"`
	Errors   []struct {
		Error string `json:"error"`
	} `json:"errors"`
	Error string `json:"error"`
}

// kindTally is one kind's counters while a run goes on.
type kindTally struct {
	sent, accepted, rejected, failed, requests, throttled atomic.Int64

	mu        sync.Mutex
	latencies []time.Duration
	errors    []string
}

func (t *kindTally) addLatency(d []time.Duration) {
	t.mu.Lock()
	t.latencies = append(t.latencies, d...)
	t.mu.Unlock()
}

func (t *kindTally) addError(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.errors {
		if e == msg {
			return
		}
	}
	if len(t.errors) < maxErrorsKept {
		t.errors = append(t.errors, msg)
	}
}

func (t *kindTally) stats(secs float64) KindStats {
	s := KindStats{
		Sent: t.sent.Load(), Accepted: t.accepted.Load(), Rejected: t.rejected.Load(), Failed: t.failed.Load(),
		Requests: t.requests.Load(), Throttled: t.throttled.Load(),
		Latency: summarize(t.latencies), Errors: t.errors,
	}
	if secs > 0 {
		s.AcceptedPerSecond = float64(s.Accepted) / secs
	}
	return s
}

// CheckTarget refuses a URL that is not http(s), or not loopback unless allowed.
func CheckTarget(raw string, allowNonLoopback bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("target %q: want http://host:port or https://host:port", raw)
	}
	if !allowNonLoopback && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("target %q is not a loopback address: give it with --url to send load there", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runner is one run's shared state.
type runner struct {
	opts       Options
	client     *http.Client
	predURL    string
	labURL     string
	ceURL      string
	metricsURL string
	kafka      *kgo.Client
	models     map[string]struct{}
	before     counts // vigil's counters before the first send (async transports)
	start      time.Time
	end        time.Time // zero in count mode
	batches    int64     // total batches in count mode
	next       atomic.Int64
	pred       kindTally
	lab        kindTally
}

// Run sends load as opts say and reports what was accepted. It stops by itself after
// the count or duration, or earlier when ctx ends (Report.Interrupted).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.Spec.Validate(); err != nil {
		return nil, err
	}
	u, err := CheckTarget(opts.URL, opts.AllowNonLoopback)
	if err != nil {
		return nil, err
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	switch {
	case opts.Count <= 0 && opts.Duration <= 0:
		return nil, errors.New("give a count or a duration: load generation must stop by itself")
	case opts.Rate < 0 || math.IsNaN(opts.Rate) || math.IsInf(opts.Rate, 0):
		return nil, fmt.Errorf("rate %v: want a positive number of predictions per second, or 0 for as fast as accepted", opts.Rate)
	case opts.LabelRatio < 0 || opts.LabelRatio > 1 || math.IsNaN(opts.LabelRatio):
		return nil, fmt.Errorf("label ratio %v: want a share between 0 and 1", opts.LabelRatio)
	case opts.Settle < 0:
		return nil, fmt.Errorf("settle %s: want a positive duration", opts.Settle)
	}
	switch opts.Transport {
	case "":
		opts.Transport = TransportHTTP
	case TransportHTTP, TransportKafka, TransportCloudEvents:
	default:
		return nil, fmt.Errorf("transport %q: want %s, %s or %s", opts.Transport, TransportHTTP, TransportKafka, TransportCloudEvents)
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	opts.Kafka = opts.Kafka.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.RunID == "" {
		opts.RunID = strconv.FormatInt(opts.Now().UnixNano(), 36)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			Timeout: time.Minute,
			Transport: &http.Transport{
				Proxy:               nil, // load goes to the target itself, never through a proxy
				MaxIdleConnsPerHost: opts.Concurrency,
				DisableCompression:  true,
			},
			// The target is the address given; a redirect elsewhere is not followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	base := strings.TrimSuffix(u.String(), "/")
	r := &runner{
		opts: opts, client: opts.Client, predURL: base + "/api/v1/predictions", labURL: base + "/api/v1/labels",
		ceURL: base + "/api/v1/cloudevents", metricsURL: base + "/metrics", models: map[string]struct{}{},
	}
	for _, name := range opts.Spec.ModelNames() {
		r.models[name] = struct{}{}
	}
	if r.async() {
		if opts.Transport == TransportKafka {
			if r.kafka, err = newKafka(opts.Kafka); err != nil {
				return nil, err
			}
			defer r.kafka.Close()
		}
		if r.before, err = r.readCounts(ctx); err != nil {
			return nil, fmt.Errorf("over %s vigil's counters tell what it accepted: %w", opts.Transport, err)
		}
	}
	if opts.Count > 0 {
		r.batches = (opts.Count + int64(opts.BatchSize) - 1) / int64(opts.BatchSize)
	}
	r.start = opts.Now()
	if opts.Duration > 0 {
		r.end = r.start.Add(opts.Duration)
	}
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() { r.worker(ctx) })
	}
	wg.Wait()
	end := opts.Now()
	var settle float64
	if r.async() {
		sent := end
		end = r.settle(ctx)
		settle = max(0, end.Sub(sent).Seconds())
	}
	secs := end.Sub(r.start).Seconds()
	target := base
	if opts.Transport == TransportKafka {
		target = strings.Join(opts.Kafka.Brokers, ",")
	}
	return &Report{
		Target: target, Transport: opts.Transport, Model: opts.Spec.Model, BatchSize: opts.BatchSize, Concurrency: opts.Concurrency, Rate: opts.Rate,
		Seconds: secs, SettleSeconds: settle, Predictions: r.pred.stats(secs), Labels: r.lab.stats(secs), Interrupted: ctx.Err() != nil,
	}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// due is when batch k may be sent: batches are spaced BatchSize/Rate seconds apart.
func (r *runner) due(k int64) time.Time {
	if r.opts.Rate == 0 {
		return r.start
	}
	return r.start.Add(time.Duration(float64(k) * float64(r.opts.BatchSize) / r.opts.Rate * float64(time.Second)))
}

// worker is one sending goroutine's own state.
type worker struct {
	g    *generator
	recs []kgo.Record // the records of a Kafka batch
	ptrs []*kgo.Record
}

func (r *runner) worker(ctx context.Context) {
	w := &worker{g: newGenerator(r.opts.Spec, r.opts.RunID, r.opts.Seed)}
	g := w.g
	var predLat, labLat []time.Duration
	defer func() {
		r.pred.addLatency(predLat)
		r.lab.addLatency(labLat)
	}()
	for ctx.Err() == nil {
		k := r.next.Add(1) - 1
		n := r.opts.BatchSize
		if r.batches > 0 {
			if k >= r.batches {
				return
			}
			n = int(min(int64(n), r.opts.Count-k*int64(n)))
		}
		due := r.due(k)
		if !r.end.IsZero() && !due.Before(r.end) {
			return
		}
		if err := r.opts.Sleep(ctx, due.Sub(r.opts.Now())); err != nil {
			return
		}
		now := r.opts.Now()
		if !r.end.IsZero() && !now.Before(r.end) {
			return
		}
		drifted := r.opts.Spec.DriftShift != 0 && now.Sub(r.start) >= r.opts.Spec.DriftAfter
		first := k * int64(r.opts.BatchSize)
		body := g.predictions(k, first, n, drifted)
		var (
			accepted int64
			lat      time.Duration
		)
		switch r.opts.Transport {
		case TransportKafka:
			accepted, lat = r.produce(ctx, &r.pred, w, r.opts.Kafka.Topic, body)
		case TransportCloudEvents:
			accepted, lat = r.send(ctx, &r.pred, r.ceURL, contentTypeCloudEvents, g.cloudEvents(k), n, g.ceOff)
		default:
			accepted, lat = r.send(ctx, &r.pred, r.predURL, contentTypeNDJSON, body, n, nil)
		}
		if lat > 0 {
			predLat = append(predLat, lat)
		}
		if accepted == 0 || r.opts.LabelRatio == 0 {
			continue
		}
		lb, ln := g.labelBatch(k, first, r.opts.LabelRatio)
		if ln == 0 {
			continue
		}
		if r.opts.Transport == TransportKafka {
			_, lat = r.produce(ctx, &r.lab, w, r.opts.Kafka.LabelTopic, lb)
		} else {
			_, lat = r.send(ctx, &r.lab, r.labURL, contentTypeNDJSON, lb, ln, nil)
		}
		if lat > 0 {
			labLat = append(labLat, lat)
		}
	}
}

// The media types of the bodies Run posts.
const (
	contentTypeNDJSON      = "application/x-ndjson"
	contentTypeCloudEvents = "application/cloudevents-batch+json"
)

// send posts one batch of n predictions or labels, retrying after each 429, and tallies
// the answer. It returns the number accepted and the request's latency (0 when it got no
// answer). A CloudEvents batch is a JSON array whose event objects begin at offs; answered
// 202 it was queued, all of it, and its events count as accepted until settle reads what
// vigil made of them. A CloudEvents 429 that says how many events vigil queued is answered
// by sending the rest again after Retry-After; one that does not fails the batch (settle
// finds what was queued).
func (r *runner) send(ctx context.Context, t *kindTally, target, contentType string, body []byte, n int, offs []int) (int64, time.Duration) {
	ce := contentType == contentTypeCloudEvents
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			t.sent.Add(int64(n))
			t.failed.Add(int64(n))
			t.addError(err.Error())
			return 0, 0
		}
		req.Header.Set("Content-Type", contentType)
		if r.opts.BearerToken != "" {
			req.Header.Set("Authorization", "Bearer "+r.opts.BearerToken)
		}
		start := r.opts.Now()
		resp, err := r.client.Do(req)
		if err != nil {
			t.sent.Add(int64(n))
			t.failed.Add(int64(n))
			if ctx.Err() == nil {
				t.addError(err.Error())
			}
			return 0, 0
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		lat := r.opts.Now().Sub(start)
		if resp.StatusCode == http.StatusTooManyRequests && ce {
			// Part of the batch is queued: send the rest again (or fail it all below).
			if tail, tailOffs, ok := refusedTail(raw, body, offs); ok {
				t.throttled.Add(1)
				if err := r.opts.Sleep(ctx, retryAfter(resp.Header.Get("Retry-After"))); err != nil {
					t.sent.Add(int64(n))
					t.failed.Add(int64(n))
					return 0, 0
				}
				body, offs = tail, tailOffs
				continue
			}
		}
		if resp.StatusCode == http.StatusTooManyRequests && !ce {
			t.throttled.Add(1)
			if err := r.opts.Sleep(ctx, retryAfter(resp.Header.Get("Retry-After"))); err != nil {
				t.sent.Add(int64(n))
				t.failed.Add(int64(n))
				return 0, 0
			}
			continue
		}
		t.requests.Add(1)
		t.sent.Add(int64(n))
		if ce {
			if resp.StatusCode == http.StatusAccepted {
				t.accepted.Add(int64(n))
				return int64(n), lat
			}
			if resp.StatusCode == http.StatusTooManyRequests {
				t.throttled.Add(1)
			}
			t.failed.Add(int64(n))
			t.addError(fmt.Sprintf("%s: %s", resp.Status, answerMessage(raw)))
			return 0, lat
		}
		a, err := parseAnswer(resp.StatusCode, raw, n)
		if err != nil {
			// No usable per-record answer: the whole batch failed.
			t.failed.Add(int64(n))
			t.addError(fmt.Sprintf("%s: %v", resp.Status, err))
			return 0, lat
		}
		t.accepted.Add(a.accepted)
		t.rejected.Add(a.rejected)
		for _, e := range a.errors {
			t.addError(e)
		}
		return a.accepted, lat
	}
}

// answer is vigil's per-record answer to one batch.
type answer struct {
	accepted, rejected int64
	errors             []string
}

// parseAnswer reads an ingest answer to a batch of n events: 202, or 400 with counts
// (nothing accepted). Any other answer, or counts that do not add up to n, is an error.
func parseAnswer(status int, raw []byte, n int) (answer, error) {
	var a ingestAnswer
	err := json.Unmarshal(raw, &a)
	switch {
	case status != http.StatusAccepted && status != http.StatusBadRequest, err != nil, a.Accepted == nil:
		return answer{}, errors.New(answerMessage(raw))
	case *a.Accepted < 0 || a.Rejected < 0 || *a.Accepted+a.Rejected != int64(n):
		return answer{}, fmt.Errorf("the answer counts %d accepted and %d rejected for a batch of %d", *a.Accepted, a.Rejected, n)
	}
	out := answer{accepted: *a.Accepted, rejected: a.Rejected}
	for _, e := range a.Errors {
		out.errors = append(out.errors, e.Error)
	}
	return out, nil
}

// refusedTail reads vigil's 429 to a CloudEvents batch: vigil queues a request's events in
// order, and its answer says how many it queued and how many it refused. It returns the
// batch of the refused events and their offsets, or false when the answer does not say
// (an older vigil) or does not add up to the batch.
func refusedTail(raw, body []byte, offs []int) ([]byte, []int, bool) {
	var a struct {
		Queued  *int `json:"queued"`
		Refused int  `json:"refused"`
	}
	if json.Unmarshal(raw, &a) != nil || a.Queued == nil || *a.Queued < 0 || a.Refused <= 0 || *a.Queued+a.Refused != len(offs) {
		return nil, nil, false
	}
	start := offs[*a.Queued]
	tail := make([]byte, 0, len(body)-start+1)
	tail = append(tail, '[')
	tail = append(tail, body[start:]...) // the objects from start, and the closing bracket
	tailOffs := make([]int, a.Refused)
	for i := range tailOffs {
		tailOffs[i] = offs[*a.Queued+i] - start + 1
	}
	return tail, tailOffs, true
}

// answerMessage is the error vigil's answer gives, or the start of the answer.
func answerMessage(raw []byte) string {
	var a ingestAnswer
	if json.Unmarshal(raw, &a) == nil && strings.TrimSpace(a.Error) != "" {
		return strings.TrimSpace(a.Error)
	}
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

// retryAfter reads a Retry-After in seconds; missing or unreadable waits one second.
func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return time.Second
}
