package alerting

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/alertmanager/matcher/parse"
	"github.com/prometheus/alertmanager/pkg/labels"
)

func parseUTF8Matchers(s string) (labels.Matchers, error) { return parse.Matchers(s) }

// matches reports whether every matcher matches the label set (a missing label has
// the empty value, as in Alertmanager).
func matches(ms labels.Matchers, l map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(l[m.Name]) {
			return false
		}
	}
	return true
}

// fingerprint hashes a label set (FNV-1a over the sorted name/value pairs): an alert's
// identity, stable across restarts, used in the notification log's alert sets.
func fingerprint(l map[string]string) uint64 {
	var names [32]string
	keys := names[:0]
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime64
		}
		h ^= 0xff // separator
		h *= prime64
	}
	for _, k := range keys {
		add(k)
		add(l[k])
	}
	return h
}

// labelsString formats a label set as {a="1", b="2"}, sorted by name.
func labelsString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// commonLabels returns the labels that every set holds with the same value.
func commonLabels(sets []map[string]string) map[string]string {
	if len(sets) == 0 {
		return map[string]string{}
	}
	out := make(map[string]string, len(sets[0]))
	for k, v := range sets[0] {
		out[k] = v
	}
	for _, s := range sets[1:] {
		for k, v := range out {
			if w, ok := s[k]; !ok || w != v {
				delete(out, k)
			}
		}
	}
	return out
}
