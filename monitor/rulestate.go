package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilml/vigil/rules"
)

// ruleStateFile holds the rules' alert states under global.storage_path, so that a
// restart keeps every pending alert's `for` clock and every firing alert's start.
const ruleStateFile = "rules-state.json"

// ruleState is the file's content.
type ruleState struct {
	Version int              `json:"version"`
	SavedAt time.Time        `json:"saved_at"`
	Alerts  []rules.Snapshot `json:"alerts"`
}

// saveRuleState writes the rules' states atomically: a temporary file, fsynced, renamed
// over the old one, so a crash leaves the previous or the new state, never half of one.
func (m *Monitor) saveRuleState(cfg *Config, ts time.Time) error {
	snaps := m.rules.State()
	path := filepath.Join(cfg.Global.StoragePath, ruleStateFile)
	if len(snaps) == 0 {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil // nothing to keep, and nothing kept before
		}
	}
	data, err := json.Marshal(ruleState{Version: 1, SavedAt: ts, Alerts: snaps})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Global.StoragePath, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(cfg.Global.StoragePath, ".rules-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// restoreRuleState puts back the alert states a previous run saved.
func (m *Monitor) restoreRuleState(cfg *Config) error {
	data, err := os.ReadFile(filepath.Join(cfg.Global.StoragePath, ruleStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st ruleState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s is not a rule state file: %w", ruleStateFile, err)
	}
	if st.Version != 1 {
		return fmt.Errorf("%s has version %d, this vigil reads version 1", ruleStateFile, st.Version)
	}
	n := m.rules.Restore(st.Alerts)
	m.logger.Info("alert states restored", "alerts", n, "saved_at", st.SavedAt)
	return nil
}
