// Package rules holds vigil's threshold rules over its ML signals and the
// alert state machine, with the semantics of Prometheus alerting rules plus
// what on-call users ask for: hysteresis, min_samples, a distinct no-data
// outcome, and `for` clocks that survive a restart.
//
// The daemon adapts its statistics to a [Source] and hands the alerts that
// [Manager.Eval] returns to the alerting package. Evaluation takes the
// time as an argument and reads no clock.
//
// # Rules
//
// A rule file holds a `rules:` list, the same list as the `rules:` section
// of vigil's config. Unknown fields are errors naming the line.
//
//	rules:
//	  - name: AccuracyDrop              # required, unique; the alertname label
//	    models: ["fraud*"]              # path.Match globs; default every model
//	    signal: quality.accuracy        # or expr: (one of the two)
//	    feature: "*"                    # globs over the value's feature, segment, version:
//	    segment: ""                     #   omitted matches every value, "" only the
//	    version: "v*"                   #   values without one (the model as a whole)
//	    op: "<"                         # <, <=, >, >=, ==, !=
//	    threshold: 0.85
//	    clear: 0.87                     # hysteresis: resolves only once not "< 0.87"
//	    for: 10m                        # pending this long before firing
//	    keep_firing_for: 5m             # keep firing this long after clearing
//	    min_samples: 500                # fewer samples is no verdict
//	    no_data: keep                   # keep (default) | ok | alert
//	    severity: critical              # critical | warning (default) | info
//	    labels: {team: risk}            # static; part of the alert's identity
//	    annotations:                    # text/template, tried once at load
//	      summary: "{{ .Model }} accuracy is {{ printf \"%.3f\" .Value }}"
//
// Signals are checked at load (see [ParseSignal]): quality.<metric>,
// drift.<method>, drift.p_value.<method>, drift.detected, drift.share,
// data.missing_ratio, data.out_of_range_ratio, data.new_category_ratio,
// anomaly.<signal>, canary.agreement, canary.verdict, events.rate,
// labels.pending, labels.lag_seconds and staleness (seconds since the
// model's last event, for dead pipelines). min_samples applies to windowed
// signals only (not anomaly, labels or staleness).
//
// clear must lie on the safe side of threshold: for < and <= clear ≥
// threshold, for > and >= clear ≤ threshold; == and != take no clear.
// Once an alert is pending or firing its condition is "value op clear", so
// a value oscillating between threshold and clear does not flap.
//
// Labels are static: a template in a label is an error, and the value is
// never a label, so an alert keeps its identity while its value moves.
// Annotations are Go text/template templates. Dot is a [TemplateData]
// (.Model, .Feature, .Segment, .Version, .Value, .Values, .Threshold,
// .Clear, .Op, .Samples, .NoData, .Severity, .Labels, .Rule, .Signal);
// $value and $labels are defined as in Prometheus. Besides text/template's
// built-ins (printf, index, eq, ...) they may call humanize (SI prefix),
// humanizePercentage (ratio as %), humanizeDuration (seconds), toUpper,
// toLower and abs. Every template is parsed and executed against sample
// data at load, with missingkey=error, so a misspelt field, label or
// function is a config error naming the line, not a broken page at 3 a.m.
//
// # Expressions
//
// expr is a CEL expression (the Common Expression Language,
// cel.dev/cel-go, as used by Kubernetes and Envoy: non-Turing-complete,
// type-checked, side-effect free). Each signal is a double variable under
// its dotted name:
//
//	expr: quality.accuracy < 0.85 && drift.share > 0.3
//	expr: math.abs(anomaly.mean_score) > 4.0 || staleness > 900.0
//	expr: drift.psi > 0.2 && data.missing_ratio > 0.1
//
// An expression is compiled and type-checked at load: it must read at least
// one signal, name only valid signals, and be either a condition (bool) or
// a number (double), which op, threshold and clear then compare as for a
// signal rule. Numbers of mixed types compare (accuracy < 1), but
// arithmetic needs doubles (accuracy * 2.0). Macros (has, all, exists,
// map, filter) are disabled, so evaluation is linear in the expression's
// size; the math extension (math.abs, math.greatest, math.least, ...) is
// on. For a boolean expr the alert's Value is 1 or 0 and .Values holds each
// signal's value.
//
// The signals of an expression are joined on (feature, segment, version):
// each place one of them reports is a candidate, and each signal fills it
// with its value at that place or, failing that, its value at a less
// specific place (no feature, no segment, no version), so a model-level
// quality.accuracy joins each feature's drift.psi. A candidate some signal
// cannot fill is not evaluated. min_samples applies to each windowed
// signal; the alert's Samples is the smallest count.
//
// # Alerts and states
//
// A rule has one alert per (model, feature, segment, version), with the
// labels alertname, model, feature, segment and version (when not empty),
// severity and the rule's labels. The state machine is Prometheus's:
//
//   - inactive → pending when the condition holds (ActiveAt); a pending
//     alert whose condition stops holding is dropped;
//   - pending → firing once the condition has held for `for` (FiredAt;
//     `for: 0` fires at once);
//   - firing → inactive (resolved, ResolvedAt) when the condition stops
//     holding and keep_firing_for has run out since it stopped
//     (KeepFiringSince); a resolved alert is kept and returned for
//     [ResolvedRetention] (15 minutes) so that its resolution is resent,
//     and a condition that holds again starts a fresh pending alert.
//
// The `for` and keep_firing_for clocks count the time between consecutive
// evaluations that both reached a verdict.
//
// # No data
//
// A value is not judged when it is missing, NaN, or computed from fewer
// than min_samples samples. no_data says what happens then:
//
//   - keep (default): the alert's state stays as it is and its clocks stop;
//     no new alert starts;
//   - ok: the condition counts as not holding (a firing alert resolves
//     after keep_firing_for);
//   - alert: the condition counts as holding, so a dead feed pages after
//     `for`.
//
// Every alert carries NoData, whether its last evaluation had a value to
// judge (.NoData in templates). With no_data: alert, a no-data alert starts
// for a value that is reported but cannot be judged while the model has
// other values that can; a model that reports no judgeable value at all
// gets one alert for the whole model (no feature, segment or version;
// WholeModel set), not one per feature, which resolves as soon as any value
// returns. A pending or firing alert whose value is no longer reported
// follows no_data; a resolved one is not revived by it. A model that a rule
// no longer applies to (after a reload) has its alerts resolved at the next
// evaluation.
//
// # Restarts and reloads
//
// [Manager.State] returns every alert with its clocks as plain JSON-friendly
// [Snapshot] values and [Manager.Restore] puts them back: every rule keeps
// its `for` state across a restart, whatever its `for` (Prometheus drops
// it for rules with `for` under 10m). [Manager.Update] swaps rules and keeps
// the state of rules that keep their name.
//
// # Metrics
//
// vigil_alerts{rule, severity, state} counts pending and firing alerts
// (both states pre-initialised to 0 for every rule), and
// vigil_rule_evaluation_failures_total{rule} counts evaluations in which an
// expression or an annotation template failed.
//
// # Unit tests of rules
//
// [RunTests] runs a test file in the spirit of `promtool test rules`, for
// `vigil test rules FILE`; [CheckFile] validates a rule file for `vigil
// check rules FILE`.
//
//	rule_files: [rules.yml]          # globs, relative to this file
//	evaluation_interval: 1m          # default 1m
//	tests:
//	  - name: accuracy drop          # optional
//	    interval: 1m                 # time between series values; default evaluation_interval
//	    input_series:
//	      - model: fraud
//	        signal: quality.accuracy
//	        feature: ""              # optional, also segment and version
//	        samples: 1000            # optional: a count, or a series of counts ("100x5 1000x20");
//	                                 #   omitted means always enough
//	        values: "0.9x4 0.84x14 _ 0.88"
//	    alert_rule_test:
//	      - eval_time: 15m
//	        alertname: AccuracyDrop
//	        exp_alerts:              # the firing alerts; empty or omitted: none fires
//	          - exp_labels: {model: fraud, severity: critical, team: risk}
//	            exp_annotations: {summary: "fraud accuracy is 0.840"}
//
// Values use promtool's expanding notation: "a+bxn" is a, a+b, ..., a+n·b
// (n+1 values), "a-bxn" counts down, "axn" repeats a n+1 times, "_" is a
// missing value (no data) and "_xn" n of them, "stale" is also missing.
// Value i holds from i·interval to the next value; after the last one the
// series has no data. Rules are evaluated at 0, evaluation_interval, ...
// and each eval_time checks the alerts of the last evaluation at or before
// it: the firing alerts of alertname must equal exp_alerts exactly (labels,
// with alertname implied, and all annotations), in any order.
package rules
