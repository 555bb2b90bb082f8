// Package dashboards builds vigil's Grafana dashboards with the Apache-licensed
// grafana-foundation-sdk: a fleet overview, a per-model drill-down, a canary comparison
// and vigil's own health. `go run ./dashboards/gen` writes them as JSON; the committed
// files are checked against a fresh build by this package's tests.
//
// Every panel queries the `${datasource}` variable (file provisioning never fills
// placeholders such as `${DS_PROMETHEUS}`), every query has an explicit refId, and the
// metric names are vigil's own (docs/api.md).
package dashboards

//lint:file-ignore SA1019 The SDK marks the classic dashboard schema deprecated in favour of dashboardv2, but file provisioning, the sidecar and every Grafana before 12 load only the classic JSON.

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Dashboard is one generated dashboard and the file name it is written to.
type Dashboard struct {
	// File is the JSON file's base name, such as vigil-fleet.json.
	File string
	// Build returns the dashboard.
	Build func() (dashboard.Dashboard, error)
}

// All returns every dashboard vigil ships, in a fixed order.
func All() []Dashboard {
	return []Dashboard{
		{File: "vigil-fleet.json", Build: fleet},
		{File: "vigil-model.json", Build: model},
		{File: "vigil-canary.json", Build: canary},
		{File: "vigil-health.json", Build: health},
	}
}

// JSON renders a dashboard as the indented JSON that is committed.
func JSON(d Dashboard) ([]byte, error) {
	db, err := d.Build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", d.File, err)
	}
	b, err := json.MarshalIndent(db, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", d.File, err)
	}
	return append(b, '\n'), nil
}

func ptr[T any](v T) *T { return &v }

// ds is the datasource every panel and variable uses: the dashboard's own variable.
func ds() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}
}

func datasourceVar() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")
}

// labelVar is a variable over the values of a label, from label_values().
func labelVar(name, label, query string, multi bool) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).Label(label).
		Query(dashboard.StringOrMap{String: ptr(query)}).Definition(query).
		Datasource(ds()).Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		v = v.Multi(true).IncludeAll(true).AllValue(".*")
	}
	return v
}

// q is one query; refIDs are given explicitly so that panels, overrides and
// transformations that name them keep working when queries are reordered.
func q(refID, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(refID).Expr(expr).LegendFormat(legend).Datasource(ds())
}

func targets(qs ...*prometheus.DataqueryBuilder) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, x := range qs {
		out[i] = x
	}
	return out
}

func graph(title, desc, unit string, w, h uint32, qs ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Datasource(ds()).
		Span(w).Height(h).Targets(targets(qs...))
}

func single(title, desc, unit string, w uint32, qs ...*prometheus.DataqueryBuilder) *stat.PanelBuilder {
	for _, x := range qs {
		x.Instant()
	}
	return stat.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Datasource(ds()).
		Span(w).Height(4).Targets(targets(qs...))
}

func tableOf(title, desc string, w, h uint32, qs ...*prometheus.DataqueryBuilder) *table.PanelBuilder {
	for _, x := range qs {
		x.Instant().Format(prometheus.PromQueryFormatTable)
	}
	return table.NewPanelBuilder().Title(title).Description(desc).Datasource(ds()).
		Span(w).Height(h).Targets(targets(qs...)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]bool{"Time": true, "__name__": true, "job": true, "instance": true},
		}})
}

func base(uid, title, desc string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(desc).
		Tags([]string{"vigil", "ml-monitoring"}).Editable().
		Refresh("1m").Time("now-6h", "now").Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("vigil").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"vigil"}).AsDropdown(true).IncludeVars(true).KeepTime(true)).
		WithVariable(datasourceVar())
}

