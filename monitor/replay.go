package monitor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilml/vigil/monitor/event"
	"github.com/vigilml/vigil/rules"
)

// ReplayOptions say what to replay.
type ReplayOptions struct {
	Config *Config
	// Predictions and Labels are NDJSON files in the ingest format, each in event-time
	// order; Labels may be "".
	Predictions, Labels string
	// Progress is called with the bytes of Predictions read and its size.
	Progress func(read, total int64)
	Logger   *slog.Logger
}

// ReplayAlert is one alert that fired during a replay.
type ReplayAlert struct {
	Rule        string            `json:"rule"`
	Severity    string            `json:"severity"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Value       float64           `json:"value"`
	FiredAt     time.Time         `json:"fired_at"`
	ResolvedAt  *time.Time        `json:"resolved_at,omitempty"`
}

// ReplayReport is what a replay found.
type ReplayReport struct {
	Predictions int64                  `json:"predictions"`
	Labels      int64                  `json:"labels"`
	Rejected    int64                  `json:"rejected"`
	Evaluations int                    `json:"evaluations"`
	Start       time.Time              `json:"start"`
	End         time.Time              `json:"end"`
	Alerts      []ReplayAlert          `json:"alerts"`
	Rules       []string               `json:"rules"`
	Models      map[string]*ModelStats `json:"models"`
}

// maxReplayEvaluations bounds the evaluations of one replay (a gap of months in the
// data at a 30 s interval would otherwise take hours of empty evaluations).
const maxReplayEvaluations = 1 << 20

// Replay runs windows, statistics and rules over recorded traffic as if it were live,
// with the records' event time as the clock: predictions and labels are applied in time
// order, and an evaluation runs every global.evaluation_interval of event time. Records
// without a timestamp take the time of the record before them.
func Replay(opts ReplayOptions) (*ReplayReport, error) {
	cfg := opts.Config
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	met := newMetrics(prometheus.NewRegistry())
	models := map[string]*modelState{}
	var scratch evalScratch // shared: the models are evaluated one after another
	for _, mc := range cfg.Models {
		models[mc.Name] = newModelState(mc, met.forModel(mc.Name), cfg.profiles[mc.Name])
	}
	mgr := rules.NewManager(rules.Options{Logger: logger})
	mgr.Update(cfg.compiled, modelNames(cfg))
	rep := &ReplayReport{Alerts: []ReplayAlert{}, Models: map[string]*ModelStats{}}
	for _, r := range mgr.Rules() {
		rep.Rules = append(rep.Rules, r.Name())
	}
	interval := time.Duration(cfg.Global.EvaluationInterval)
	fired := map[string]int{} // alert identity → index in rep.Alerts

	var next, last time.Time
	evaluate := func(ts time.Time) error {
		rep.Evaluations++
		if rep.Evaluations > maxReplayEvaluations {
			return fmt.Errorf("more than %d evaluations: the data spans too long for evaluation_interval %s", maxReplayEvaluations, interval)
		}
		stats := make(map[string]*ModelStats, len(models))
		for name, ms := range models {
			s := ms.evaluate(ts, &scratch)
			stats[name] = &s
		}
		rep.Models = stats
		for _, a := range mgr.Eval(context.Background(), ts, &signalSource{stats: stats, now: ts, started: rep.Start}) {
			key := a.Rule + "\x00" + labelKey(a.Labels)
			i, seen := fired[key]
			switch {
			case a.State == rules.StateFiring && (!seen || rep.Alerts[i].ResolvedAt != nil):
				fired[key] = len(rep.Alerts)
				rep.Alerts = append(rep.Alerts, ReplayAlert{Rule: a.Rule, Severity: a.Severity, Labels: a.Labels,
					Annotations: a.Annotations, Value: a.Value, FiredAt: a.FiredAt})
			case a.Resolved() && seen && rep.Alerts[i].ResolvedAt == nil:
				t := a.ResolvedAt
				rep.Alerts[i].ResolvedAt = &t
			}
		}
		return nil
	}
	// advance runs the evaluations due before an event at t.
	advance := func(t time.Time) error {
		if t.IsZero() {
			t = last
		}
		if rep.Start.IsZero() {
			rep.Start, next = t, t.Add(interval)
		}
		for !t.Before(next) {
			if err := evaluate(next); err != nil {
				return err
			}
			next = next.Add(interval)
		}
		if t.After(last) {
			last = t
		}
		return nil
	}

	labels, err := newLabelReader(opts.Labels)
	if err != nil {
		return nil, err
	}
	defer labels.close()
	applyLabelsUntil := func(t time.Time) error {
		for {
			l, ok, err := labels.peek()
			if err != nil || !ok || (!t.IsZero() && l.Time.After(t)) {
				return err
			}
			if err := advance(l.Time); err != nil {
				return err
			}
			if ms := models[l.Model]; ms == nil {
				rep.Rejected++
			} else if rej := ms.addLabel(&l, last); rej != nil {
				rep.Rejected++
			} else {
				rep.Labels++
			}
			labels.pop()
		}
	}

	f, err := os.Open(opts.Predictions)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	info, _ := f.Stat()
	br := bufio.NewReaderSize(f, 1<<20)
	dec := event.NewDecoder(event.Limits{MaxFeatures: cfg.Ingest.MaxFeaturesPerEvent, MaxStringLen: cfg.Ingest.MaxStringLength})
	var read int64
	var lastProgress time.Time
	var stepErr error
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		read += int64(len(line))
		if len(strings.TrimSpace(string(line))) > 0 {
			_, errs, derr := dec.Predictions(line, event.NDJSON, "", func(_ int, p *event.Prediction) {
				if stepErr = applyLabelsUntil(p.Time); stepErr != nil {
					return
				}
				if stepErr = advance(p.Time); stepErr != nil {
					return
				}
				ms := models[p.Model]
				if ms == nil || ms.addPrediction(p, last) != nil {
					rep.Rejected++
					return
				}
				rep.Predictions++
			})
			if stepErr != nil {
				return nil, stepErr
			}
			if derr != nil || len(errs) > 0 {
				rep.Rejected++
				if rep.Rejected <= 20 {
					logger.Warn("record rejected", "file", opts.Predictions, "line", lineNo, "err", errors.Join(derr, recordErrs(errs)))
				}
			}
		}
		if opts.Progress != nil && time.Since(lastProgress) > 100*time.Millisecond {
			opts.Progress(read, info.Size())
			lastProgress = time.Now()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("replay: %s: %w", opts.Predictions, err)
		}
	}
	if err := applyLabelsUntil(time.Time{}); err != nil { // labels after the last prediction
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(info.Size(), info.Size())
	}
	if rep.Start.IsZero() {
		return nil, fmt.Errorf("replay: %s holds no usable prediction", opts.Predictions)
	}
	rep.End = last
	if err := evaluate(last); err != nil {
		return nil, err
	}
	return rep, nil
}

func recordErrs(errs []event.RecordError) error {
	var out []error
	for i := range errs {
		out = append(out, &errs[i])
	}
	return errors.Join(out...)
}

func labelKey(l map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b.WriteString(k + "=" + l[k] + ",")
	}
	return b.String()
}

// labelReader reads a labels NDJSON file one label ahead.
type labelReader struct {
	f    *os.File
	br   *bufio.Reader
	dec  *event.Decoder
	head *event.Label
	eof  bool
}

func newLabelReader(path string) (*labelReader, error) {
	r := &labelReader{dec: event.NewDecoder(event.Limits{}), eof: path == ""}
	if path == "" {
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay labels: %w", err)
	}
	r.f, r.br = f, bufio.NewReaderSize(f, 1<<20)
	return r, nil
}

// peek returns the next label without consuming it.
func (r *labelReader) peek() (event.Label, bool, error) {
	for r.head == nil && !r.eof {
		line, err := r.br.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			_, _, _ = r.dec.Labels(line, event.NDJSON, "", func(_ int, l *event.Label) {
				c := *l
				r.head = &c
			})
		}
		if errors.Is(err, io.EOF) {
			r.eof = true
		} else if err != nil {
			return event.Label{}, false, fmt.Errorf("replay labels: %w", err)
		}
	}
	if r.head == nil {
		return event.Label{}, false, nil
	}
	return *r.head, true, nil
}

func (r *labelReader) pop() { r.head = nil }

func (r *labelReader) close() {
	if r.f != nil {
		r.f.Close()
	}
}
