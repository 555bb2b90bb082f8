package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// budgetCfg declares n regression models m0…m(n-1) under global.max_pending_labels:
// budget (none when 0); explicit sets labels.max_pending of m0. State goes to storage.
func budgetCfg(storage string, n, budget, explicit int) string {
	var b strings.Builder
	b.WriteString("global: {evaluation_interval: 1h")
	if storage != "" {
		fmt.Fprintf(&b, ", storage_path: %s", storage)
	}
	if budget > 0 {
		fmt.Fprintf(&b, ", max_pending_labels: %d", budget)
	}
	b.WriteString("}\nmodels:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: m%d\n    task: regression\n", i)
		if i == 0 && explicit > 0 {
			fmt.Fprintf(&b, "    labels: {max_pending: %d}\n", explicit)
		}
	}
	return b.String()
}

func TestPendingLabelShare(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		models, budget, explicit int
		wantFirst, wantOthers    int
	}{
		{"one model, default budget", 1, 0, 0, 100000, 0},
		{"ten models share the default budget whole", 10, 0, 0, 100000, 100000},
		{"a hundred models get a tenth each", 100, 0, 0, 10000, 10000},
		{"a budget smaller than the per-model cap", 4, 1000, 0, 250, 250},
		{"a budget too small for every model still leaves one each", 3, 2, 0, 1, 1},
		{"an explicit max_pending is kept as given", 100, 0, 500000, 500000, 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load([]byte(budgetCfg("", tc.models, tc.budget, tc.explicit)))
			require.NoError(t, err)
			require.Len(t, cfg.Models, tc.models)
			require.Equal(t, tc.wantFirst, cfg.Models[0].Labels.MaxPending)
			for _, mc := range cfg.Models[1:] {
				require.Equal(t, tc.wantOthers, mc.Labels.MaxPending, mc.Name)
			}
		})
	}
}

func TestPendingLabelBudgetInvalid(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"global: {max_pending_labels: 0}\n", "global.max_pending_labels: must be positive"},
		{"global: {max_pending_labels: -5}\n", "global.max_pending_labels: must be positive"},
		{"models:\n  - {name: a, task: regression, labels: {max_pending: -1}}\n", "models[0].labels.max_pending: must be positive, or unset"},
	} {
		_, err := Load([]byte(tc.cfg))
		require.ErrorContains(t, err, tc.want, tc.cfg)
	}
}

// TestReloadChangesLabelJoinInPlace: a reload that adds models shrinks the share of the
// models that take one; their windows stay, the oldest waiting predictions are dropped and
// counted, and the ones kept still join their labels.
func TestReloadChangesLabelJoinInPlace(t *testing.T) {
	storage := t.TempDir()
	d := startDaemon(t, budgetCfg(storage, 1, 12, 0)) // m0 alone: 12 may wait
	for i := range 10 {
		r := d.post(t, "/api/v1/predictions", "", fmt.Sprintf(`{"model":"m0","id":"p%d","prediction":%d}`, i, i))
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	}
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "m0")
	require.Equal(t, 10, s.Windows.Current)
	require.Equal(t, 10, s.Labels.PendingPredictions)
	require.Equal(t, 12, s.Labels.MaxPending)

	// Three models: 12/3 = 4 each. The six oldest predictions are dropped.
	require.NoError(t, os.WriteFile(d.cfg, []byte(budgetCfg(storage, 3, 12, 0)), 0o600))
	require.NoError(t, d.m.Reload(context.Background()))
	d.m.Evaluate(d.clock.Now())
	s = d.stats(t, "m0")
	require.Equal(t, 10, s.Windows.Current, "the window survives the new share")
	require.Equal(t, 4, s.Labels.PendingPredictions)
	require.Equal(t, 4, s.Labels.MaxPending, "the model's share shows in its stats")
	require.Equal(t, 6.0, testutil.ToFloat64(d.m.metrics.forModel("m0").evictedPredCapacity))

	// p6…p9 still join; p0 was dropped, so its label waits for a prediction.
	for _, id := range []string{"p6", "p9", "p0"} {
		r := d.post(t, "/api/v1/labels", "", fmt.Sprintf(`{"model":"m0","id":%q,"label":1}`, id))
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	}
	d.m.Evaluate(d.clock.Now())
	s = d.stats(t, "m0")
	require.Equal(t, 2, s.Labels.PendingPredictions)
	require.Equal(t, 1, s.Labels.PendingLabels)

	// Back to one model: the share grows again and nothing more is dropped.
	require.NoError(t, os.WriteFile(d.cfg, []byte(budgetCfg(storage, 1, 12, 0)), 0o600))
	require.NoError(t, d.m.Reload(context.Background()))
	for i := 10; i < 20; i++ {
		r := d.post(t, "/api/v1/predictions", "", fmt.Sprintf(`{"model":"m0","id":"p%d","prediction":%d}`, i, i))
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	}
	d.m.Evaluate(d.clock.Now())
	s = d.stats(t, "m0")
	require.Equal(t, 20, s.Windows.Current)
	require.Equal(t, 12, s.Labels.PendingPredictions)
	require.Equal(t, 12, s.Labels.MaxPending)
	require.Equal(t, 6.0, testutil.ToFloat64(d.m.metrics.forModel("m0").evictedPredCapacity))
}

