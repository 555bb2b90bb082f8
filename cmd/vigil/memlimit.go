package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// memLimitRefresh is how often the container's memory limit is read again, so that a
// pod resized in place gets a matching GOMEMLIMIT.
const memLimitRefresh = time.Minute

// setMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT) to ratio of the
// memory limit that provider reports (the container's cgroup limit in vigil run), as
// Prometheus's --auto-gomemlimit does: near the limit the garbage collector works
// harder instead of letting the heap double before the kernel's OOM killer acts. It
// does nothing when GOMEMLIMIT is set in the environment (AUTOMEMLIMIT, the library's
// own variable, may override the ratio or say "off"), and sets no limit when the
// provider reports none. When it found a limit it reads it again every refresh, so that
// a pod resized in place gets a matching GOMEMLIMIT. It returns the limit in effect; a
// failure is logged by the library, once, and vigil runs on without a limit.
func setMemoryLimit(ctx context.Context, provider memlimit.Provider, ratio float64, refresh time.Duration, logger *slog.Logger) int64 {
	opts := []memlimit.Option{
		memlimit.WithProvider(provider),
		memlimit.WithRatio(ratio),
		memlimit.WithLogger(logger.With("component", "automemlimit")),
	}
	limit, err := memlimit.Set(opts...)
	if err != nil || limit == math.MaxInt64 || os.Getenv("GOMEMLIMIT") != "" || os.Getenv("AUTOMEMLIMIT") == "off" {
		// No limit to follow: refreshing would only log the same failure every minute.
		return limit
	}
	limit, _ = memlimit.Set(append(opts, memlimit.WithRefreshInterval(ctx, refresh))...)
	return limit
}

// checkMemLimitRatio validates --auto-gomemlimit.ratio.
func checkMemLimitRatio(r float64) error {
	if math.IsNaN(r) || r <= 0 || r > 1 {
		return fmt.Errorf("--auto-gomemlimit.ratio must be in (0, 1], got %v", r)
	}
	return nil
}
