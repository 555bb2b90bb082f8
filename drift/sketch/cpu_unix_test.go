//go:build unix

package sketch

import (
	"syscall"
	"testing"
)

// cpuTime is the CPU time (user and system) of the process so far, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU reports the CPU time per operation since start as "cpu-ns/op":
// unlike ns/op, it does not count time the benchmark waited for a CPU on a
// busy machine. The benchmarks run one goroutine and do not allocate in the
// loop, so the process's CPU time is the loop's.
func reportCPU(b *testing.B, start int64) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}
