package monitor

import (
	"strings"
	"time"

	"github.com/vigilml/vigil/rules"
)

// signalSource answers the rules' questions from one evaluation's statistics. Whole-model
// values have Feature, Segment and Version "".
type signalSource struct {
	stats   map[string]*ModelStats
	now     time.Time
	started time.Time
}

// Values implements rules.Source.
func (s *signalSource) Values(model, signal string) []rules.Value {
	st := s.stats[model]
	if st == nil {
		return nil
	}
	family, rest, _ := strings.Cut(signal, ".")
	var out []rules.Value
	add := func(feature, segment, version string, v float64, samples int) {
		out = append(out, rules.Value{Model: model, Feature: feature, Segment: segment, Version: version, Value: v, Samples: samples})
	}
	switch family {
	case rules.FamilyQuality:
		for _, q := range st.Quality {
			if q.Metric == rest {
				seg := q.Segment
				if seg == AllValue {
					seg = ""
				}
				add("", seg, q.Version, q.Value, q.Samples)
			}
		}
	case rules.FamilyDrift:
		s.drift(st, rest, add)
	case rules.FamilyData:
		for i := range st.Features {
			f := &st.Features[i]
			var v *float64
			switch rest {
			case "missing_ratio":
				v = f.MissingRatio
			case "out_of_range_ratio":
				v = f.OutOfRangeRatio
			case "new_category_ratio":
				v = f.NewCategoryRatio
			}
			if v != nil {
				add(f.Name, "", "", *v, f.Current)
			}
		}
	case rules.FamilyAnomaly:
		for _, a := range st.Anomalies {
			if a.Signal == rest && a.Score != nil {
				add("", "", "", *a.Score, 0)
			}
		}
	case rules.FamilyEvents:
		for _, a := range st.Anomalies {
			if rest == "rate" && a.Signal == SignalPredictionRate && a.Value != nil {
				add("", "", "", *a.Value, 0)
			}
		}
	case rules.FamilyLabels:
		switch rest {
		case "pending":
			add("", "", "", float64(st.Labels.PendingPredictions), 0)
		case "lag_seconds":
			if st.Labels.LagSeconds != nil {
				add("", "", "", *st.Labels.LagSeconds, 0)
			}
		}
	case rules.FamilyCanary:
		canarySignal(st, rest, add)
	case rules.FamilyStaleness:
		// Seconds since the model's last event, or since vigil began to watch a model never
		// seen (kept across restarts with the write-ahead log's snapshot).
		since := s.started
		if !st.watchedSince.IsZero() {
			since = st.watchedSince
		}
		if st.LastEventAt != nil {
			since = *st.LastEventAt
		}
		add("", "", "", max(0, s.now.Sub(since).Seconds()), 0)
	}
	return out
}

func (s *signalSource) drift(st *ModelStats, rest string, add func(feature, segment, version string, v float64, samples int)) {
	switch {
	case rest == "share":
		if st.Drift != nil {
			add("", "", "", st.Drift.Share, st.Drift.Features)
		}
	case rest == MethodPCA:
		if mv := st.Multivariate; mv != nil && mv.Error != nil {
			add("", "", "", *mv.Error, st.Windows.Current)
		}
	case rest == "detected":
		for i := range st.Features {
			if f := &st.Features[i]; f.Detected != nil {
				add(f.Name, "", "", boolValue(*f.Detected), min(f.Current, f.Reference))
			}
		}
		if st.Drift != nil {
			add("", "", "", boolValue(st.Drift.Detected), st.Drift.Features)
		}
	default:
		method, pvalue := strings.CutPrefix(rest, "p_value.")
		for i := range st.Features {
			f := &st.Features[i]
			values := f.Scores
			if pvalue {
				values = f.PValues
			}
			if v, ok := values[method]; ok {
				add(f.Name, "", "", v, min(f.Current, f.Reference))
			}
		}
	}
}