func TestPendingSetSetMax(t *testing.T) {
	s := newPendingSet[int](8)
	for i := range 8 {
		s.add(fmt.Sprint("id-", i%6), int64(i), i) // ids 0 and 1 twice
	}
	var dropped []int
	s.onDrop = func(v *int) { dropped = append(dropped, *v) }
	require.Equal(t, 0, s.setMax(16), "growing drops nothing")
	require.Empty(t, dropped)
	require.Equal(t, 8, s.Len())

	require.Equal(t, 5, s.setMax(3))
	require.Equal(t, []int{0, 1, 2, 3, 4}, dropped, "the oldest are dropped, each handed to drop")
	require.Equal(t, 3, s.Len())
	require.LessOrEqual(t, cap(s.nodes), 3, "a shrunk set gives back its larger slab")
	var got []string
	s.each(func(id string, ts int64, v *int) { got = append(got, fmt.Sprint(id, "@", ts, "=", *v)) })
	require.Equal(t, []string{"id-5@5=5", "id-0@6=6", "id-1@7=7"}, got, "the newest records stay, oldest first")
	require.True(t, s.has("id-0"))
	require.False(t, s.has("id-2"))

	_, evicted := s.add("id-9", 9, 9)
	require.True(t, evicted, "the new capacity holds")
	require.Equal(t, []int{0, 1, 2, 3, 4, 5}, dropped, "the rebuilt set keeps onDrop")
	require.Equal(t, 3, s.Len())
	var vals []int
	s.take("id-0", func(_ int64, v *int) { vals = append(vals, *v) })
	require.Equal(t, []int{6}, vals, "id-0's older record was among the dropped")
}

// TestLabelsChangeKeepsWindowsAcrossRestart: a restart under new labels settings (here a
// smaller max_pending for one model, and a budget that changes the others' share)
// restores every model's windows from the snapshot and fits the waiting records to the
// new capacity.
func TestLabelsChangeKeepsWindowsAcrossRestart(t *testing.T) {
	r := newDurableRig(t, false)
	preds, labels := traffic(9, 150)
	m, srv := r.open()
	feedDurable(t, srv, preds, labels[:40])
	ts := r.clock.Add(time.Minute)
	before := state(t, m, ts)
	fraud, ok := m.Stats("fraud")
	require.True(t, ok)
	require.Greater(t, fraud.Labels.PendingPredictions, 3, "the test needs predictions waiting")
	require.NoError(t, m.Stop(t.Context()))

	cfg := fmt.Sprintf(durableCfg, r.data, false)
	cfg = strings.Replace(cfg, "labels: {ttl: 1h, max_pending: 40}", "labels: {ttl: 2h, max_pending: 3}", 1)
	cfg = strings.Replace(cfg, "wal: {fsync: false}}", "wal: {fsync: false}, max_pending_labels: 150}", 1)
	r.writeConfig(cfg)
	m2, _ := r.open()
	after := state(t, m2, ts)
	for _, name := range []string{"fraud", "intent", "price"} {
		require.JSONEq(t, withoutLabels(t, before[name]), withoutLabels(t, after[name]), name)
	}
	fraud, ok = m2.Stats("fraud")
	require.True(t, ok)
	require.Equal(t, 3, fraud.Labels.PendingPredictions)
}

// withoutLabels drops the label join's figures from a model's stats in JSON.
func withoutLabels(t *testing.T, stats string) string {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(stats), &v))
	delete(v, "labels")
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestModelFingerprintLeavesOutLabels(t *testing.T) {
	cfg, err := Load([]byte(budgetCfg("", 1, 0, 0)))
	require.NoError(t, err)
	mc := cfg.Models[0]
	other := mc
	other.Labels = LabelsConfig{TTL: mc.Labels.TTL * 2, MaxPending: 7}
	require.Equal(t, modelFingerprint(mc, nil), modelFingerprint(other, nil))
	require.True(t, fingerprintMatches(fingerprint(mc, nil), mc, nil), "a snapshot written before labels were left out")
	require.False(t, fingerprintMatches(fingerprint(mc, nil), other, nil), "…under the labels it was written with only")
	// Before the budget, a model without labels.max_pending had 100,000; after an upgrade
	// with more than ten models its share is less, and its snapshot still restores.
	many, err := Load([]byte(budgetCfg("", 11, 0, 0)))
	require.NoError(t, err)
	share := many.Models[3]
	require.Equal(t, 90909, share.Labels.MaxPending)
	before := share
	before.Labels.MaxPending = 100000
	require.True(t, fingerprintMatches(fingerprint(before, nil), share, nil))
	changed := mc
	changed.MaxVersions++
	require.False(t, fingerprintMatches(modelFingerprint(mc, nil), changed, nil))
	require.False(t, fingerprintMatches(fingerprint(mc, nil), changed, nil))
}

// TestPendingSetOnDropSeesEveryEviction: when ids fill the arena, add evicts several
// records to fit a long one and returns only the first; onDrop sees each of them, and a
// record too long to store at all.
func TestPendingSetOnDropSeesEveryEviction(t *testing.T) {
	s := newTestPendingSet(100, 40, nil)
	var dropped []int
	s.onDrop = func(v *int) { dropped = append(dropped, *v) }
	for i := range 4 {
		s.add(fmt.Sprintf("id-%05d", i), int64(i), i) // 8 bytes each: 32 of 40
	}
	old, evicted := s.add(strings.Repeat("x", 30), 4, 4) // needs 3 of them gone
	require.True(t, evicted)
	require.Equal(t, 0, old)
	require.Equal(t, []int{0, 1, 2}, dropped)
	require.Equal(t, 2, s.Len())

	_, evicted = s.add(strings.Repeat("y", 41), 5, 5) // longer than the arena may grow
	require.True(t, evicted)
	require.Equal(t, []int{0, 1, 2, 5}, dropped)
	require.Equal(t, 2, s.Len())
}