func fleet() (dashboard.Dashboard, error) {
	const sel = `model=~"$model"`
	return base("vigil-fleet", "vigil / Fleet overview", "Every model vigil watches: traffic, quality, drifted features and firing alerts.").
		WithVariable(labelVar("model", "Model", `label_values(vigil_events_total, model)`, true)).
		WithRow(dashboard.NewRowBuilder("Now")).
		WithPanel(single("Models", "Models that sent vigil an event.", "none", 6,
			q("A", `count(count by (model) (vigil_events_total{`+sel+`}))`, ""))).
		WithPanel(single("Firing alerts", "vigil's rules that are firing now.", "none", 6,
			q("A", `sum(vigil_alerts{state="firing"})`, ""))).
		WithPanel(single("Models with drift", "Models whose drift verdict over all features is positive.", "none", 6,
			q("A", `count(vigil_drift_detected{`+sel+`, feature="*"} == 1) or vector(0)`, ""))).
		WithPanel(single("Predictions / s", "All models together.", "reqps", 6,
			q("A", `sum(rate(vigil_events_total{`+sel+`, kind="prediction"}[$__rate_interval]))`, ""))).
		WithRow(dashboard.NewRowBuilder("Traffic")).
		WithPanel(graph("Predictions per second", "Accepted predictions by model.", "reqps", 12, 8,
			q("A", `sum by (model) (rate(vigil_events_total{`+sel+`, kind="prediction"}[$__rate_interval]))`, "{{model}}"))).
		WithPanel(graph("Labels per second, and rejected records", "Accepted labels by model, and records vigil rejected (by model and reason).", "reqps", 12, 8,
			q("A", `sum by (model) (rate(vigil_events_total{`+sel+`, kind="label"}[$__rate_interval]))`, "{{model}} labels"),
			q("B", `sum by (model, reason) (rate(vigil_events_rejected_total{`+sel+`}[$__rate_interval]))`, "{{model}} rejected: {{reason}}"))).
		WithRow(dashboard.NewRowBuilder("Quality")).
		WithPanel(graph("Accuracy", "Accuracy on the current window of labeled pairs, whole window, by model and version.", "percentunit", 12, 8,
			q("A", `vigil_quality{`+sel+`, segment="*", metric="accuracy"}`, "{{model}} {{version}}")).Min(0).Max(1)).
		WithPanel(graph("Estimated accuracy", "Binary models before their labels arrive: the mean confidence of the predicted class.", "percentunit", 12, 8,
			q("A", `vigil_quality{`+sel+`, segment="*", metric="estimated_accuracy"}`, "{{model}} {{version}}")).Min(0).Max(1)).
		WithRow(dashboard.NewRowBuilder("Drift and alerts")).
		WithPanel(tableOf("Drifted features", "Features whose deciding drift test is positive now.", 12, 8,
			q("A", `vigil_drift_detected{`+sel+`, feature!="*"} == 1`, ""))).
		WithPanel(tableOf("Firing alerts", "vigil's rules firing now, by rule and severity.", 12, 8,
			q("A", `vigil_alerts{state="firing"} > 0`, ""))).
		WithPanel(graph("Share of drifted features", "Per model: the share of its features that drifted.", "percentunit", 24, 8,
			q("A", `vigil_drift_score{`+sel+`, feature="*", method="share"}`, "{{model}}")).Min(0).Max(1)).
		Build()
}

