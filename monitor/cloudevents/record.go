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
		slices.SortStableFunc(r.Features, func(x, y feature) int { return cmp.Compare(x.name, y.name) })
		b = append(b, `,"features":{`...)
		first := true
		for i, f := range r.Features {
			if i+1 < len(r.Features) && r.Features[i+1].name == f.name {
				continue // a later value of the same name wins, as in a map
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendQuoted(b, f.name)
			b = append(b, ':')
			b = appendValue(b, f.value)
		}
		b = append(b, '}')
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
		slices.SortStableFunc(r.Scores, func(x, y classScore) int { return cmp.Compare(x.class, y.class) })
		b = append(b, `,"scores":{`...)
		first := true
		for i, s := range r.Scores {
			if i+1 < len(r.Scores) && r.Scores[i+1].class == s.class {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendQuoted(b, s.class)
			b = append(b, ':')
			b = appendFloat(b, s.p)
		}
		b = append(b, '}')
	}
	return append(b, '}', '\n')
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
