package monitor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilml/vigil/monitor/dataset"
	"github.com/vigilml/vigil/monitor/event"
)

// ReportOptions say what `vigil report` compares.
type ReportOptions struct {
	Config *Config
	// Model names the config's model; "" when the config has exactly one.
	Model string
	// Input is the data file to report on: CSV, NDJSON (the ingest format) or Parquet.
	Input string
	// Reference is a data file of the same kind to compare Input with. When "", the
	// model's configured reference is used: its profile, or for {window: first, size: N}
	// the first N rows of Input, or for {window: previous} the first half of Input
	// (the rest is the current window).
	Reference string
	// PredictionColumn, ScoreColumn, LabelColumn and IDColumn name the model's output,
	// the true label and the row id in a CSV or Parquet file. LabelColumn defaults to
	// "label" when the file has such a column.
	PredictionColumn, ScoreColumn, LabelColumn, IDColumn string
	// Chunks is how many consecutive slices of the current data the quality chart shows;
	// default 10.
	Chunks int
	// Progress is called with the bytes read and the size of the file being read.
	Progress func(file string, read, total int64)
	Logger   *slog.Logger
	// Now stamps the report; default time.Now.
	Now func() time.Time
}

// Report is an offline drift and quality report of one data file.
type Report struct {
	Model       string
	Task        Task
	Input       string
	Reference   string // what the reference is, in words
	Rows        int64  // current rows
	RefRows     int64
	Rejected    int64
	GeneratedAt time.Time
	Version     string
	Stats       *ModelStats
	// Chunks is the number of slices of the current data in the quality chart.
	Chunks int
	body   reportBody
}

// BuildReport reads the reference and the input through the same windows, statistics and
// charts as the daemon, and returns the report.
func BuildReport(opts ReportOptions) (*Report, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Chunks <= 0 {
		opts.Chunks = 10
	}
	cfg := opts.Config
	var mc *ModelConfig
	switch {
	case opts.Model != "":
		if mc = cfg.Model(opts.Model); mc == nil {
			return nil, fmt.Errorf("report: model %q is not in the config", opts.Model)
		}
	case len(cfg.Models) == 1:
		mc = &cfg.Models[0]
	default:
		return nil, fmt.Errorf("report: the config has %d models; name one with --model", len(cfg.Models))
	}
	rep := &Report{Model: mc.Name, Task: mc.Task, Input: opts.Input, GeneratedAt: opts.Now()}
	at := rep.GeneratedAt

	rows, err := countRows(opts.Input, mc, opts)
	if err != nil {
		return nil, err
	}
	m := *mc
	m.Window = WindowConfig{Size: int(rows)}
	profile := cfg.profiles[mc.Name]
	skip := int64(0) // rows of Input that are the reference
	switch {
	case opts.Reference != "":
		refRows, err := countRows(opts.Reference, mc, opts)
		if err != nil {
			return nil, err
		}
		if refRows == 0 {
			return nil, fmt.Errorf("report: %s has no usable row", opts.Reference)
		}
		m.Reference, profile = ReferenceConfig{Window: "first", Size: int(refRows)}, nil
		rep.Reference, rep.RefRows = filepath.Base(opts.Reference), refRows
	case profile != nil:
		rep.Reference, rep.RefRows = "profile "+mc.Reference.Profile, profile.p.Source.Rows
	case mc.Reference.Window == "first":
		skip = min(int64(mc.Reference.Size), rows)
		rep.Reference = fmt.Sprintf("the first %d rows of %s", skip, filepath.Base(opts.Input))
	default: // previous
		skip = rows / 2
		m.Reference = ReferenceConfig{Window: "first", Size: int(skip)}
		rep.Reference = fmt.Sprintf("the first half of %s (%d rows)", filepath.Base(opts.Input), skip)
	}
	if opts.Reference == "" && profile == nil {
		if skip == 0 || skip == rows {
			return nil, fmt.Errorf("report: %s has %d rows: too few to split into a reference and a current window (give --reference)", opts.Input, rows)
		}
		m.Reference = ReferenceConfig{Window: "first", Size: int(skip)}
		rep.RefRows = skip
	}
	rep.Rows = rows - skip
	m.Window.Size = int(rep.Rows)

	ms := newModelState(m, newMetrics(prometheus.NewRegistry()).forModel(m.Name), profile)
	// chunk holds one slice of the current rows at a time, for the quality chart.
	cm := m
	chunkSize := max(1, int(rep.Rows)/opts.Chunks)
	cm.Window, cm.Reference = WindowConfig{Size: chunkSize}, ReferenceConfig{Window: "first", Size: 1}
	chunk := newModelState(cm, newMetrics(prometheus.NewRegistry()).forModel(m.Name), nil)
	var points []qualityPoint
	scratch := &evalScratch{} // shared by the two model states, evaluated in turn

	if opts.Reference != "" {
		if _, err := feed(opts.Reference, mc, opts, func(*event.Prediction, *event.Label) {}, ms); err != nil {
			return nil, err
		}
	}
	n := int64(0)
	rejected, err := feed(opts.Input, mc, opts, func(p *event.Prediction, l *event.Label) {
		n++
		if n <= skip {
			return
		}
		if l != nil {
			_ = ms.addLabel(l, at)
		}
		if rej := chunk.addPrediction(p, at); rej == nil && l != nil {
			_ = chunk.addLabel(l, at)
		}
		if (n-skip)%int64(chunkSize) == 0 {
			s := chunk.evaluate(at, scratch)
			p := qualityPoint{at: time.Unix(n-skip, 0), values: map[string]float64{}}
			for _, q := range s.Quality {
				if q.Segment == AllValue {
					p.values[q.Version+"\x00"+q.Metric] = q.Value
				}
			}
			points = append(points, p)
		}
	}, ms)
	if err != nil {
		return nil, err
	}
	rep.Rejected = rejected
	st := ms.evaluate(at, scratch)
	rep.Stats = &st
	rep.Chunks = len(points)
	rep.body = newReportBody(&st, mc, qualityChart(points, headlineMetric(m.Task)))
	rep.body.QualityCaption = fmt.Sprintf("%s of each of %d consecutive slices of %d rows (x: rows read)", headlineMetric(m.Task), len(points), chunkSize)
	return rep, nil
}

