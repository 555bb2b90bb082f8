package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// point is one step of an input series; ok is false for a missing value.
type point struct {
	v  float64
	ok bool
}

// maxSeriesPoints bounds one expanded series, so that "1x999999999" is an
// error rather than an out-of-memory.
const maxSeriesPoints = 1 << 20

var (
	// seriesTokenRE is promtool's expanding notation: a, axn, a+bxn, a-bxn.
	seriesTokenRE = regexp.MustCompile(`^(` + numRE + `)(?:([+-])(` + unsignedRE + `)x([0-9]+)|x([0-9]+))?$`)
	missingRE     = regexp.MustCompile(`^_(?:x([0-9]+))?$`)
)

const (
	unsignedRE = `(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[Ii]nf|NaN`
	numRE      = `[+-]?(?:` + unsignedRE + `)`
)

// parseSeries expands promtool's series notation, one value per interval:
//
//	1 2 3       three values
//	a+bxn       a, a+b, ..., a+n·b (n+1 values); a-bxn counts down
//	axn         a repeated n+1 times (a+0xn)
//	_           no value at this step; _xn is n of them
//	stale       no value (as _)
//
// Numbers are decimal, with an optional exponent, or Inf, -Inf, NaN.
func parseSeries(s string) ([]point, error) {
	var out []point
	for tok := range strings.FieldsSeq(s) {
		n, step, base, missing, err := parseToken(tok)
		if err != nil {
			return nil, err
		}
		if len(out)+n > maxSeriesPoints {
			return nil, fmt.Errorf("the series expands to more than %d values", maxSeriesPoints)
		}
		for i := range n {
			if missing {
				out = append(out, point{})
				continue
			}
			out = append(out, point{v: base + float64(i)*step, ok: true})
		}
	}
	return out, nil
}

// parseToken reads one token: n values starting at base, step apart, or n
// missing values.
func parseToken(tok string) (n int, step, base float64, missing bool, err error) {
	if tok == "stale" {
		return 1, 0, 0, true, nil
	}
	if m := missingRE.FindStringSubmatch(tok); m != nil {
		if m[1] == "" {
			return 1, 0, 0, true, nil
		}
		c, err := count(m[1], tok)
		if err != nil {
			return 0, 0, 0, false, err
		}
		if c == 0 {
			return 0, 0, 0, false, fmt.Errorf("%q: _x0 is no value at all; write _x1 or _", tok)
		}
		return c, 0, 0, true, nil
	}
	m := seriesTokenRE.FindStringSubmatch(tok)
	if m == nil {
		return 0, 0, 0, false, fmt.Errorf("%q is not a value: write a number, a+bxn, a-bxn, axn or _", tok)
	}
	base, err = strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("%q: %w", tok, err)
	}
	switch {
	case m[4] != "": // a±bxn
		step, err = strconv.ParseFloat(m[3], 64)
		if err != nil {
			return 0, 0, 0, false, fmt.Errorf("%q: %w", tok, err)
		}
		if m[2] == "-" {
			step = -step
		}
		c, err := count(m[4], tok)
		return c + 1, step, base, false, err
	case m[5] != "": // axn
		c, err := count(m[5], tok)
		return c + 1, 0, base, false, err
	}
	return 1, 0, base, false, nil
}

func count(s, tok string) (int, error) {
	c, err := strconv.Atoi(s)
	if err != nil || c < 0 || c >= maxSeriesPoints {
		return 0, fmt.Errorf("%q: the repeat count must be below %d", tok, maxSeriesPoints)
	}
	return c, nil
}
