package cloudevents

import (
	"bytes"
	"io"
	"math"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// KServe v1 bodies ({"instances": [...]} and {"predictions": [...]}) are what the payload
// logger sends most, and reading them through encoding/json into maps of interfaces was
// the CloudEvents worker's largest cost. v1Instances and v1Predictions walk the tokens
// instead. They answer only bodies they read completely and exactly as the general path
// would; for anything else (another protocol, an error to report, a shape they do not
// take) they return ok false, and the general path (parseBody) reads the body and words
// the error. FuzzV1FastPath holds the two paths to the same result.

// v1Decoder reads data with encoding/json's leniency: duplicate names are allowed (the
// last wins, as in a map) and invalid UTF-8 is kept (appendQuoted replaces it).
func v1Decoder(data []byte) *jsontext.Decoder {
	return jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// v1Array positions dec at the opening bracket of the top-level member named exactly key,
// having checked that no member before it has a name the general path might read. It
// reports false when the body is not such an object.
func v1Array(dec *jsontext.Decoder, key string) bool {
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		name := tok.String()
		if name == key {
			return dec.PeekKind() == '['
		}
		if bodyMember(name) || dec.SkipValue() != nil {
			return false // the general path weighs such a member: leave the body to it
		}
	}
	return false
}

// bodyMember reports whether the general path might read a member of this name.
// encoding/json matches names to fields without regard to case; the comparison here
// also ignores '_' and '-', so that it errs on the side of leaving a body to that path.
func bodyMember(name string) bool {
	if strings.ContainsAny(name, "_-") {
		name = strings.NewReplacer("_", "", "-", "").Replace(name)
	}
	for _, m := range [...]string{"instances", "predictions", "inputs", "outputs", "data", "truth"} {
		if strings.EqualFold(name, m) {
			return true
		}
	}
	return false
}

// v1Rest reads what follows the array: other members (none the general path might read)
// and the end of the body.
func v1Rest(dec *jsontext.Decoder) bool {
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil || bodyMember(tok.String()) || dec.SkipValue() != nil {
			return false
		}
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return false
	}
	_, err := dec.ReadToken()
	return err == io.EOF
}

// v1Scalar reads a scalar token as the general path's value: float64, string, bool or nil.
// It reports false for an object or array, and for a number out of float64's range.
func v1Scalar(dec *jsontext.Decoder) (any, bool) {
	switch dec.PeekKind() {
	case 'n', 't', 'f', '"', '0':
	default:
		return nil, false
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, false
	}
	switch tok.Kind() {
	case 'n':
		return nil, true
	case 't':
		return true, true
	case 'f':
		return false, true
	case '"':
		return tok.String(), true
	}
	f, err := tok.Float()
	if err != nil || math.IsInf(f, 0) {
		return nil, false
	}
	return f, true
}

// v1Instances reads a KServe v1 request's instances, as requestRows does.
func v1Instances(data []byte, m *Mapping) ([][]feature, bool) {
	dec := v1Decoder(data)
	if !v1Array(dec, "instances") {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != nil { // [
		return nil, false
	}
	var rows [][]feature
	for dec.PeekKind() != ']' {
		var row []feature
		switch dec.PeekKind() {
		case '{':
			_, _ = dec.ReadToken()
			for dec.PeekKind() == '"' {
				tok, err := dec.ReadToken()
				if err != nil {
					return nil, false
				}
				name := tok.String()
				if k := dec.PeekKind(); k == '{' || k == '[' {
					if !skipNested(dec) { // nested values are not features
						return nil, false
					}
					row = dropName(row, name) // a later nested value replaces an earlier scalar
					continue
				}
				v, ok := v1Scalar(dec)
				if !ok {
					return nil, false
				}
				row = append(row, feature{name, v})
			}
			if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
				return nil, false
			}
			if row == nil {
				row = []feature{}
			}
		case '[':
			_, _ = dec.ReadToken()
			for j := 0; dec.PeekKind() != ']'; j++ {
				v, ok := v1Scalar(dec)
				if !ok {
					return nil, false // the general path names the column
				}
				row = append(row, feature{columnName(m, j), v})
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, false
			}
			if row == nil {
				row = []feature{}
			}
		default:
			v, ok := v1Scalar(dec)
			if !ok {
				return nil, false
			}
			row = []feature{{columnName(m, 0), v}}
		}
		rows = append(rows, row)
	}
	if _, err := dec.ReadToken(); err != nil || !v1Rest(dec) { // ]
		return nil, false
	}
	if rows == nil {
		rows = [][]feature{}
	}
	return rows, true
}

// skipNested reads past the object or array at dec's position. Unlike SkipValue it
// converts its numbers, as encoding/json does when it reads the instance into a map,
// and reports false when one is out of float64's range: the general path refuses
// such an instance.
func skipNested(dec *jsontext.Decoder) bool {
	depth := 0
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		switch tok.Kind() {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '0':
			if f, err := tok.Float(); err != nil || math.IsInf(f, 0) {
				return false
			}
		}
		if depth == 0 {
			return true
		}
	}
}

// dropName removes the features named name from row.
func dropName(row []feature, name string) []feature {
	out := row[:0]
	for _, f := range row {
		if f.name != name {
			out = append(out, f)
		}
	}
	return out
}

// v1Predictions reads a KServe v1 response's predictions, as responseOutputs does.
func v1Predictions(data []byte) ([]output, bool) {
	dec := v1Decoder(data)
	if !v1Array(dec, "predictions") {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != nil { // [
		return nil, false
	}
	out := []output{}
	for dec.PeekKind() != ']' {
		if dec.PeekKind() != '[' {
			v, ok := v1Scalar(dec)
			if !ok || v == nil {
				return nil, false
			}
			out = append(out, output{pred: v})
			continue
		}
		_, _ = dec.ReadToken()
		var vals []any
		for dec.PeekKind() != ']' {
			v, ok := v1Scalar(dec)
			if !ok {
				return nil, false
			}
			vals = append(vals, v)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, false
		}
		if len(vals) == 1 {
			out = append(out, output{pred: vals[0]})
			continue
		}
		s, err := floats(vals)
		if err != nil {
			return nil, false
		}
		out = append(out, output{scores: s})
	}
	if _, err := dec.ReadToken(); err != nil || !v1Rest(dec) { // ]
		return nil, false
	}
	return out, true
}
