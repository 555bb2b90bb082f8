package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestLoadFileBad(t *testing.T) {
	t.Setenv("VIGIL_TEST_TOKEN", "tok")
	cases := map[string]string{
		"unknown_nested.bad.yaml":          "unknown_nested.bad.yaml:4: field sise not found here",
		"unknown_top.bad.yaml":             "unknown_top.bad.yaml:2: field modles not found here",
		"bad_task.bad.yaml":                `bad_task.bad.yaml:3: models[0].task: "classification" is not one of binary_classification, multiclass_classification, regression`,
		"window_both.bad.yaml":             "window_both.bad.yaml:4: models[0].window: size and duration are mutually exclusive",
		"dup_model.bad.yaml":               `dup_model.bad.yaml:3: models[1].name: model "a" is declared twice`,
		"bad_duration.bad.yaml":            `bad_duration.bad.yaml:2: "30 seconds" is not a duration (write e.g. 30s, 5m, 1h, 3d)`,
		"segment_undeclared.bad.yaml":      `segment_undeclared.bad.yaml:6: models[0].segments[0]: "country" is not a declared feature`,
		"feature_type.bad.yaml":            `feature_type.bad.yaml:5: models[0].features[0].type: "number" is not one of numeric, categorical`,
		"token_both.bad.yaml":              "token_both.bad.yaml:1: ingest: at most one of bearer_token and bearer_token_file may be set",
		"env_missing.bad.yaml":             "env_missing.bad.yaml:2: ingest.bearer_token: environment variable VIGIL_TEST_UNSET_VARIABLE is not set",
		"reference_previous_size.bad.yaml": "models[0].reference.size: does not apply to {window: previous}",
		"profile.bad.yaml":                 "models[0].reference.profile: open testdata/config/profiles/fraud.json: no such file",
		"positive_regression.bad.yaml":     "positive_regression.bad.yaml:4: models[0].positive_class: applies to binary_classification only",
		"too_many_segments.bad.yaml":       "models[0].segments: at most 4 segment features, got 5",
		"two_docs.bad.yaml":                "more than one YAML document",
		"bad_name.bad.yaml":                `models[0].name: "fraud model" is not a valid model name`,
	}
	files, err := filepath.Glob("testdata/config/*.bad.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(cases), "every bad fixture has an expected error")
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFile(filepath.Join("testdata/config", name))
			require.Error(t, err)
			require.Contains(t, err.Error(), want)
			require.NotContains(t, err.Error(), "monitor.", "Go type names do not reach users")
		})
	}
}

func TestLoadFileGood(t *testing.T) {
	t.Setenv("VIGIL_TEST_TOKEN", "s3cr3t-token")
	cfg, err := LoadFile("testdata/config/full.good.yaml")
	require.NoError(t, err)
	require.Equal(t, Duration(15*time.Second), cfg.Global.EvaluationInterval)
	require.Equal(t, "s3cr3t-token", cfg.Ingest.BearerToken.Reveal())
	require.Len(t, cfg.Models, 3)

	fraud := cfg.Model("fraud")
	require.NotNil(t, fraud)
	require.Equal(t, ClassValue("yes"), fraud.PositiveClass)
	require.Equal(t, ReferenceConfig{Window: "first", Size: 500}, fraud.Reference)
	require.Equal(t, Duration(72*time.Hour), fraud.Labels.TTL)
	require.Equal(t, 10, fraud.Labels.MaxPending)
	require.Equal(t, DefaultMaxSegments, fraud.MaxSegments)

	digits := cfg.Model("digits")
	require.Equal(t, []ClassValue{"0", "1", "2"}, digits.Classes)
	require.Equal(t, Duration(30*time.Minute), digits.Window.Duration)
	require.Equal(t, DefaultMaxDurationSamples, digits.Window.MaxSamples)

	price := cfg.Model("price")
	require.Equal(t, WindowConfig{Size: DefaultWindowSize, Mode: ModeExact, Panes: 10}, price.Window, "window defaults to the last 10000 events, exact")
	require.Equal(t, ReferenceConfig{Window: "first", Size: DefaultWindowSize}, price.Reference)
	require.Equal(t, Duration(DefaultLabelTTL), price.Labels.TTL)
	require.Nil(t, cfg.Model("nope"))
}

