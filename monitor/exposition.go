package monitor

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The /metrics handler.
//
// A daemon watching many models exports about ten thousand series of statistics. Through
// the client library each scrape builds a const metric per series, sorts and checks them
// in Gather and encodes them (BenchmarkMetrics: 34-63 CPU-ms for 12.6k series), so the
// handler writes the statistics in the text format itself, with the output promhttp
// gives byte for byte, and leaves every other family (Go and process collectors, counters,
// the rules', sources' and canary families) to the registry and expfmt. Requests the fast
// path does not cover are served by promhttp over the same families:
//
//   - an Accept that negotiates protobuf (Prometheus asks for it when native histograms
//     are on); OpenMetrics is not offered, as before, so such requests get text 0.0.4;
//   - an Accept-Encoding with parameters (q-values), which promhttp's negotiation decides;
//   - the name[] filter;
//   - a failed Gather or duplicate series, which promhttp reports as an error (500).

// familyText is the literal text of one statistics family.
type familyText struct {
	header string   // the # HELP and # TYPE lines
	parts  []string // parts[0] is `name{l0="`, parts[i] `",li="`, the last `"} `
	// order holds the label positions in label-name order: the client library writes
	// labels, and sorts series, in that order.
	order []int
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func newFamilyText(name, help string, vt prometheus.ValueType, labels []string) familyText {
	typ := "gauge"
	if vt == prometheus.CounterValue {
		typ = "counter"
	}
	t := familyText{
		header: "# HELP " + name + " " + helpEscaper.Replace(help) + "\n# TYPE " + name + " " + typ + "\n",
		order:  make([]int, len(labels)),
	}
	for i := range t.order {
		t.order[i] = i
	}
	slices.SortFunc(t.order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	for i, p := range t.order {
		sep := `",`
		if i == 0 {
			sep = name + "{"
		}
		t.parts = append(t.parts, sep+labels[p]+`="`)
	}
	t.parts = append(t.parts, `"} `)
	return t
}

// statSeries is one series of a statistics family: its label values in label-name order.
type statSeries struct {
	key labelValues
	v   float64
}

// scrapeBuf is one scrape's working memory, reused through a pool.
type scrapeBuf struct {
	series [numStatFamilies][]statSeries
	sorted [numStatFamilies][]*statSeries // series in exposition order
	out    bytes.Buffer
}

var errDuplicateSeries = errors.New("duplicate series")

// collectText gathers the snapshot's statistics into b.series and puts each family in
// b.sorted in the client library's order: by label values, compared in label-name order.
func (c *statsCollector) collectText(snapshot map[string]*ModelStats, b *scrapeBuf) error {
	for f := range b.series {
		b.series[f] = b.series[f][:0]
	}
	c.walk(snapshot, func(f int, v float64, l labelValues) {
		s := statSeries{v: v}
		for i, p := range c.fams[f].text.order {
			s.key[i] = l[p]
		}
		b.series[f] = append(b.series[f], s)
	})
	for f := range b.series {
		n := len(c.fams[f].labels)
		cmp := func(a, b *statSeries) int {
			for i := range n {
				if c := strings.Compare(a.key[i], b.key[i]); c != 0 {
					return c
				}
			}
			return 0
		}
		// Sorting pointers moves 8 bytes where a statSeries is 72.
		ss := b.sorted[f][:0]
		for i := range b.series[f] {
			ss = append(ss, &b.series[f][i])
		}
		slices.SortFunc(ss, cmp)
		for i := 1; i < len(ss); i++ {
			if cmp(ss[i-1], ss[i]) == 0 {
				return fmt.Errorf("%s: %w %v", c.fams[f].name, errDuplicateSeries, ss[i].key[:n])
			}
		}
		b.sorted[f] = ss
	}
	return nil
}

// appendFamily appends the series of family f in the text format.
func (c *statsCollector) appendFamily(out []byte, f int, series []*statSeries) []byte {
	t := &c.fams[f].text
	out = append(out, t.header...)
	n := len(t.order)
	for _, s := range series {
		for j := range n {
			out = append(out, t.parts[j]...)
			out = appendLabelValue(out, s.key[j])
		}
		out = append(out, t.parts[n]...)
		out = appendFloat(out, s.v)
		out = append(out, '\n')
	}
	return out
}

// appendLabelValue escapes as the text format requires: backslash, double quote and new
// line. Label values are valid UTF-8 (walk sees to it).
func appendLabelValue(out []byte, v string) []byte {
	i := 0
	for i < len(v) && v[i] != '\\' && v[i] != '"' && v[i] != '\n' {
		i++
	}
	out = append(out, v[:i]...)
	for ; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			out = append(out, `\\`...)
		case '"':
			out = append(out, `\"`...)
		case '\n':
			out = append(out, `\n`...)
		default:
			out = append(out, c)
		}
	}
	return out
}

// appendFloat formats a sample value as expfmt does.
func appendFloat(out []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(out, '1')
	case f == 0:
		return append(out, '0')
	case f == -1:
		return append(out, "-1"...)
	case math.IsNaN(f):
		return append(out, "NaN"...)
	case math.IsInf(f, +1):
		return append(out, "+Inf"...)
	case math.IsInf(f, -1):
		return append(out, "-Inf"...)
	}
	return strconv.AppendFloat(out, f, 'g', -1, 64)
}

