package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// timedPagerDuty records when each Events API v2 event arrived.
type timedPagerDuty struct {
	mu  sync.Mutex
	got []timedEvent
}

type timedEvent struct {
	action string
	at     time.Time
}

func (f *timedPagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var e pdEvent
	if json.NewDecoder(r.Body).Decode(&e) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, timedEvent{e.EventAction, at})
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"status":"success","dedup_key":%q}`, e.DedupKey)
}

// waitAction waits for the n-th event (0-based) and returns it.
func (f *timedPagerDuty) waitAction(b *testing.B, n int) timedEvent {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.mu.Lock()
		if len(f.got) > n {
			e := f.got[n]
			f.mu.Unlock()
			return e
		}
		f.mu.Unlock()
		require.True(b, time.Now().Before(deadline), "no PagerDuty event #%d", n)
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkAlertLatency measures, on a real vigil process, how long an accuracy drop
// takes to become a firing alert and a PagerDuty request: from the moment the labels
// that break the window are acknowledged, to the alert_firing transition in the audit
// trail, and to the request reaching a fake PagerDuty (group_wait 0s). Each op is one
// fire and one resolve, the data landing at a random moment of the 1s evaluation
// interval: the first figure is the wait for the next tick (uniform in 0..1s, median
// 0.5s) plus the evaluation; ms-firing-to-page is vigil's own delivery path.
//
//	go test -run '^$' -bench AlertLatency -benchtime 10x ./cmd/vigil/
func BenchmarkAlertLatency(b *testing.B) {
	pd := &timedPagerDuty{}
	srv := httptest.NewServer(pd)
	defer srv.Close()
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(b, os.WriteFile(cfgPath, fmt.Appendf(nil, `
global: {evaluation_interval: 1s, storage_path: %s}
models:
  - name: fraud
    task: binary_classification
    window: {size: 200}
    features: [{name: amount, type: numeric}]
rules:
  - {name: AccuracyDrop, signal: quality.accuracy, segment: "", op: "<", threshold: 0.5, min_samples: 50, severity: critical}
route: {receiver: pager, group_by: [alertname, model], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
receivers:
  - name: pager
    pagerduty_configs: [{routing_key: bench-key, url: %q}]
`, filepath.Join(dir, "data"), srv.URL), 0o600))
	p := startLogged(b, cfgPath, filepath.Join(dir, "vigil.log"))

	const n = 200
	next := 0
	send := func(correct bool) time.Time {
		preds, labels := pairs(next, n, correct)
		next += n
		require.True(b, postBatch(p.url, "/api/v1/predictions", preds))
		require.True(b, postBatch(p.url, "/api/v1/labels", labels))
		return time.Now()
	}
	firingAfter := func(t0 time.Time) time.Time {
		resp, err := http.Get(p.url + "/api/v1/alerts/history?since=" + t0.Add(-time.Second).UTC().Format(time.RFC3339Nano))
		require.NoError(b, err)
		defer resp.Body.Close()
		var events []struct {
			Time time.Time
			Type string
		}
		require.NoError(b, json.NewDecoder(resp.Body).Decode(&events))
		for _, e := range events {
			if e.Type == "alert_firing" && e.Time.After(t0) {
				return e.Time
			}
		}
		b.Fatalf("no alert_firing after %s in the audit trail", t0)
		return time.Time{}
	}

	var toState, toPage, delivery, toResolve []float64
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := range b.N {
		// The drop lands at a uniformly random moment of the evaluation interval (right
		// after a page it would always land just after a tick).
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		t0 := send(false)
		page := pd.waitAction(b, 2*i)
		require.Equal(b, "trigger", page.action)
		state := firingAfter(t0)
		toState = append(toState, float64(state.Sub(t0))/1e6)
		toPage = append(toPage, float64(page.at.Sub(t0))/1e6)
		delivery = append(delivery, float64(page.at.Sub(state))/1e6)
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		t1 := send(true)
		res := pd.waitAction(b, 2*i+1)
		require.Equal(b, "resolve", res.action)
		toResolve = append(toResolve, float64(res.at.Sub(t1))/1e6)
	}
	b.StopTimer()
	median := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(slices.Max(toState), "ms-to-firing-max")
	b.ReportMetric(median(toState), "ms-to-firing")
	b.ReportMetric(median(toPage), "ms-to-page")
	b.ReportMetric(slices.Max(toPage), "ms-to-page-max")
	b.ReportMetric(median(delivery), "ms-firing-to-page")
	b.ReportMetric(median(toResolve), "ms-to-resolve-page")
}
