package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertmanager"
	"github.com/vigilml/vigil/alerting/pagerduty"
	"github.com/vigilml/vigil/alerting/slack"
	"github.com/vigilml/vigil/alerting/webhook"
	"github.com/vigilml/vigil/rules"
)

// integrations lists every integration vigil can send to, explicitly: a receiver's
// slack_configs, pagerduty_configs, webhook_configs, alertmanager_configs and
// console_configs. Secret files resolve against dir, the config's directory.
func integrations(dir string, logger *slog.Logger, console io.Writer) alerting.Builders {
	return alerting.Builders{
		alerting.KindSlack:        slack.Build(slack.Options{BaseDir: dir, Logger: logger}),
		alerting.KindPagerDuty:    pagerduty.Build(pagerduty.Options{BaseDir: dir, Logger: logger}),
		alerting.KindWebhook:      webhook.Build(webhook.Options{BaseDir: dir, Logger: logger}),
		alerting.KindAlertmanager: alertmanager.Build(alertmanager.Options{BaseDir: dir, Logger: logger}),
		alerting.KindConsole:      alerting.BuildConsole(console),
	}
}

// alertingEnabled reports whether the config routes alerts anywhere.
func (c *Config) alertingEnabled() bool { return c.Alerting.Route != nil }

// validateAlerting checks the routing tree and builds every integration once, so a
// missing secret file or an unknown key inside slack_configs fails at load.
func (c *Config) validateAlerting() error {
	if !c.alertingEnabled() && len(c.Alerting.Receivers) == 0 {
		return nil
	}
	if err := c.Alerting.Validate(); err != nil {
		if fe, ok := errors.AsType[*alerting.FieldError](err); ok {
			return &Error{Line: fe.Line, Field: fe.Field, Err: fe.Err}
		}
		return err
	}
	if _, err := alerting.BuildReceivers(&c.Alerting, integrations(c.dir, slog.New(slog.DiscardHandler), io.Discard).Build); err != nil {
		if fe, ok := errors.AsType[*alerting.FieldError](err); ok {
			return &Error{Line: fe.Line, Field: fe.Field, Err: fe.Err}
		}
		return fmt.Errorf("receivers: %w", err)
	}
	return nil
}

// notifier is the alerting side of a running Monitor: the durable store, the audit log
// and the dispatcher. It exists once the config has a route.
type notifier struct {
	store *alerting.BoltStore
	audit *os.File
	d     *alerting.Dispatcher
}

// startAlerting opens the store under global.storage_path and starts routing.
func (m *Monitor) startAlerting(cfg *Config) error {
	dir := cfg.Global.StoragePath
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("storage path: %w", err)
	}
	store, err := alerting.OpenBoltStore(filepath.Join(dir, "alerting.db"))
	if err != nil {
		return fmt.Errorf("open alerting store: %w", err)
	}
	audit, err := os.OpenFile(filepath.Join(dir, "audit.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		store.Close()
		return fmt.Errorf("open audit log: %w", err)
	}
	// Rules re-send their alerts every evaluation; an alert not heard of for three
	// evaluations (at least 5 minutes) is taken as resolved.
	resolve := max(5*time.Minute, 3*time.Duration(cfg.Global.EvaluationInterval))
	d, err := alerting.New(alerting.Options{
		Store: store, Logger: m.opts.Logger.With("component", "alerting"), Registerer: m.reg,
		Now: m.opts.Now, Audit: audit, ExternalURL: m.opts.ExternalURL, ResolveTimeout: resolve,
	})
	if err == nil {
		err = d.ApplyConfig(&cfg.Alerting, integrations(cfg.dir, m.opts.Logger.With("component", "alerting"), m.opts.Console).Build)
	}
	if err != nil {
		store.Close()
		audit.Close()
		return fmt.Errorf("start alerting: %w", err)
	}
	m.alerting = &notifier{store: store, audit: audit, d: d}
	return nil
}

// stopAlerting ends delivery (queued notifications stay in the store) and closes it.
func (n *notifier) stop() error {
	n.d.Stop()
	return errors.Join(n.store.Close(), n.audit.Close())
}

// sendAlerts hands the rules' firing and recently resolved alerts to the dispatcher.
// Pending alerts are not sent: they have not fired.
func (m *Monitor) sendAlerts(ctx context.Context, all []*rules.Alert) {
	if m.alerting == nil || !m.state.Load().cfg.alertingEnabled() {
		return
	}
	thresholds := map[string]float64{}
	for _, r := range m.rules.Rules() {
		if t := r.Config().Threshold; t != nil {
			thresholds[r.Name()] = *t
		}
	}
	out := make([]*alerting.Alert, 0, len(all))
	for _, a := range all {
		if a.State != rules.StateFiring && !a.Resolved() {
			continue
		}
		al := &alerting.Alert{
			Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.ActiveAt,
			GeneratorURL: m.opts.ExternalURL + "/api/v1/alerts",
			Value:        a.Value, Threshold: thresholds[a.Rule],
		}
		if a.Resolved() {
			al.EndsAt = a.ResolvedAt
		}
		out = append(out, al)
	}
	if err := m.alerting.d.Put(ctx, out); err != nil {
		m.logger.Error("hand alerts to the dispatcher", "alerts", len(out), "err", err)
	}
}

// alertingOrError answers 404 when alerting is not configured.
func (m *Monitor) alertingOrError(w http.ResponseWriter) *alerting.Dispatcher {
	if m.alerting == nil {
		writeError(w, http.StatusNotFound, "alerting is not configured: add route: and receivers: to the config and restart vigil")
		return nil
	}
	return m.alerting.d
}

func (m *Monitor) listSilences(w http.ResponseWriter, _ *http.Request) {
	d := m.alertingOrError(w)
	if d == nil {
		return
	}
	out := d.Silences().List()
	if out == nil {
		out = []alerting.Silence{}
	}
	writeJSON(w, http.StatusOK, out)
}

// postSilence takes an Alertmanager API v2 silence: matchers, startsAt, endsAt,
// createdBy, comment (and id to update one).
func (m *Monitor) postSilence(w http.ResponseWriter, r *http.Request) {
	d := m.alertingOrError(w)
	if d == nil {
		return
	}
	var sil alerting.Silence
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sil); err != nil {
		writeError(w, http.StatusBadRequest, "silence: "+err.Error())
		return
	}
	id, err := d.Silences().Set(sil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "silence: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"silenceID": id})
}

func (m *Monitor) deleteSilence(w http.ResponseWriter, r *http.Request) {
	d := m.alertingOrError(w)
	if d == nil {
		return
	}
	if err := d.Silences().Expire(r.PathValue("id")); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, alerting.ErrSilenceNotFound) {
			status = http.StatusNotFound
		}
		writeError(w, status, err.Error())
		return
	}
	writeText(w, http.StatusOK, "silence expired")
}

// alertHistory serves the audit trail: ?since=RFC3339&limit=N&receiver=NAME.
func (m *Monitor) alertHistory(w http.ResponseWriter, r *http.Request) {
	d := m.alertingOrError(w)
	if d == nil {
		return
	}
	var f alerting.HistoryFilter
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since: want an RFC 3339 time such as 2026-11-24T10:00:00Z")
			return
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "limit: want a whole number")
			return
		}
		f.Limit = n
	}
	f.Receiver = q.Get("receiver")
	out := d.History(f)
	if out == nil {
		out = []alerting.Event{}
	}
	writeJSON(w, http.StatusOK, out)
}