func model() (dashboard.Dashboard, error) {
	const m = `model="$model"`
	const feat = `model="$model", feature=~"$feature"`
	return base("vigil-model", "vigil / Model", "One model in depth: quality over time by segment, drift per feature, data quality, anomaly scores and label lag.").
		WithVariable(labelVar("model", "Model", `label_values(vigil_events_total, model)`, false)).
		WithVariable(labelVar("metric", "Quality metric", `label_values(vigil_quality{model="$model"}, metric)`, false)).
		WithVariable(labelVar("feature", "Feature", `label_values(vigil_drift_score{model="$model", feature!="*"}, feature)`, true)).
		WithVariable(labelVar("method", "Drift method", `label_values(vigil_drift_score{model="$model", feature!="*"}, method)`, false)).
		WithRow(dashboard.NewRowBuilder("Quality")).
		WithPanel(graph("Quality by segment", "The chosen metric on the current window of labeled pairs; segment=\"*\" is the whole window.", "none", 16, 9,
			q("A", `vigil_quality{`+m+`, metric="$metric"}`, "{{version}} {{segment}}"))).
		WithPanel(graph("Window samples", "Predictions in the current and reference windows, and labeled pairs.", "none", 8, 9,
			q("A", `vigil_window_samples{`+m+`}`, "{{window}}"))).
		WithRow(dashboard.NewRowBuilder("Drift")).
		WithPanel(heatmap.NewPanelBuilder().Title("Drift per feature").
			Description("The chosen drift statistic of each feature against the reference: one row per feature.").
			Datasource(ds()).Span(16).Height(10).Calculate(false).
			YAxis(heatmap.NewYAxisConfigBuilder()).
			RowsFrame(heatmap.NewRowsHeatmapOptionsBuilder().Layout(common.HeatmapCellLayoutAuto)).
			Color(heatmap.NewHeatmapColorOptionsBuilder().Mode(heatmap.HeatmapColorModeScheme).Scheme("Oranges").Exponent(0.5).Steps(64)).
			Targets(targets(q("A", `vigil_drift_score{`+feat+`, method="$method"}`, "{{feature}}").Format(prometheus.PromQueryFormatTimeSeries)))).
		WithPanel(tableOf("Drift verdicts", "1 where the feature's deciding test says it drifted; feature=\"*\" is the model's verdict.", 8, 10,
			q("A", `vigil_drift_detected{`+m+`}`, ""))).
		WithPanel(graph("Drift p-values", "p-values of the tests that have one (ks, chi_square), uncorrected; below the threshold means drift.", "none", 12, 8,
			q("A", `vigil_drift_p_value{`+feat+`}`, "{{feature}} {{method}}"),
			q("B", `vigil_drift_threshold{`+feat+`}`, "{{feature}} threshold ({{method}})"))).
		WithPanel(graph("Prediction drift", "The model's own output tested like a feature (feature=\"__prediction__\").", "none", 12, 8,
			q("A", `vigil_drift_score{`+m+`, feature="__prediction__"}`, "{{method}}"))).
		WithRow(dashboard.NewRowBuilder("Data quality")).
		WithPanel(graph("Missing values", "Share of the current window's predictions without the feature.", "percentunit", 8, 8,
			q("A", `vigil_feature_missing_ratio{`+feat+`}`, "{{feature}}")).Min(0)).
		WithPanel(graph("Out of range", "Share of values outside the configured bounds or the reference's range.", "percentunit", 8, 8,
			q("A", `vigil_feature_out_of_range_ratio{`+feat+`}`, "{{feature}}")).Min(0)).
		WithPanel(graph("New categories", "Share of a categorical feature's values the reference never saw.", "percentunit", 8, 8,
			q("A", `vigil_feature_new_category_ratio{`+feat+`}`, "{{feature}}")).Min(0)).
		WithRow(dashboard.NewRowBuilder("Anomalies and labels")).
		WithPanel(graph("Anomaly scores", "Robust z-score of the model's own signals against their history.", "none", 12, 8,
			q("A", `vigil_anomaly_score{`+m+`}`, "{{signal}}"))).
		WithPanel(graph("Label lag and pending labels", "Median time from prediction to label, and predictions still waiting for theirs.", "s", 12, 8,
			q("A", `vigil_label_lag_seconds{`+m+`}`, "lag"),
			q("B", `vigil_labels_pending{`+m+`}`, "pending")).
			OverrideByQuery("B", []dashboard.DynamicConfigValue{{Id: "unit", Value: "none"}, {Id: "custom.axisPlacement", Value: "right"}})).
		Build()
}

func canary() (dashboard.Dashboard, error) {
	const m = `model="$model"`
	return base("vigil-canary", "vigil / Canary", "A canary (candidate) version against its baseline: vigil's verdict, how often the two agree, and their quality side by side.").
		WithVariable(labelVar("model", "Model", `label_values(vigil_canary_verdict, model)`, false)).
		WithVariable(labelVar("metric", "Quality metric", `label_values(vigil_quality{model="$model"}, metric)`, false)).
		WithPanel(single("Verdict", "vigil's canary verdict: pass, fail, or not enough data yet.", "none", 8,
			q("A", `vigil_canary_verdict{`+m+`}`, "{{candidate}} vs {{baseline}}")).
			Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
				"1":  {Text: ptr("pass"), Color: ptr("green"), Index: ptr[int32](0)},
				"0":  {Text: ptr("fail"), Color: ptr("red"), Index: ptr[int32](1)},
				"-1": {Text: ptr("not enough data"), Color: ptr("text"), Index: ptr[int32](2)},
			}}}}).ColorMode(common.BigValueColorModeBackground)).
		WithPanel(graph("Agreement", "Share of paired requests where candidate and baseline predicted the same.", "percentunit", 16, 8,
			q("A", `vigil_canary_agreement_ratio{`+m+`}`, "{{candidate}} vs {{baseline}}")).Min(0).Max(1)).
		WithPanel(graph("Quality by version", "The chosen metric for each version on its labeled pairs, whole window.", "none", 24, 9,
			q("A", `vigil_quality{`+m+`, segment="*", metric="$metric"}`, "{{version}}"))).
		Build()
}

