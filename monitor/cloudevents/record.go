package cloudevents

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// record is one prediction in vigil's event format (DESIGN.md, "Events (JSON)").
type record struct {
	Model, Version, Role, ID string
	Timestamp                string    // RFC 3339; "" when unknown
	Features                 []feature // sorted by name on append; a repeated name keeps its last value
	Prediction               any       // nil: none
	Score                    float64
	HasScore                 bool
	Scores                   []classScore // multiclass probabilities; a repeated class keeps its last
}

// classScore is one class's probability.
type classScore struct {
	class string
	p     float64
}

// appendJSON appends r as one NDJSON line. It writes what encoding/json writes for the
// same record with maps for features and scores (keys sorted, empty fields omitted,
// invalid UTF-8 replaced) without HTML escaping, and without reflection or a map per
// record: this is the CloudEvents worker's hot path. It sorts r.Features and r.Scores.
func (r *record) appendJSON(b []byte) []byte {
	b = append(b, `{"model":`...)
	b = appendQuoted(b, r.Model)
	if r.Version != "" {
		b = append(b, `,"version":`...)
		b = appendQuoted(b, r.Version)
	}
	if r.Role != "" {
		b = append(b, `,"role":`...)
		b = appendQuoted(b, r.Role)
	}
	b = append(b, `,"id":`...)
	b = appendQuoted(b, r.ID)
	if r.Timestamp != "" {
		b = append(b, `,"timestamp":`...)
		b = appendQuoted(b, r.Timestamp)
	}
	if len(r.Features) > 0 {
		b = append(b, `,"features":`...)
		b = appendObject(b, r.Features, func(f feature) string { return f.name },
			func(b []byte, f feature) []byte { return appendValue(b, f.value) })
	}
	if r.Prediction != nil {
		b = append(b, `,"prediction":`...)
		b = appendValue(b, r.Prediction)
	}
	if r.HasScore {
		b = append(b, `,"score":`...)
		b = appendFloat(b, r.Score)
	}
	if len(r.Scores) > 0 {
		b = append(b, `,"scores":`...)
		b = appendObject(b, r.Scores, func(s classScore) string { return s.class },
			func(b []byte, s classScore) []byte { return appendFloat(b, s.p) })
	}
	return append(b, '}', '\n')
}

// appendObject writes members as the JSON object encoding/json writes for a map of them:
// sorted by key, a repeated key keeping its last value. It sorts members.
func appendObject[M any](b []byte, members []M, key func(M) string, value func([]byte, M) []byte) []byte {
	slices.SortStableFunc(members, func(x, y M) int { return cmp.Compare(key(x), key(y)) })
	b = append(b, '{')
	first := true
	for i, m := range members {
		k := key(m)
		if i+1 < len(members) && key(members[i+1]) == k {
			continue // a later value of the same key wins, as in a map
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendQuoted(b, k)
		b = append(b, ':')
		b = value(b, m)
	}
	return append(b, '}')
}

// appendLabel appends one label record as an NDJSON line.
func appendLabel(b []byte, model, id string, label any) []byte {
	b = append(b, `{"model":`...)
	b = appendQuoted(b, model)
	b = append(b, `,"id":`...)
	b = appendQuoted(b, id)
	b = append(b, `,"label":`...)
	b = appendValue(b, label)
	return append(b, '}', '\n')
}

// appendValue appends a feature value, prediction or label: float64, string, bool or nil.
// Anything else (the payload readers produce nothing else) is written as null, a
// missing value.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case float64:
		return appendFloat(b, x)
	case string:
		return appendQuoted(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	}
	return append(b, "null"...)
}

// appendFloat writes f as encoding/json does: the shortest representation, in exponent
// form below 1e-6 and from 1e21 on. NaN and infinities, which JSON cannot carry, become
// null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-07 -> e-7, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendQuoted writes s as a JSON string: quotes, backslashes and control characters
// escaped, U+2028 and U+2029 escaped (as encoding/json does, for JavaScript), and invalid
// UTF-8 replaced by U+FFFD so that vigil's strict decoder takes the record.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
