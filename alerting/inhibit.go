package alerting

import (
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// inhibitRule is a compiled inhibit rule with an index of the alerts matching its
// source side, by the values of its equal labels.
type inhibitRule struct {
	source, target labels.Matchers
	equal          []string
	sources        map[string]map[uint64]*alertEntry
}

func (r *inhibitRule) equalKey(l map[string]string) string {
	var b strings.Builder
	for _, n := range r.equal {
		b.WriteString(l[n])
		b.WriteByte(0xff)
	}
	return b.String()
}

func (r *inhibitRule) add(e *alertEntry) {
	if !matches(r.source, e.a.Labels) {
		return
	}
	k := r.equalKey(e.a.Labels)
	m, ok := r.sources[k]
	if !ok {
		m = map[uint64]*alertEntry{}
		r.sources[k] = m
	}
	m[e.fp] = e
}

func (r *inhibitRule) remove(e *alertEntry) {
	k := r.equalKey(e.a.Labels)
	if m, ok := r.sources[k]; ok {
		delete(m, e.fp)
		if len(m) == 0 {
			delete(r.sources, k)
		}
	}
}

// inhibited reports whether an inhibit rule mutes the alert with labels l (fingerprint
// fp) at now: a rule whose target side matches it, with a source alert firing at now
// whose equal labels have the same values. When the alert matches both sides, sources
// that also match both are disregarded (so an alert never inhibits itself), as in
// Alertmanager. Callers hold d.mu.
func (d *Dispatcher) inhibited(l map[string]string, fp uint64, now time.Time) bool {
	if d.cfg == nil {
		return false
	}
	for _, r := range d.cfg.inhibit {
		if !matches(r.target, l) {
			continue
		}
		twoSided := matches(r.source, l)
		for sfp, s := range r.sources[r.equalKey(l)] {
			if sfp == fp || d.resolved(s, now) {
				continue
			}
			if twoSided && matches(r.target, s.a.Labels) {
				continue
			}
			return true
		}
	}
	return false
}