func health() (dashboard.Dashboard, error) {
	const i = `instance=~"$instance"`
	return base("vigil-health", "vigil / Health", "vigil itself: ingest, rejects, queue, evaluation, rules and notifications.").
		WithVariable(labelVar("instance", "Instance", `label_values(vigil_build_info, instance)`, true)).
		WithPanel(single("Config reload", "1 when the last config reload succeeded.", "none", 6,
			q("A", `min(vigil_config_last_reload_successful{`+i+`})`, ""))).
		WithPanel(single("Since last evaluation", "Seconds since vigil last evaluated its models.", "s", 6,
			q("A", `max(time() - vigil_evaluation_last_timestamp_seconds{`+i+`})`, ""))).
		WithPanel(single("Notification outbox", "Notifications waiting for delivery.", "none", 6,
			q("A", `sum(vigil_notification_outbox{`+i+`})`, ""))).
		WithPanel(tableOf("Versions", "vigil's version per instance.", 6, 4,
			q("A", `vigil_build_info{`+i+`}`, ""))).
		WithRow(dashboard.NewRowBuilder("Ingest")).
		WithPanel(graph("Ingest rate", "Accepted events by kind.", "reqps", 12, 8,
			q("A", `sum by (kind) (rate(vigil_events_total{`+i+`}[$__rate_interval]))`, "{{kind}}"))).
		WithPanel(graph("Rejected records", "By reason; model=\"\" are records for undeclared models.", "reqps", 12, 8,
			q("A", `sum by (reason) (rate(vigil_events_rejected_total{`+i+`}[$__rate_interval]))`, "{{reason}}"))).
		WithPanel(graph("Ingest requests in flight", "Requests being processed; at ingest.max_inflight_requests vigil answers 429.", "none", 12, 8,
			q("A", `sum by (instance) (vigil_ingest_inflight_requests{`+i+`})`, "{{instance}}"))).
		WithPanel(graph("Label join evictions", "Predictions that never got a label and labels without a prediction, by reason.", "reqps", 12, 8,
			q("A", `sum by (kind, reason) (rate(vigil_label_join_evicted_total{`+i+`}[$__rate_interval]))`, "{{kind}} {{reason}}"))).
		WithRow(dashboard.NewRowBuilder("Evaluation and rules")).
		WithPanel(graph("Evaluation duration", "Time one evaluation of every model takes.", "s", 12, 8,
			q("A", `histogram_quantile(0.99, sum by (le) (rate(vigil_evaluation_duration_seconds_bucket{`+i+`}[$__rate_interval])))`, "p99"),
			q("B", `histogram_quantile(0.5, sum by (le) (rate(vigil_evaluation_duration_seconds_bucket{`+i+`}[$__rate_interval])))`, "p50"))).
		WithPanel(graph("Alerts and rule failures", "Pending and firing alerts; rule evaluations that failed.", "none", 12, 8,
			q("A", `sum by (state) (vigil_alerts{`+i+`})`, "{{state}}"),
			q("B", `sum by (rule) (rate(vigil_rule_evaluation_failures_total{`+i+`}[$__rate_interval]))`, "failures {{rule}}"))).
		WithRow(dashboard.NewRowBuilder("Notifications")).
		WithPanel(graph("Notifications", "Delivery attempts and failures by receiver and integration; dropped notifications were given up.", "reqps", 16, 8,
			q("A", `sum by (receiver, integration) (rate(vigil_notifications_total{`+i+`}[$__rate_interval]))`, "{{receiver}} {{integration}}"),
			q("B", `sum by (receiver, integration) (rate(vigil_notifications_failed_total{`+i+`}[$__rate_interval]))`, "{{receiver}} {{integration}} failed"),
			q("C", `sum by (receiver) (rate(vigil_notifications_dropped_total{`+i+`}[$__rate_interval]))`, "{{receiver}} dropped"))).
		WithPanel(graph("Silences", "Silences by state.", "none", 8, 8,
			q("A", `max by (state) (vigil_silences{`+i+`})`, "{{state}}"))).
		Build()
}
