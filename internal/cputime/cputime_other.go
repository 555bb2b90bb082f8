//go:build !unix

// Package cputime reads the process's CPU time, for benchmarks that report CPU per
// operation: on a shared machine wall time also counts the waits for a CPU.
package cputime

import "time"

// Process is not measured on this platform: it returns 0.
func Process() time.Duration { return 0 }
