package notifyutil

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vigilml/vigil/alerting"
)

func TestHumanize(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 400 * time.Millisecond: "0s", 45 * time.Second: "45s",
		25*time.Minute + 10*time.Second: "25m 10s", 25 * time.Minute: "25m", time.Hour + 5*time.Minute + 9*time.Second: "1h 5m",
		51 * time.Hour: "2d 3h", 24*time.Hour + 5*time.Minute: "1d",
	} {
		require.Equal(t, want, HumanizeDuration(d), "%v", d)
	}
	for v, want := range map[float64]string{
		0: "0", 0.85: "0.85", 0.81234: "0.8123", 12.3456: "12.35", 12345.6: "12346", 3: "3", -0.5: "-0.5",
		0.0001234: "0.0001234", 1e20: "1e+20", math.Inf(1): "+Inf", 1234567.89: "1234568",
	} {
		require.Equal(t, want, FormatValue(v), "%v", v)
	}
	require.Equal(t, "no data", ValueText(&alerting.Alert{Value: math.NaN()}))
}

func TestWithTimeout(t *testing.T) {
	const d = 7 * time.Second
	require.Equal(t, d, WithTimeout(nil, d).Timeout)
	mine := &http.Client{}
	got := WithTimeout(mine, d)
	require.Equal(t, d, got.Timeout)
	require.Zero(t, mine.Timeout, "the caller's client is not changed")
	short := &http.Client{Timeout: time.Second}
	require.Same(t, short, WithTimeout(short, d))
}
