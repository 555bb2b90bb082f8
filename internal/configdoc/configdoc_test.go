package configdoc

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/config-reference.md from the config types")

const page = "../../docs/config-reference.md"

// TestReferenceIsCurrent regenerates the reference and compares it with the committed page.
func TestReferenceIsCurrent(t *testing.T) {
	got, err := Generate("../..")
	require.NoError(t, err)
	got = append(got, '\n')
	if *update {
		require.NoError(t, os.WriteFile(page, got, 0o644))
	}
	want, err := os.ReadFile(page)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "docs/config-reference.md is stale: run go test ./internal/configdoc -update")
}

// TestReferenceCoversTheConfig checks the generator reaches the fields users write most,
// nested ones included, and their defaults.
func TestReferenceCoversTheConfig(t *testing.T) {
	b, err := Generate("../..")
	require.NoError(t, err)
	text := string(b)
	for _, want := range []string{
		"| `global.evaluation_interval` | duration | `30s` |",
		"| `ingest.max_body_bytes` | integer | `33554432` |",
		"| `web.admin_bearer_token_file` | string |",
		"| `models[].window.size` | integer |",
		"| `models[].features[].drift.threshold` | number or `auto` |",
		"| `models[].canary.candidate` | string |",
		"| `rules[].keep_firing_for` | duration |",
		"| `route.group_wait` | duration |",
		"| `receivers[].slack_configs[].api_url_file` | string |",
		"| `receivers[].pagerduty_configs[].routing_key` | secret |",
	} {
		require.Contains(t, text, want)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "| `") {
			require.NotContains(t, line, "| |  |", "every field has a type: %s", line)
		}
	}
	// The daemon's own sections are fully described: a new field needs a doc comment or
	// a row in docs/configuration.md.
	for _, line := range strings.Split(text, "\n") {
		for _, section := range []string{"| `global.", "| `ingest.", "| `web.", "| `models[]."} {
			if strings.HasPrefix(line, section) {
				require.False(t, strings.HasSuffix(line, "|  |"), "undocumented field: %s", line)
			}
		}
	}
	paths, err := Paths("../..")
	require.NoError(t, err)
	require.Greater(t, len(paths), 80)
}
