package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Signal is a validated name of one of vigil's statistics, such as
// "quality.accuracy", "drift.psi", "drift.p_value.ks" or "staleness". Build
// one with [ParseSignal]; the zero Signal is not valid.
type Signal string

// The signal families, the part of a signal name before the first dot.
const (
	FamilyQuality   = "quality"
	FamilyDrift     = "drift"
	FamilyData      = "data"
	FamilyAnomaly   = "anomaly"
	FamilyCanary    = "canary"
	FamilyEvents    = "events"
	FamilyLabels    = "labels"
	FamilyStaleness = "staleness"
)

// The signal names that take no argument, or whose argument is one of a
// known list. anomaly.<name> takes any snake_case name (the monitor decides
// which series it scores).
var (
	qualityMetrics = []string{
		"accuracy", "precision", "recall", "f1", "auc", "log_loss", "brier",
		"mae", "rmse", "mape", "r2", "estimated_accuracy",
	}
	driftMethods = []string{
		"psi", "ks", "wasserstein", "jensen_shannon", "hellinger", "chi_square",
		"l_infinity", "pca_reconstruction_error",
		// detected is a feature's 0/1 verdict; share the model's share of drifted features.
		"detected", "share",
	}
	pValueMethods = []string{"ks", "chi_square"}
	dataMetrics   = []string{"missing_ratio", "out_of_range_ratio", "new_category_ratio"}
	canaryMetrics = []string{
		"agreement", "verdict", "score_mean_abs_diff", "score_correlation", "prediction_drift",
		"accuracy_delta", "auc_delta", "latency_p50_ratio", "latency_p95_ratio",
	}
	eventsMetrics  = []string{"rate"}
	labelsMetrics  = []string{"pending", "lag_seconds"}
	anomalyNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	signalFamilies = []string{
		FamilyQuality, FamilyDrift, FamilyData, FamilyAnomaly, FamilyCanary,
		FamilyEvents, FamilyLabels, FamilyStaleness,
	}
)

// ParseSignal validates a signal name. The names are:
//
//	quality.<metric>        accuracy precision recall f1 auc log_loss brier mae rmse mape r2 estimated_accuracy
//	drift.<method>          psi ks wasserstein jensen_shannon hellinger chi_square l_infinity
//	                        pca_reconstruction_error, detected (0/1 per feature), share (of drifted features)
//	drift.p_value.<method>  ks chi_square
//	data.<ratio>            missing_ratio out_of_range_ratio new_category_ratio
//	anomaly.<signal>        any snake_case name, the signal label of vigil_anomaly_score
//	canary.<metric>         verdict agreement score_mean_abs_diff score_correlation prediction_drift
//	                        accuracy_delta auc_delta latency_p50_ratio latency_p95_ratio
//	events.rate             predictions per second
//	labels.<metric>         pending lag_seconds
//	staleness               seconds since the model's last event
func ParseSignal(s string) (Signal, error) {
	family, rest, _ := strings.Cut(s, ".")
	bad := func(known []string) (Signal, error) {
		return "", fmt.Errorf("unknown signal %q: %s.<x> takes one of %s", s, family, strings.Join(known, ", "))
	}
	switch family {
	case FamilyQuality:
		if !slices.Contains(qualityMetrics, rest) {
			return bad(qualityMetrics)
		}
	case FamilyDrift:
		if m, ok := strings.CutPrefix(rest, "p_value."); ok {
			if !slices.Contains(pValueMethods, m) {
				return "", fmt.Errorf("unknown signal %q: drift.p_value.<x> takes one of %s", s, strings.Join(pValueMethods, ", "))
			}
			break
		}
		if !slices.Contains(driftMethods, rest) {
			return bad(append(slices.Clip(driftMethods), "p_value.<method>"))
		}
	case FamilyData:
		if !slices.Contains(dataMetrics, rest) {
			return bad(dataMetrics)
		}
	case FamilyAnomaly:
		if !anomalyNameRE.MatchString(rest) {
			return "", fmt.Errorf("unknown signal %q: anomaly.<x> takes a snake_case signal name", s)
		}
	case FamilyCanary:
		if !slices.Contains(canaryMetrics, rest) {
			return bad(canaryMetrics)
		}
	case FamilyEvents:
		if !slices.Contains(eventsMetrics, rest) {
			return bad(eventsMetrics)
		}
	case FamilyLabels:
		if !slices.Contains(labelsMetrics, rest) {
			return bad(labelsMetrics)
		}
	case FamilyStaleness:
		if s != FamilyStaleness {
			return "", fmt.Errorf("unknown signal %q: staleness takes no suffix", s)
		}
	default:
		if s == "" {
			return "", fmt.Errorf("empty signal name")
		}
		return "", fmt.Errorf("unknown signal %q: the family must be one of %s", s, strings.Join(signalFamilies, ", "))
	}
	return Signal(s), nil
}

// Family returns the part of the name before the first dot: "quality" for
// "quality.accuracy", "staleness" for "staleness".
func (s Signal) Family() string {
	f, _, _ := strings.Cut(string(s), ".")
	return f
}

// Windowed reports whether the signal is computed over a window of events,
// so that its [Value.Samples] is meaningful and min_samples applies.
// Anomaly scores, label-join gauges and staleness are not.
func (s Signal) Windowed() bool {
	switch s.Family() {
	case FamilyAnomaly, FamilyLabels, FamilyStaleness:
		return false
	}
	return true
}

// String returns the signal's name.
func (s Signal) String() string { return string(s) }
