package monitor

import (
	"bytes"
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/drift/quality"
)

// csvColumns reads testdata CSV columns by name.
func csvColumns(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	out := map[string][]string{}
	for _, rec := range recs[1:] {
		for i, name := range recs[0] {
			out[name] = append(out[name], rec[i])
		}
	}
	return out
}

func floats(t *testing.T, s []string) []float64 {
	t.Helper()
	out := make([]float64, len(s))
	for i, v := range s {
		var err error
		out[i], err = strconv.ParseFloat(v, 64)
		require.NoError(t, err)
	}
	return out
}

func counts(s []string) map[string]int64 {
	out := map[string]int64{}
	for _, v := range s {
		out[v]++
	}
	return out
}

// parsedReport is what the test reads back out of the report's HTML.
type parsedReport struct {
	features map[string]map[string]string // section id → data-* attributes
	quality  map[string]string            // metric → data-value of the whole-window row
	text     string
	external []string // src/href pointing outside the page
}

func parseReport(t *testing.T, page []byte) parsedReport {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	p := parsedReport{features: map[string]map[string]string{}, quality: map[string]string{}}
	attr := func(n *html.Node, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	var text strings.Builder
	var qualityTable *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			if n.Data == "script" {
				p.external = append(p.external, "<script>")
			}
			for _, key := range []string{"src", "href"} {
				if v, ok := attr(n, key); ok && !strings.HasPrefix(v, "#") {
					p.external = append(p.external, v)
				}
			}
			if id, ok := attr(n, "id"); ok && strings.HasPrefix(id, "feature-") {
				m := map[string]string{}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "data-") {
						m[strings.TrimPrefix(a.Key, "data-")] = a.Val
					}
				}
				p.features[strings.TrimPrefix(id, "feature-")] = m
			}
			if c, _ := attr(n, "class"); n.Data == "table" && c == "quality" {
				qualityTable = n
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	p.text = text.String()

	// The quality table: the header names the metrics; the "whole window" row holds them.
	require.NotNil(t, qualityTable, "the report has a quality table")
	var header []string
	var rows [][]*html.Node
	var collect func(*html.Node)
	collect = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var cells []*html.Node
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode {
					cells = append(cells, c)
				}
			}
			if len(cells) > 0 && cells[0].Data == "th" {
				for _, c := range cells {
					header = append(header, c.FirstChild.Data)
				}
			} else {
				rows = append(rows, cells)
			}
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(qualityTable)
	for _, cells := range rows {
		if cells[1].FirstChild == nil || cells[1].FirstChild.Data != "whole window" {
			continue
		}
		for i := 3; i < len(cells) && i < len(header); i++ {
			v, _ := attr(cells[i], "data-value")
			p.quality[header[i]] = v
		}
	}
	return p
}

func requireSameFloat(t *testing.T, want float64, got, what string) {
	t.Helper()
	v, err := strconv.ParseFloat(got, 64)
	require.NoError(t, err, "%s: %q", what, got)
	require.InEpsilon(t, want, v, 1e-12, what)
}

