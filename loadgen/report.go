package loadgen

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Latency summarises request durations.
type Latency struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// summarize sorts d in place and takes nearest-rank percentiles.
func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999999) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return Latency{Count: len(d), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: d[len(d)-1]}
}

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer) {
	rate := "as fast as accepted"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%s predictions/s", thousands(r.Rate))
	}
	over := ""
	if r.Transport != "" && r.Transport != TransportHTTP {
		over = " over " + r.Transport
	}
	fmt.Fprintf(w, "target       %s%s, model %s, batches of %d, %d in flight, %s\n", r.Target, over, r.Model, r.BatchSize, r.Concurrency, rate)
	fmt.Fprintf(w, "elapsed      %.3fs", r.Seconds)
	if r.SettleSeconds > 0 {
		fmt.Fprintf(w, " (the last %.3fs waiting for vigil to count what it was handed)", r.SettleSeconds)
	}
	if r.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)
	for _, k := range []struct {
		name string
		s    *KindStats
	}{{"predictions", &r.Predictions}, {"labels", &r.Labels}} {
		s := k.s
		fmt.Fprintf(w, "%-12s sent %d, accepted %d (%s/s), rejected %d, failed %d; %d requests, %d answered 429\n",
			k.name, s.Sent, s.Accepted, thousands(s.AcceptedPerSecond), s.Rejected, s.Failed, s.Requests, s.Throttled)
		if s.Latency.Count > 0 {
			l := s.Latency
			fmt.Fprintf(w, "%-12s latency p50 %s, p90 %s, p99 %s, max %s\n", "", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
		}
		for _, e := range s.Errors {
			fmt.Fprintf(w, "%-12s error: %s\n", "", e)
		}
	}
	if r.OK() {
		fmt.Fprintln(w, "OK: every event sent was accepted")
	} else {
		fmt.Fprintln(w, "NOT OK: some events sent were not accepted")
	}
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) + "ms" }

// thousands formats x rounded, with thin groups: 1234567.8 → 1,234,568.
func thousands(x float64) string {
	s := strconv.FormatFloat(x, 'f', 0, 64)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
