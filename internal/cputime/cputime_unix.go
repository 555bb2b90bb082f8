//go:build unix

// Package cputime reads the process's CPU time, for benchmarks that report CPU per
// operation: on a shared machine wall time also counts the waits for a CPU.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user and system CPU time of the process so far (0 when it
// cannot be read).
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
