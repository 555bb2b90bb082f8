// Package chart draws vigil's charts as inline SVG: a feature's reference and current
// histograms, and a metric's values over time. The output is static markup (no script,
// no external resource), so the status page and `vigil report` work without JavaScript
// and a report stays self-contained. Tooltips are SVG <title> elements.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Histogram is two distributions over the same bins: numeric bins given by Edges (bin 0
// below Edges[0], bin i in [Edges[i-1], Edges[i]), the last from the last edge up) and
// bounded by Min and Max, or named Categories.
type Histogram struct {
	Edges      []float64
	Min, Max   float64
	Categories []string
	Reference  []int64
	Current    []int64
}

// Colours of the two series; the page's legend uses the same.
const (
	ReferenceColour = "#9aa5b1"
	CurrentColour   = "#d9480f"
)

const (
	width  = 360
	height = 140
	padL   = 8
	padR   = 8
	padT   = 8
	padB   = 30
)

// HistogramSVG draws h: numeric bins as a density histogram on a true x-scale (so unequal
// decile bins keep their shape), categories as paired bars; the reference in grey, the
// current window in orange outline. It returns "" for a histogram with nothing to draw.
func HistogramSVG(h *Histogram, title string) template.HTML {
	if h == nil || len(h.Reference) == 0 || len(h.Reference) != len(h.Current) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		width, height, width, height, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(title))
	refTotal, curTotal := sum(h.Reference), sum(h.Current)
	plotW, plotH := float64(width-padL-padR), float64(height-padT-padB)
	base := float64(height - padB)
	if len(h.Categories) > 0 {
		n := len(h.Categories)
		ps := func(c []int64, total int64, i int) float64 {
			if total == 0 {
				return 0
			}
			return float64(c[i]) / float64(total)
		}
		top := 0.0
		for i := range n {
			top = max(top, ps(h.Reference, refTotal, i), ps(h.Current, curTotal, i))
		}
		if top == 0 {
			top = 1
		}
		slot := plotW / float64(n)
		bw := slot * 0.4
		for i, name := range h.Categories {
			x := float64(padL) + slot*float64(i) + slot*0.1
			rp, cp := ps(h.Reference, refTotal, i), ps(h.Current, curTotal, i)
			rect(&b, x, base-rp/top*plotH, bw, rp/top*plotH, ReferenceColour, "", fmt.Sprintf("%s: reference %d (%.1f%%)", name, h.Reference[i], 100*rp))
			rect(&b, x+bw, base-cp/top*plotH, bw, cp/top*plotH, CurrentColour, "", fmt.Sprintf("%s: current %d (%.1f%%)", name, h.Current[i], 100*cp))
			if n <= 12 {
				fmt.Fprintf(&b, `<text x="%s" y="%d" font-size="10" text-anchor="middle">%s</text>`,
					num(x+bw), height-padB+12, template.HTMLEscapeString(shorten(name, int(slot/6))))
			}
		}
	} else {
		lo, hi := h.Min, h.Max
		if !(hi > lo) || len(h.Edges)+1 != len(h.Reference) {
			return ""
		}
		// The two open-ended bins are drawn at most two average bin widths wide, so a
		// long tail does not squeeze the rest of the distribution into a corner.
		if n := len(h.Edges); n >= 2 {
			if avg := (h.Edges[n-1] - h.Edges[0]) / float64(n-1); avg > 0 {
				lo = max(lo, h.Edges[0]-2*avg)
				hi = min(hi, h.Edges[n-1]+2*avg)
			}
		}
		// Bin k spans [left(k), right(k)).
		left := func(k int) float64 {
			if k == 0 {
				return lo
			}
			return h.Edges[k-1]
		}
		right := func(k int) float64 {
			if k == len(h.Edges) {
				return hi
			}
			return h.Edges[k]
		}
		xOf := func(v float64) float64 { return float64(padL) + (v-lo)/(hi-lo)*plotW }
		density := func(c []int64, total int64, k int) float64 {
			w := right(k) - left(k)
			if total == 0 || !(w > 0) {
				return 0
			}
			return float64(c[k]) / float64(total) / w
		}
		top := 0.0
		for k := range h.Reference {
			top = max(top, density(h.Reference, refTotal, k), density(h.Current, curTotal, k))
		}
		if top == 0 {
			top = 1
		}
		for _, s := range []struct {
			c      []int64
			total  int64
			fill   string
			stroke string
			name   string
		}{
			{h.Reference, refTotal, ReferenceColour, "", "reference"},
			{h.Current, curTotal, "none", CurrentColour, "current"},
		} {
			for k := range s.c {
				d := density(s.c, s.total, k)
				x0, x1 := xOf(left(k)), xOf(right(k))
				if x1-x0 <= 0 {
					continue
				}
				l, r := left(k), right(k)
				if k == 0 {
					l = h.Min
				}
				if k == len(h.Edges) {
					r = h.Max
				}
				tip := fmt.Sprintf("[%s, %s): %s %d (%.1f%%)", label(l), label(r), s.name, s.c[k], 100*share(s.c[k], s.total))
				rect(&b, x0, base-d/top*plotH, x1-x0, d/top*plotH, s.fill, s.stroke, tip)
			}
		}
		lead, trail := "", ""
		if lo > h.Min {
			lead = "…"
		}
		if hi < h.Max {
			trail = "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10">%s%s</text>`, padL, height-padB+12, lead, label(lo))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end">%s%s</text>`, width-padR, height-padB+12, label(hi), trail)
		if len(h.Edges) > 0 {
			med := h.Edges[len(h.Edges)/2]
			fmt.Fprintf(&b, `<text x="%s" y="%d" font-size="10" text-anchor="middle">%s</text>`, num(xOf(med)), height-padB+12, label(med))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#555"/>`, padL, num(base), width-padR, num(base))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="8" fill="%s"/><text x="%d" y="%d" font-size="10">reference (%d)</text>`,
		padL, height-10, ReferenceColour, padL+14, height-2, refTotal)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="8" fill="none" stroke="%s"/><text x="%d" y="%d" font-size="10">current (%d)</text>`,
		padL+150, height-10, CurrentColour, padL+164, height-2, curTotal)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Series is one line of a LinesSVG chart: values at X positions (any unit, e.g. Unix
// seconds), NaN for a gap.
type Series struct {
	Name   string
	X, Y   []float64
	Colour string
}

// seriesColours are used in order for series without a colour.
var seriesColours = [...]string{"#1971c2", "#d9480f", "#2f9e44", "#9c36b5", "#e67700", "#0c8599"}

// LinesSVG draws series as lines with their values' range on the y-axis. It returns ""
// when no series has two points.
func LinesSVG(series []Series, title string) template.HTML {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	points := 0
	for _, s := range series {
		for i := range s.X {
			if i >= len(s.Y) || math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			xmin, xmax = min(xmin, s.X[i]), max(xmax, s.X[i])
			ymin, ymax = min(ymin, s.Y[i]), max(ymax, s.Y[i])
			points++
		}
	}
	if points < 2 || !(xmax > xmin) {
		return ""
	}
	if !(ymax > ymin) {
		ymin, ymax = ymin-0.5, ymax+0.5
	}
	plotW, plotH := float64(width-padL-padR-40), float64(height-padT-padB)
	xOf := func(x float64) float64 { return float64(padL+40) + (x-xmin)/(xmax-xmin)*plotW }
	yOf := func(y float64) float64 { return float64(padT) + (ymax-y)/(ymax-ymin)*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		width, height, width, height, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="%s" font-size="10">%s</text>`, padL, num(yOf(ymax)+8), label(ymax))
	fmt.Fprintf(&b, `<text x="%d" y="%s" font-size="10">%s</text>`, padL, num(yOf(ymin)), label(ymin))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"/>`, padL+40, height-padB, width-padR, height-padB)
	for si, s := range series {
		colour := s.Colour
		if colour == "" {
			colour = seriesColours[si%len(seriesColours)]
		}
		var path strings.Builder
		pen := false
		for i := range s.X {
			if i >= len(s.Y) || math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%s %s ", cmd, num(xOf(s.X[i])), num(yOf(s.Y[i])))
			pen = true
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5"><title>%s</title></path>`,
			strings.TrimSpace(path.String()), colour, template.HTMLEscapeString(s.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="3" fill="%s"/><text x="%d" y="%d" font-size="10">%s</text>`,
			padL+40+si*110, height-8, colour, padL+54+si*110, height-4, template.HTMLEscapeString(shorten(s.Name, 16)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func rect(b *strings.Builder, x, y, w, h float64, fill, stroke, tip string) {
	if h < 0 {
		h = 0
	}
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"`, num(x), num(y), num(w), num(h), fill)
	if stroke != "" {
		fmt.Fprintf(b, ` stroke="%s" stroke-width="1.5"`, stroke)
	}
	if fill != "none" {
		b.WriteString(` fill-opacity="0.75"`)
	}
	fmt.Fprintf(b, `><title>%s</title></rect>`, template.HTMLEscapeString(tip))
}

func sum(c []int64) int64 {
	var t int64
	for _, v := range c {
		t += v
	}
	return t
}

func share(c, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(c) / float64(total)
}

// num formats an SVG coordinate.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// label formats an axis value in at most 4 significant digits.
func label(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func shorten(s string, n int) string {
	r := []rune(s)
	if n < 2 {
		n = 2
	}
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
