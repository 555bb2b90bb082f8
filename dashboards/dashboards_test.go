package dashboards_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/dashboards"
)

// TestCommittedJSONIsGenerated regenerates every dashboard and compares it with both
// committed copies: run `go run ./dashboards/gen` after changing the Go.
func TestCommittedJSONIsGenerated(t *testing.T) {
	for _, d := range dashboards.All() {
		t.Run(d.File, func(t *testing.T) {
			want, err := dashboards.JSON(d)
			require.NoError(t, err)
			for _, dir := range []string{".", "../deploy/kustomize/components/grafana-dashboards"} {
				got, err := os.ReadFile(filepath.Join(dir, d.File))
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "%s is stale: run go run ./dashboards/gen", filepath.Join(dir, d.File))
			}
		})
	}
}

// dash is the part of Grafana's dashboard JSON these checks read.
type dash struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Type, Name, Query string
			Datasource        *dsRef `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *dsRef `json:"datasource"`
		Targets    []struct {
			RefID      string `json:"refId"`
			Expr       string `json:"expr"`
			Datasource *dsRef `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

type dsRef struct{ Type, UID string }

var varRE = regexp.MustCompile(`\$\{?(\w+)\}?`)

func TestDashboardConventions(t *testing.T) {
	uids := map[string]bool{}
	wantVars := map[string][]string{
		"vigil-fleet.json":  {"datasource", "model"},
		"vigil-model.json":  {"datasource", "model", "metric", "feature", "method"},
		"vigil-canary.json": {"datasource", "model", "metric"},
		"vigil-health.json": {"datasource", "instance"},
	}
	for _, d := range dashboards.All() {
		t.Run(d.File, func(t *testing.T) {
			raw, err := dashboards.JSON(d)
			require.NoError(t, err)
			require.NotContains(t, string(raw), "${DS_", "file provisioning never fills ${DS_*} placeholders")
			var db dash
			require.NoError(t, json.Unmarshal(raw, &db))
			require.NotEmpty(t, db.UID)
			require.False(t, uids[db.UID], "uid %s used twice", db.UID)
			uids[db.UID] = true

			vars := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
			var names []string
			for _, v := range db.Templating.List {
				vars[v.Name] = true
				names = append(names, v.Name)
				if v.Type == "query" {
					require.Equal(t, &dsRef{"prometheus", "${datasource}"}, v.Datasource, "variable %s", v.Name)
				}
			}
			require.Equal(t, wantVars[d.File], names)
			require.Equal(t, "datasource", db.Templating.List[0].Type)
			require.Equal(t, "prometheus", db.Templating.List[0].Query)

			var queries int
			for _, p := range db.Panels {
				if p.Type == "row" {
					continue
				}
				require.Equal(t, &dsRef{"prometheus", "${datasource}"}, p.Datasource, "panel %q", p.Title)
				require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					queries++
					require.Regexp(t, `^[A-Z]$`, tg.RefID, "panel %q: explicit refIds", p.Title)
					require.False(t, refs[tg.RefID], "panel %q: refId %s twice", p.Title, tg.RefID)
					refs[tg.RefID] = true
					require.Equal(t, &dsRef{"prometheus", "${datasource}"}, tg.Datasource, "panel %q", p.Title)
					require.True(t, strings.Contains(tg.Expr, "vigil_"), "panel %q: %s queries no vigil metric", p.Title, tg.Expr)
					for _, m := range varRE.FindAllStringSubmatch(tg.Expr, -1) {
						require.True(t, vars[m[1]], "panel %q: $%s is not a variable of the dashboard", p.Title, m[1])
					}
				}
			}
			require.Greater(t, queries, 2)
		})
	}
}