// TestReportMatchesTheDriftPackage builds reports from testdata, parses their HTML and
// checks every drift figure and the quality against the drift and quality packages run on
// the same rows.
func TestReportMatchesTheDriftPackage(t *testing.T) {
	cfg, err := LoadFile("testdata/report/fraud.yaml")
	require.NoError(t, err)
	ref := csvColumns(t, "testdata/report/reference.csv")
	cur := csvColumns(t, "testdata/report/current.csv")
	split := func(c map[string][]string, lo, hi int) map[string][]string {
		out := map[string][]string{}
		for k, v := range c {
			out[k] = v[lo:hi]
		}
		return out
	}

	for _, tc := range []struct {
		name      string
		reference string
		refSize   int // {window: first, size: N} in the config; 0 keeps the config's
		ref, cur  map[string][]string
		refDesc   string
		drifted   string // amount's verdict
	}{
		{name: "reference file", reference: "testdata/report/reference.csv", ref: ref, cur: cur, refDesc: "reference.csv", drifted: "true"},
		// Both halves come from the same (shifted) distribution.
		{name: "first rows of the input", refSize: 200, ref: split(cur, 0, 200), cur: split(cur, 200, 500), refDesc: "the first 200 rows of current.csv", drifted: "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			c.Models = []ModelConfig{cfg.Models[0]}
			if tc.refSize > 0 {
				c.Models[0].Reference = ReferenceConfig{Window: "first", Size: tc.refSize}
			}
			var progressed bool
			rep, err := BuildReport(ReportOptions{
				Config: &c, Input: "testdata/report/current.csv", Reference: tc.reference,
				PredictionColumn: "prediction", ScoreColumn: "score", IDColumn: "id",
				Progress: func(string, int64, int64) { progressed = true },
			})
			require.NoError(t, err)
			require.True(t, progressed)
			require.Equal(t, int64(len(tc.cur["id"])), rep.Rows)
			require.Equal(t, int64(len(tc.ref["id"])), rep.RefRows)
			require.Equal(t, tc.refDesc, rep.Reference)
			var page bytes.Buffer
			require.NoError(t, rep.WriteHTML(&page))
			got := parseReport(t, page.Bytes())
			require.Empty(t, got.external, "the report is self-contained")
			require.Contains(t, got.text, tc.refDesc)

			// Numeric features: KS decides (reference ≤ drift.large_sample).
			for _, f := range []struct{ name, column string }{{"amount", "amount"}, {PredictionFeature, "score"}} {
				res := drift.NewSample(floats(t, tc.ref[f.column])).Compare(drift.NewSample(floats(t, tc.cur[f.column])))
				attrs := got.features[f.name]
				require.Equal(t, MethodKS, attrs["method"], f.name)
				requireSameFloat(t, res.KS, attrs["score"], f.name+" ks")
				requireSameFloat(t, res.KSPValue, attrs["p-value"], f.name+" ks p-value")
			}
			require.Equal(t, tc.drifted, got.features["amount"]["detected"], "amount is shifted by 25 in current.csv only")

			// The categorical feature: chi-square.
			res := drift.CompareCategorical(counts(tc.ref["country"]), counts(tc.cur["country"]))
			attrs := got.features["country"]
			require.Equal(t, MethodChiSquare, attrs["method"])
			requireSameFloat(t, res.ChiSquare, attrs["score"], "country chi_square")
			requireSameFloat(t, res.ChiSquarePValue, attrs["p-value"], "country chi_square p-value")
			require.Equal(t, "false", attrs["detected"])

			// Quality of the current rows.
			var y, pred []bool
			for i := range tc.cur["label"] {
				y = append(y, tc.cur["label"][i] == "1")
				pred = append(pred, tc.cur["prediction"][i] == "1")
			}
			conf := quality.BinaryConfusion(y, pred)
			requireSameFloat(t, conf.Accuracy(), got.quality["accuracy"], "accuracy")
			requireSameFloat(t, conf.F1(), got.quality["f1"], "f1")
			scores := floats(t, tc.cur["score"])
			auc, err := quality.ROCAUC(y, scores)
			require.NoError(t, err)
			requireSameFloat(t, auc, got.quality["auc"], "auc")

			// The histogram drawn is the PSI bins' counts.
			h := rep.Stats.Features[0].Histogram
			s := drift.NewSample(floats(t, tc.ref["amount"]))
			require.Equal(t, s.Bins().CountsSorted(s), h.Reference)
			require.Equal(t, s.Bins().Counts(floats(t, tc.cur["amount"])), h.Current)
		})
	}
}

func TestReportErrors(t *testing.T) {
	cfg, err := LoadFile("testdata/report/fraud.yaml")
	require.NoError(t, err)
	two := *cfg
	two.Models = append([]ModelConfig{}, cfg.Models[0], cfg.Models[0])
	two.Models[1].Name = "other"
	small := *cfg
	small.Models = []ModelConfig{cfg.Models[0]}
	small.Models[0].Reference = ReferenceConfig{Window: "first", Size: 10000}
	for _, tc := range []struct {
		name string
		opts ReportOptions
		want string
	}{
		{"unknown model", ReportOptions{Config: cfg, Model: "nope", Input: "testdata/report/current.csv"}, `model "nope" is not in the config`},
		{"several models", ReportOptions{Config: &two, Input: "testdata/report/current.csv"}, "the config has 2 models; name one with --model"},
		{"missing file", ReportOptions{Config: cfg, Input: "testdata/report/nope.csv"}, "nope.csv"},
		{"reference larger than the data", ReportOptions{Config: &small, Input: "testdata/report/current.csv"}, "too few to split"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildReport(tc.opts)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