func (o ReportOptions) datasetOptions(mc *ModelConfig, path string) dataset.Options {
	d := dataset.Options{
		PredictionColumn: o.PredictionColumn, ScoreColumn: o.ScoreColumn, LabelColumn: o.LabelColumn,
		IDColumn: o.IDColumn, Model: mc.Name, Types: map[string]dataset.ColumnType{},
	}
	for _, f := range mc.Features {
		d.FeatureColumns = append(d.FeatureColumns, f.Name)
		d.Types[f.Name] = dataset.Numeric
		if f.Type == Categorical {
			d.Types[f.Name] = dataset.Categorical
		}
	}
	if o.Progress != nil {
		d.Progress = func(read, total int64) { o.Progress(path, read, total) }
	}
	return d
}

// openReport opens path for the report; without a label column it looks for "label".
func openReport(path string, mc *ModelConfig, opts ReportOptions) (*dataset.Reader, error) {
	d := opts.datasetOptions(mc, path)
	if d.LabelColumn == "" {
		if f, err := dataset.FormatFromPath(path); err == nil && f != dataset.NDJSON {
			probe := d
			probe.LabelColumn, probe.Progress = "label", nil
			if r, err := dataset.Open(path, probe); err == nil {
				_ = r.Close()
				d.LabelColumn = "label"
			}
		}
	}
	r, err := dataset.Open(path, d)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return r, nil
}

// countRows counts the usable rows of path.
func countRows(path string, mc *ModelConfig, opts ReportOptions) (int64, error) {
	opts.Progress = nil
	r, err := openReport(path, mc, opts)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for {
		if _, err := r.Next(); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return 0, fmt.Errorf("report: %s: %w", path, err)
		}
		n++
	}
}

// feed applies every row of path to ms as a prediction, then calls each with the row's
// prediction and its label (nil without one). It returns the rows rejected.
func feed(path string, mc *ModelConfig, opts ReportOptions, each func(*event.Prediction, *event.Label), ms *modelState) (int64, error) {
	r, err := openReport(path, mc, opts)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	at := time.Unix(0, 0)
	var rejected int64
	logged := 0
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("report: %s: %w", path, err)
		}
		p := &row.Prediction
		if p.ID == "" {
			p.ID = "row-" + strconv.FormatInt(row.Line, 10)
		}
		if rej := ms.addPrediction(p, at); rej != nil {
			rejected++
			if logged++; logged <= maxLoggedRowErrors {
				opts.Logger.Warn("row rejected", "file", path, "line", row.Line, "reason", rej.reason, "err", rej.err)
			}
			continue
		}
		var l *event.Label
		if row.HasLabel {
			l = &event.Label{Model: mc.Name, ID: p.ID, Label: row.Label}
		}
		each(p, l)
	}
	return rejected + r.Stats().Rejected, nil
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS and SVG, no
// script, no external resource.
func (r *Report) WriteHTML(w io.Writer) error {
	return pageTemplates.ExecuteTemplate(w, "report.html", r)
}

// Body is the sections the report shares with the status page.
func (r *Report) Body() reportBody { return r.body }
