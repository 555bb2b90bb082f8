// Command vigiltime times vigil's drift and quality functions on data files written by
// bench/python_compare.py, so that vigil and scipy/numpy/sklearn work on the same values in
// the same run. It prints one JSON object: for each computation its median wall-clock and
// CPU time in ms over -runs runs, and its value.
//
//	go run ./bench/cmd/vigiltime -dir DIR -runs 5
//
// DIR holds ref.f64 and cur.f64 (float64, little-endian), and y.u8 (0/1) and score.f64 for AUC.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/drift/quality"
	"github.com/vigilml/vigil/drift/sketch"
)

// Timing is one computation's medians and value.
type Timing struct {
	WallMS float64 `json:"wall_ms"`
	CPUMS  float64 `json:"cpu_ms"`
	Value  float64 `json:"value"`
}

func main() {
	dir := flag.String("dir", "", "directory with the data files (required)")
	runs := flag.Int("runs", 5, "runs per computation; the median is reported")
	flag.Parse()
	if err := run(*dir, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "vigiltime:", err)
		os.Exit(1)
	}
}

func run(dir string, runs int) error {
	if dir == "" || runs < 1 {
		return fmt.Errorf("-dir is required and -runs at least 1")
	}
	ref, err := readFloats(filepath.Join(dir, "ref.f64"))
	if err != nil {
		return err
	}
	cur, err := readFloats(filepath.Join(dir, "cur.f64"))
	if err != nil {
		return err
	}
	out := map[string]Timing{}
	timeIt := func(name string, f func() float64) {
		var wall, cpu []float64
		var v float64
		for range runs {
			runtime.GC()
			w, c := time.Now(), cpuTime()
			v = f()
			cpu = append(cpu, float64(cpuTime()-c)/1e6)
			wall = append(wall, float64(time.Since(w).Nanoseconds())/1e6)
		}
		out[name] = Timing{WallMS: median(wall), CPUMS: median(cpu), Value: v}
	}

	// As scipy does: both samples from scratch.
	timeIt("sort", func() float64 { return float64(drift.NewSample(cur).Len()) })
	timeIt("ks", func() float64 { s, _ := drift.KS(ref, cur); return s })
	timeIt("ks_pvalue", func() float64 { _, p := drift.KS(ref, cur); return p })
	timeIt("wasserstein", func() float64 { w, _ := drift.Wasserstein(ref, cur); return w })
	timeIt("psi", func() float64 {
		bins := drift.NewSample(ref).Bins()
		return drift.PSI(bins.Counts(ref), bins.Counts(cur))
	})
	refS := drift.NewSample(ref)
	bins := refS.Bins()
	rc, cc := bins.CountsSorted(refS), bins.Counts(cur)
	timeIt("js", func() float64 { return drift.JensenShannon(rc, cc) })
	timeIt("together", func() float64 {
		// KS (+ p-value), Wasserstein, PSI, JS and more, sorting both samples.
		return drift.NewSample(ref).Compare(drift.NewSample(cur)).KS
	})
	// As the daemon does in exact mode: the sorted reference is kept, the current sorted.
	refS.Std()
	timeIt("together_ref_kept", func() float64 { return refS.Compare(drift.NewSample(cur)).KS })
	exact := refS.Compare(drift.NewSample(cur))

	// Streaming mode: fixed-size sketches, filled as events arrive; compared per tick.
	opts := sketch.ReferenceOptions(bins)
	rsk, err := sketch.NewNumeric(opts)
	if err != nil {
		return err
	}
	csk, _ := sketch.NewNumeric(opts)
	for i := range ref {
		rsk.Add(ref[i])
	}
	for i := range cur {
		csk.Add(cur[i])
	}
	timeIt("streaming_compare", func() float64 { return sketch.Compare(rsk, csk).KS })
	out["streaming_ks_error"] = Timing{Value: math.Abs(sketch.Compare(rsk, csk).KS - exact.KS)}
	if b, err := csk.AppendBinary(nil); err == nil {
		out["streaming_sketch_bytes"] = Timing{Value: float64(len(b))}
	}
	timeIt("streaming_add_1m", func() float64 {
		s, _ := sketch.NewNumeric(opts)
		for _, v := range cur {
			s.Add(v)
		}
		return float64(s.Count())
	})

	// ROC AUC on labelled pairs.
	score, err := readFloats(filepath.Join(dir, "score.f64"))
	if err != nil {
		return err
	}
	yb, err := os.ReadFile(filepath.Join(dir, "y.u8"))
	if err != nil {
		return err
	}
	if len(yb) != len(score) {
		return fmt.Errorf("y.u8 has %d values, score.f64 %d", len(yb), len(score))
	}
	y := make([]bool, len(yb))
	for i, v := range yb {
		y[i] = v != 0
	}
	var scratch quality.AUCScratch
	timeIt("auc", func() float64 {
		a, err := quality.ROCAUCScratch(y, score, &scratch)
		if err != nil {
			return math.NaN()
		}
		return a
	})
	return json.NewEncoder(os.Stdout).Encode(out)
}

func readFloats(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float64", path, len(b))
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func median(x []float64) float64 {
	slices.Sort(x)
	if len(x)%2 == 1 {
		return x[len(x)/2]
	}
	return (x[len(x)/2-1] + x[len(x)/2]) / 2
}

// cpuTime is the process's CPU time (user and system) in ns. The timed work runs on one
// goroutine, so this is its CPU time plus the garbage collector's.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
