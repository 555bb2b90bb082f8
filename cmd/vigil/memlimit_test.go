package main

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/stretchr/testify/require"
)

// noMemLimitEnv clears the variables that override setMemoryLimit and restores the
// runtime's limit after the test.
func noMemLimitEnv(t *testing.T) {
	for _, v := range []string{"GOMEMLIMIT", "AUTOMEMLIMIT"} {
		t.Setenv(v, "") // restored after the test…
		require.NoError(t, os.Unsetenv(v))
	}
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
}

func TestSetMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name     string
		env      string // GOMEMLIMIT
		provider memlimit.Provider
		ratio    float64
		want     int64
		log      string
	}{
		{"a share of the container's limit", "", memlimit.Limit(gib), 0.5, gib / 2, "GOMEMLIMIT is updated"},
		{"the default ratio", "", memlimit.Limit(gib), 0.9, gib * 9 / 10, "GOMEMLIMIT=966367641"},
		{"no limit: none set", "", func() (uint64, error) { return 0, memlimit.ErrNoLimit }, 0.9, math.MaxInt64, ""},
		{"GOMEMLIMIT set by the user wins", "300MiB", memlimit.Limit(gib), 0.9, 300 << 20, "GOMEMLIMIT is already set"},
		{"the limit cannot be read: logged, none set", "", func() (uint64, error) { return 0, errors.New("no cgroup here") }, 0.9, math.MaxInt64, "no cgroup here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noMemLimitEnv(t)
			debug.SetMemoryLimit(math.MaxInt64)
			if tc.env != "" {
				t.Setenv("GOMEMLIMIT", tc.env)
				debug.SetMemoryLimit(300 << 20) // what the runtime read from it at start
			}
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			got := setMemoryLimit(t.Context(), tc.provider, tc.ratio, time.Minute, logger)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want, debug.SetMemoryLimit(-1), "the runtime's limit")
			if tc.log != "" {
				require.Contains(t, logs.String(), tc.log)
			}
			if strings.Contains(tc.name, "cannot be read") {
				require.Equal(t, 1, strings.Count(logs.String(), "level=ERROR"), "logged once:\n%s", logs.String())
			}
		})
	}
}

func TestAutoGoMemLimitRatioFlag(t *testing.T) {
	for _, r := range []string{"0", "-0.5", "1.5", "NaN"} {
		var out, errb bytes.Buffer
		require.Equal(t, 2, run([]string{"run", "--auto-gomemlimit.ratio", r}, &out, &errb), r)
		require.Contains(t, errb.String(), "--auto-gomemlimit.ratio must be in (0, 1]", r)
	}
}

// syncBuf is a log buffer the refresh goroutine may write while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMemoryLimitRefresh: a limit found is read again, so a container resized in place
// gets a new GOMEMLIMIT; a limit that cannot be read is not retried (its error would be
// logged every minute).
func TestMemoryLimitRefresh(t *testing.T) {
	const mib = 1 << 20
	t.Run("follows the container's limit", func(t *testing.T) {
		noMemLimitEnv(t)
		var limit atomic.Uint64
		limit.Store(1024 * mib)
		provider := func() (uint64, error) { return limit.Load(), nil }
		logger := slog.New(slog.NewTextHandler(&syncBuf{}, nil))
		require.Equal(t, int64(512*mib), setMemoryLimit(t.Context(), provider, 0.5, 10*time.Millisecond, logger))
		limit.Store(2048 * mib)
		require.Eventually(t, func() bool { return debug.SetMemoryLimit(-1) == 1024*mib }, 10*time.Second, 10*time.Millisecond)
	})
	t.Run("a failure is logged once", func(t *testing.T) {
		noMemLimitEnv(t)
		debug.SetMemoryLimit(math.MaxInt64)
		var calls atomic.Int32
		provider := func() (uint64, error) { calls.Add(1); return 0, errors.New("no cgroup here") }
		logs := &syncBuf{}
		logger := slog.New(slog.NewTextHandler(logs, nil))
		setMemoryLimit(t.Context(), provider, 0.9, 10*time.Millisecond, logger)
		time.Sleep(200 * time.Millisecond) // twenty refresh intervals
		require.Equal(t, int32(1), calls.Load(), "not read again")
		require.Equal(t, 1, strings.Count(logs.String(), "level=ERROR"), logs.String())
	})
}
