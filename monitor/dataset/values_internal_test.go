package dataset

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestParseDecimalMatchesStrconv(t *testing.T) {
	check := func(t *testing.T, s string) {
		got, ok := parseDecimal(s)
		if !ok {
			return // strconv decides
		}
		want, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, s)
		require.Equal(t, math.Float64bits(want), math.Float64bits(got), "parseDecimal(%q)", s)
	}
	t.Run("edge cases", func(t *testing.T) {
		for _, s := range []string{
			"0", "-0", "0.1", "5.", ".5", "-.5", "00000000000000000000000001", "0.0000000000000000000001",
			"9007199254740993", "9007199254740992.5", "1.7976931348623157", "0.30000000000000004",
			"1234567890123456789", "9999999999999999999", "99999999999999999.99", "-0.9391843219184453",
			"4.9406564584124654", "2.2250738585072014", "123456789012345.6789",
		} {
			check(t, s)
		}
	})
	t.Run("random decimals", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		fast, lemire := 0, 0
		for range 300_000 {
			n := 1 + rng.IntN(21)
			var b strings.Builder
			if rng.IntN(2) == 0 {
				b.WriteByte('-')
			}
			dot := rng.IntN(n + 1)
			for i := range n {
				if i == dot && rng.IntN(4) != 0 {
					b.WriteByte('.')
				}
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
			check(t, b.String())
			// Shortest representations of random doubles: 16 and 17
			// digits, the Eisel-Lemire path.
			f := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)))
			s := strconv.FormatFloat(f, 'f', -1, 64)
			check(t, s)
			if _, ok := parseDecimal(s); ok {
				fast++
				if len(strings.Trim(strings.NewReplacer("-", "", ".", "").Replace(s), "0")) > 15 {
					lemire++
				}
			}
		}
		require.Greater(t, lemire, 100_000, "the Eisel-Lemire path is exercised")
		require.Greater(t, fast, 250_000)
	})
	t.Run("not decimals", func(t *testing.T) {
		for _, s := range []string{"", "-", ".", "1e5", "1.2.3", "+1", " 1", "1 ", "0x10", "1_0", "12345678901234567890123"} {
			_, ok := parseDecimal(s)
			require.False(t, ok, s)
		}
	})
}

func TestParseTime(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{in: "2026-11-24T10:00:00Z", want: ts},
		{in: "2026-11-24T11:00:00+01:00", want: ts},
		{in: "2026-11-24T10:00:00.123456789Z", want: ts.Add(123456789)},
		{in: "1795514400", want: ts},
		{in: "1795514400.25", want: ts.Add(250 * time.Millisecond)},
		{in: "1795514400.123456789", want: ts.Add(123456789)},
		{in: "1.7955144e9", want: ts},
		{in: "0", want: time.Unix(0, 0).UTC()},
		{in: "-1", wantErr: "is negative"},
		{in: "1795514400000", wantErr: "not milliseconds"},
		{in: "2026-11-24", wantErr: "is not an RFC 3339 time"},
		{in: "2026-11-24 10:00:00", wantErr: "is not an RFC 3339 time"},
		{in: "tomorrow", wantErr: "is not an RFC 3339 time"},
		{in: "NaN", wantErr: "is not an RFC 3339 time"},
		{in: "1e400", wantErr: "is not an RFC 3339 time"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTime(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, time.UTC, got.Location())
		})
	}
}

func TestNullSetMatchesDefault(t *testing.T) {
	def := newNullSet(nil)
	custom := newNullSet(DefaultNullValues())
	for _, s := range append([]string{"x", "0", "na", "Null", "None", " "}, DefaultNullValues()...) {
		require.Equal(t, custom.has(s), def.has(s), "%q", s)
	}
}

func TestProgressIsThrottled(t *testing.T) {
	data := "a\n" + strings.Repeat("1\n", 10*1024)
	var calls []int64
	r, err := New(strings.NewReader(data), int64(len(data)), Options{Format: CSV, Progress: func(read, _ int64) { calls = append(calls, read) }})
	require.NoError(t, err)
	defer r.Close()
	now := time.Unix(0, 0)
	r.now = func() time.Time { return now }
	r.lastProgress = now
	for i := 0; ; i++ {
		if i%1024 == 0 {
			now = now.Add(50 * time.Millisecond) // 1024 rows every 50 ms: every other check reports
		}
		if _, err := r.Next(); err != nil {
			break
		}
	}
	// 10 checks of 1024 rows, 5 of them 100 ms apart, and the end.
	require.Len(t, calls, 6)
	require.Equal(t, int64(len(data)), calls[5])
}

func TestInternerIsBounded(t *testing.T) {
	var in interner
	for i := range 3 * internMaxEntries {
		s := in.str(strconv.Itoa(i))
		require.Equal(t, strconv.Itoa(i), s)
		require.LessOrEqual(t, len(in.m), internMaxEntries)
	}
	long := strings.Repeat("x", internMaxLen+1)
	require.Equal(t, long, in.bytes([]byte(long)))
	_, ok := in.m[long]
	require.False(t, ok, "long strings are not interned")
	a, b := in.bytes([]byte("same")), in.bytes([]byte("same"))
	require.Same(t, unsafe.StringData(a), unsafe.StringData(b), "interned strings are shared")
}

// TestParseNumberExported: ParseNumber, which Row.RawNumbers are converted with, is
// parseNumber, to the bit.
func TestParseNumberExported(t *testing.T) {
	for _, s := range []string{
		"", "-", ".", "0", "-0", "1.5", "-2.25", " 3 ", "1e5", "0x10", "NaN", "inf", "1e400", "1e-400",
		"12345678901234567890", "0.1234567890123456789", "9007199254740993", "1_0", "abc", "3.7945",
	} {
		wf, wok := parseNumber(s)
		gf, gok := ParseNumber([]byte(s))
		if wok != gok || math.Float64bits(wf) != math.Float64bits(gf) {
			t.Errorf("ParseNumber(%q) = %v, %v; parseNumber gives %v, %v", s, gf, gok, wf, wok)
		}
	}
}