// metricsHandler serves /metrics: the registry's families through expfmt, merged in name
// order with the statistics written by statsCollector, or promhttp for what that does not
// cover.
type metricsHandler struct {
	reg      *prometheus.Registry
	stats    *statsCollector
	fallback http.Handler
	formats  []expfmt.Format
	errLog   promhttp.Logger
	errCnt   *prometheus.CounterVec
	bufs     sync.Pool // of *scrapeBuf
	gzips    sync.Pool // of *gzip.Writer
}

func newMetricsHandler(reg *prometheus.Registry, stats *statsCollector, all prometheus.Gatherer, errLog promhttp.Logger) *metricsHandler {
	h := &metricsHandler{
		reg: reg, stats: stats, errLog: errLog,
		fallback: promhttp.HandlerFor(all, promhttp.HandlerOpts{ErrorLog: errLog, Registry: reg}),
		formats:  expfmt.DefaultAcceptedFormats(),
	}
	// promhttp registered its error counter; count the fast path's errors there too.
	h.errCnt = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promhttp_metric_handler_errors_total",
		Help: "Total number of internal errors encountered by the promhttp metric handler.",
	}, []string{"cause"})
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(reg.Register(h.errCnt), &are) {
		h.errCnt = are.ExistingCollector.(*prometheus.CounterVec)
	}
	h.bufs.New = func() any { return new(scrapeBuf) }
	h.gzips.New = func() any { return gzip.NewWriter(nil) }
	return h
}

// ServeHTTP implements http.Handler.
func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := expfmt.NegotiateAccept(r.Header, h.formats...)
	gz, simple := negotiateGzip(r.Header)
	if !simple || format.FormatType() != expfmt.TypeTextPlain || (r.URL.RawQuery != "" && r.URL.Query().Has("name[]")) {
		h.fallback.ServeHTTP(w, r)
		return
	}
	mfs, err := h.reg.Gather()
	if err != nil {
		h.fallback.ServeHTTP(w, r) // gathers again, and reports the error as promhttp does
		return
	}
	b := h.bufs.Get().(*scrapeBuf)
	defer h.bufs.Put(b)
	if err := h.render(b, mfs, format); err != nil {
		h.fallback.ServeHTTP(w, r)
		return
	}
	w.Header().Add("Vary", "Accept")
	w.Header().Add("Vary", "Accept-Encoding")
	w.Header().Set("Content-Type", string(format))
	if gz {
		w.Header().Set("Content-Encoding", "gzip")
		z := h.gzips.Get().(*gzip.Writer)
		z.Reset(w)
		_, err = z.Write(b.out.Bytes())
		err = errors.Join(err, z.Close())
		h.gzips.Put(z)
	} else {
		_, err = w.Write(b.out.Bytes())
	}
	if err != nil {
		h.errLog.Println("error encoding and sending metric family:", err)
		h.errCnt.WithLabelValues("encoding").Inc()
	}
}

// render writes the exposition into b.out: the registry's families and the statistics,
// merged in name order as Gather orders them.
func (h *metricsHandler) render(b *scrapeBuf, mfs []*dto.MetricFamily, format expfmt.Format) (err error) {
	// A panic in the walk (a snapshot breaking its invariants) becomes an error, so that
	// promhttp answers: its Gather recovers the same panic and reports it with a 500.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("statistics: %v", r)
		}
	}()
	c := h.stats
	if err := c.collectText(c.snapshot(), b); err != nil {
		return err
	}
	b.out.Reset()
	enc := expfmt.NewEncoder(&b.out, format)
	fams := c.byName[:]
	for len(mfs) > 0 || len(fams) > 0 {
		if len(fams) > 0 && len(b.series[fams[0]]) == 0 {
			fams = fams[1:] // Gather leaves out families without series
			continue
		}
		if len(fams) == 0 || len(mfs) > 0 && mfs[0].GetName() < c.fams[fams[0]].name {
			if err := enc.Encode(mfs[0]); err != nil {
				return err
			}
			mfs = mfs[1:]
			continue
		}
		if len(mfs) > 0 && mfs[0].GetName() == c.fams[fams[0]].name {
			return fmt.Errorf("family %s comes from two collectors", mfs[0].GetName())
		}
		f := fams[0]
		b.out.Write(c.appendFamily(b.out.AvailableBuffer(), f, b.sorted[f]))
		fams = fams[1:]
	}
	return nil
}

// negotiateGzip decides the response's compression as promhttp does (it offers identity
// and gzip, in that order): gzip only when the client names gzip and neither identity nor
// *. simple is false for a header this does not parse (q-values, parameters, odd
// characters), which promhttp then decides.
func negotiateGzip(h http.Header) (gz, simple bool) {
	var gzipOK, identityOK bool
	for _, v := range h.Values("Accept-Encoding") {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.Trim(tok, " \t")
			if tok == "" || strings.IndexFunc(tok, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
				return false, false
			}
			switch tok {
			case "gzip":
				gzipOK = true
			case "identity", "*":
				identityOK = true
			}
		}
	}
	return gzipOK && !identityOK, true
}

// isTokenChar reports whether r may appear in an HTTP token (RFC 9110), or is the '/'
// promhttp's parser also takes.
func isTokenChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~/", r)
}
