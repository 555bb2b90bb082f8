package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

const rulesFile = "prometheus/vigil-alerts.yml"

// needTool finds an outside program. In CI (CI=true) a missing tool fails the test;
// elsewhere the test is skipped with the install command.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found in CI: .ci/run installs Debian %s", name, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	return ""
}

func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v:\n%s", name, args, out)
	return string(out)
}

func TestPromtoolRules(t *testing.T) {
	promtool := needTool(t, "promtool", "prometheus")
	out := runTool(t, "prometheus", promtool, "check", "rules", "--lint=all", "--lint-fatal", filepath.Base(rulesFile))
	require.Contains(t, out, "SUCCESS: 9 rules found")
	out = runTool(t, "prometheus", promtool, "test", "rules", "vigil-alerts_test.yml")
	require.Contains(t, out, "SUCCESS")
}

// loadRulesFile reads the plain rules file strictly into the Prometheus Operator's rule
// types: the same shape, so a field the operator does not know fails here too.
func loadRulesFile(t *testing.T) monitoringv1.PrometheusRuleSpec {
	t.Helper()
	y, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	j, err := yaml.YAMLToJSONStrict(y)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var spec monitoringv1.PrometheusRuleSpec
	require.NoError(t, dec.Decode(&spec))
	return spec
}

// TestPrometheusRuleMatchesRulesFile checks that the PrometheusRule that the overlays
// render carries exactly the rules of the rules file, which promtool tests.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	want := loadRulesFile(t)
	require.Len(t, want.Groups, 2)
	for _, name := range []string{"prod", "ha"} {
		o := render(t, newDecoder(t), name)
		require.Len(t, o.prometheusRules, 1, name)
		require.Equal(t, want, o.prometheusRules[0].Spec, "%s: the PrometheusRule differs from %s", name, rulesFile)
	}
}

func TestAlertmanagerExample(t *testing.T) {
	amtool := needTool(t, "amtool", "prometheus-alertmanager")
	out := runTool(t, "alertmanager", amtool, "check-config", "alertmanager.yml")
	require.Contains(t, out, "SUCCESS")
	require.Contains(t, out, "2 receivers")
	// Secrets come from files only.
	raw, err := os.ReadFile("alertmanager/alertmanager.yml")
	require.NoError(t, err)
	var cfg struct {
		Receivers []map[string]any `json:"receivers"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	secretFields := map[string]bool{"api_url": true, "routing_key": true, "service_key": true, "url": true}
	var files int
	for _, r := range cfg.Receivers {
		for kind, v := range r {
			confs, ok := v.([]any)
			if !ok {
				continue
			}
			for _, c := range confs {
				for k := range c.(map[string]any) {
					require.False(t, secretFields[k], "receiver %s %s: %s inline; use %s_file", r["name"], kind, k, k)
					if secretFields[strings.TrimSuffix(k, "_file")] {
						files++
					}
				}
			}
		}
	}
	require.Equal(t, 2, files, "the Slack URL and the PagerDuty key, from files")
}

func TestGrafanaProvisioning(t *testing.T) {
	type provider struct {
		APIVersion int `json:"apiVersion"`
		Providers  []struct {
			Name, Folder, Type    string
			OrgID                 int  `json:"orgId"`
			DisableDeletion       bool `json:"disableDeletion"`
			AllowUIUpdates        bool `json:"allowUiUpdates"`
			UpdateIntervalSeconds int  `json:"updateIntervalSeconds"`
			Options               struct {
				Path                      string `json:"path"`
				FoldersFromFilesStructure bool   `json:"foldersFromFilesStructure"`
			} `json:"options"`
		} `json:"providers"`
	}
	type datasources struct {
		APIVersion  int `json:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, Access, URL string
			IsDefault                    bool              `json:"isDefault"`
			JSONData                     map[string]string `json:"jsonData"`
		} `json:"datasources"`
	}
	strict := func(path string, into any) {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, yaml.UnmarshalStrict(raw, into), path)
	}
	var p provider
	strict("grafana/provisioning/dashboards/vigil.yaml", &p)
	require.Len(t, p.Providers, 1)
	require.Equal(t, "file", p.Providers[0].Type)
	require.Equal(t, "/var/lib/grafana/dashboards/vigil", p.Providers[0].Options.Path)
	var d datasources
	strict("grafana/provisioning/datasources/prometheus.yaml", &d)
	require.Len(t, d.Datasources, 1)
	require.Equal(t, "prometheus", d.Datasources[0].Type)
	require.True(t, d.Datasources[0].IsDefault, "the dashboards' datasource variable picks the default first")
}