func TestLoadEmptyGivesDefaults(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "global: {}\n"} {
		cfg, err := Load([]byte(in))
		require.NoError(t, err, "%q", in)
		def := DefaultConfig()
		require.Equal(t, def.Global.EvaluationInterval, cfg.Global.EvaluationInterval)
		require.Equal(t, def.Ingest, cfg.Ingest)
	}
}

func TestSecretNeverShown(t *testing.T) {
	t.Setenv("VIGIL_TEST_TOKEN", "hunter2-very-secret")
	cfg, err := LoadFile("testdata/config/full.good.yaml")
	require.NoError(t, err)
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NotContains(t, string(out), "hunter2")
	require.Contains(t, string(out), "<secret>")
	for _, s := range []string{cfg.Ingest.BearerToken.String(), cfg.Ingest.BearerToken.GoString()} {
		require.Equal(t, "<secret>", s)
	}
	j, err := cfg.Ingest.BearerToken.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, `"<secret>"`, string(j))
}

func TestBearerTokenFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte("from-file\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vigil.yaml"), []byte("ingest: {bearer_token_file: token}\n"), 0o600))
	cfg, err := LoadFile(filepath.Join(dir, "vigil.yaml"))
	require.NoError(t, err)
	require.Equal(t, "from-file", cfg.Ingest.BearerToken.Reveal(), "relative to the config's directory, trimmed")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "vigil.yaml"), []byte("ingest: {bearer_token_file: missing}\n"), 0o600))
	_, err = LoadFile(filepath.Join(dir, "vigil.yaml"))
	require.ErrorContains(t, err, "ingest.bearer_token_file")
	require.ErrorContains(t, err, "no such file")
}

func TestClassValue(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1", "1"}, {"1.0", "1"}, {"1.5", "1.5"}, {`"yes"`, "yes"}, {"true", "true"}, {`"1"`, "1"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var v ClassValue
			require.NoError(t, yaml.Unmarshal([]byte(c.in), &v))
			require.Equal(t, ClassValue(c.want), v)
		})
	}
	var v ClassValue
	require.Error(t, yaml.Unmarshal([]byte("[1, 2]"), &v))
}

func TestQuickstartExampleLoads(t *testing.T) {
	cfg, err := LoadFile("../examples/quickstart.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, cfg.Models)
	for _, m := range cfg.Models {
		require.False(t, strings.ContainsAny(m.Name, " {}\""), m.Name)
	}
}

func TestSourcesExampleLoads(t *testing.T) {
	cfg, err := LoadFile("../examples/sources.yaml")
	require.NoError(t, err)
	require.NotNil(t, cfg.CloudEvents)
	require.NotNil(t, cfg.Kafka)
	require.NotNil(t, cfg.Kafka.Seldon)
	require.Len(t, cfg.ScrapeConfigs, 1)
	require.Len(t, cfg.FileSources, 1)
	require.Equal(t, "canary", cfg.Model("fraud").Canary.Candidate)
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	files = append(files, "../examples/quickstart.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load(data)
		if err != nil {
			require.Nil(t, cfg)
			require.NotEmpty(t, err.Error())
			return
		}
		// A config that loads is complete: every model has a window, a reference and a TTL.
		for _, m := range cfg.Models {
			require.True(t, m.Window.Size > 0 || m.Window.Duration > 0, "model %q has no window", m.Name)
			require.NotEmpty(t, m.Reference.Window)
			require.Positive(t, m.Labels.TTL)
			require.LessOrEqual(t, len(m.Segments), maxSegmentFeatures)
		}
	})
}
