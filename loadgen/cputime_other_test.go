//go:build !unix

package loadgen

import (
	"testing"
	"time"
)

// cpuTime is not measured here: the cpu-ns/event figure reads 0.
func cpuTime(testing.TB) time.Duration { return 0 }
