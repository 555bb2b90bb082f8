package event

import (
	"errors"
	"strconv"
	"strings"
)

// Reason is a bounded, metric-safe rejection reason (used as a Prometheus label value).
type Reason string

// Rejection reasons.
const (
	// ReasonInvalidJSON is for an NDJSON line that is not valid JSON.
	ReasonInvalidJSON Reason = "invalid_json"
	// ReasonMissingField is for a required field that is absent.
	ReasonMissingField Reason = "missing_field"
	// ReasonInvalidValue is for a field of the wrong type or with an
	// unacceptable value, a duplicate field, or a record that is not a JSON object.
	ReasonInvalidValue Reason = "invalid_value"
	// ReasonInvalidTimestamp is for a timestamp that is neither RFC 3339 nor
	// Unix seconds (from 1970 to 9999).
	ReasonInvalidTimestamp Reason = "invalid_timestamp"
	// ReasonUnknownField is for a field that the contract does not define.
	ReasonUnknownField Reason = "unknown_field"
	// ReasonTooLarge is for too many features or scores, or a string that is
	// too long (see [Limits]).
	ReasonTooLarge Reason = "too_large"
	// ReasonModelMismatch is for a record that names a model other than the
	// one in the URL.
	ReasonModelMismatch Reason = "model_mismatch"
)

// ErrEmptyBody is returned when a body holds no record at all.
var ErrEmptyBody = errors.New("empty body: expected a JSON object, a JSON array of objects, or NDJSON")

// RecordError names one rejected record.
type RecordError struct {
	// Index counts records in the body from 0: array elements, or non-blank NDJSON lines.
	Index int
	// Model is the model from the URL if there is one, else the record's
	// "model" if it could be read, else "". It is not checked against the
	// configured models: check it before using it as a label value.
	Model string
	// Reason is the bounded reason, for metrics.
	Reason Reason
	// Err says what is wrong, naming the field.
	Err error
}

// Error returns a message such as
// `record 3: features.amount: number 1e400 overflows float64`.
func (e *RecordError) Error() string {
	return "record " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *RecordError) Unwrap() error { return e.Err }

// SyntaxError is a JSON syntax error. In JSON format it makes the whole body
// unusable; in NDJSON format it rejects one line (wrapped in a [RecordError]).
type SyntaxError struct {
	// Offset is the byte offset of the error in the body.
	Offset int
	// Line and Column are 1-based; Column counts bytes.
	Line, Column int
	// Msg describes the error, as encoding/json does.
	Msg string
}

// Error returns a message such as
// `invalid JSON at line 1, column 12 (byte offset 11): invalid character '}' after object key`.
func (e *SyntaxError) Error() string {
	return "invalid JSON at line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) +
		" (byte offset " + strconv.Itoa(e.Offset) + "): " + e.Msg
}

// fieldError is a semantic error in one field of a record.
type fieldError struct {
	field string // path such as "features.amount"; "" for the record itself
	msg   string
}

func (e *fieldError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

// fieldPath returns parent.name, or parent["name"] when name is not a plain identifier.
func fieldPath(parent, name string) string {
	if name != "" && len(name) <= 64 && plain(name) {
		return parent + "." + name
	}
	if len(name) > 64 {
		// Cut at a rune boundary; the name is valid UTF-8.
		i := 64
		for i > 0 && name[i]&0xC0 == 0x80 {
			i--
		}
		return parent + "[" + strconv.Quote(name[:i]) + "…]"
	}
	return parent + "[" + strconv.Quote(name) + "]"
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/' || c == ':') {
			return false
		}
	}
	return true
}

// quoteValue quotes a user string for an error message, shortened if long.
func quoteValue(s string) string {
	if len(s) > 64 {
		i := 64
		for i > 0 && s[i]&0xC0 == 0x80 {
			i--
		}
		return strconv.Quote(s[:i]) + "…"
	}
	return strconv.Quote(s)
}

// suggest returns the known name closest to name (edit distance at most 2), or "".
func suggest(name string, known []string) string {
	best, bestD := "", 3
	lower := strings.ToLower(name)
	for _, k := range known {
		if d := editDistance(lower, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance (Levenshtein with
// adjacent transpositions), capped early for long inputs.
func editDistance(a, b string) int {
	if len(a) > 32 || len(b) > 32 {
		if a == b {
			return 0
		}
		return 99
	}
	var rows [3][34]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
