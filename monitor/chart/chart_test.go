package chart

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// wellFormed parses svg as XML, as a browser's SVG parser would.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err != nil {
			require.Equal(t, "EOF", err.Error(), svg)
			return
		}
	}
}

func TestHistogramSVG(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     *Histogram
		empty bool
		bars  int // <rect> with a <title>: two per bin (reference, current)
		want  []string
	}{
		{name: "nil", h: nil, empty: true},
		{name: "mismatched", h: &Histogram{Reference: []int64{1}, Current: []int64{1, 2}}, empty: true},
		{name: "numeric", h: &Histogram{Edges: []float64{1, 2, 3}, Min: 0, Max: 4, Reference: []int64{1, 1, 1, 1}, Current: []int64{0, 0, 2, 2}},
			bars: 8, want: []string{"[0, 1): reference 1 (25.0%)", "[3, 4): current 2 (50.0%)", "reference (4)", "current (4)"}},
		{name: "long tail is clipped", h: &Histogram{Edges: []float64{1, 2, 3}, Min: 0, Max: 1000, Reference: []int64{1, 1, 1, 1}, Current: []int64{1, 1, 1, 1}},
			bars: 8, want: []string{"[3, 1000)", "5…"}},
		{name: "constant", h: &Histogram{Edges: []float64{1}, Min: 1, Max: 1, Reference: []int64{0, 3}, Current: []int64{0, 3}}, empty: true},
		{name: "categorical, escaped", h: &Histogram{Categories: []string{"<b>", "DE"}, Reference: []int64{3, 1}, Current: []int64{0, 4}},
			bars: 4, want: []string{"&lt;b&gt;: reference 3 (75.0%)", "DE: current 4 (100.0%)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg := string(HistogramSVG(tc.h, "x & y"))
			if tc.empty {
				require.Empty(t, svg)
				return
			}
			wellFormed(t, svg)
			require.Contains(t, svg, `aria-label="x &amp; y"`)
			require.Equal(t, tc.bars, strings.Count(svg, "</title></rect>"))
			for _, w := range tc.want {
				require.Contains(t, svg, w)
			}
			require.NotContains(t, svg, "NaN")
		})
	}
}

func TestLinesSVG(t *testing.T) {
	require.Empty(t, LinesSVG(nil, "t"))
	require.Empty(t, LinesSVG([]Series{{Name: "one point", X: []float64{1}, Y: []float64{1}}}, "t"))
	svg := string(LinesSVG([]Series{
		{Name: "accuracy v3", X: []float64{0, 1, 2, 3}, Y: []float64{0.9, math.NaN(), 0.8, 0.85}},
		{Name: "accuracy v4", X: []float64{0, 1}, Y: []float64{0.95, 0.95}},
	}, "accuracy"))
	wellFormed(t, svg)
	require.Equal(t, 2, strings.Count(svg, "<path "))
	// The NaN breaks the line: v3 is drawn as two pieces.
	require.Regexp(t, `d="M[^"]*M[^"]*"[^>]*><title>accuracy v3`, svg)
	require.NotContains(t, svg, "NaN")
}
