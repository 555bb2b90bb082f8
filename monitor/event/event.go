// Package event defines the prediction and label records that vigil ingests
// and a fast, strict decoder for ingest bodies.
//
// A body is either JSON (one object, or an array of objects) or NDJSON (one
// object per line). The [Decoder] checks every record against the public
// contract in DESIGN.md ("Events (JSON)") and names each rejected record with
// a bounded [Reason] and an error a person can act on. Valid records of a
// batch are delivered even when others are rejected.
//
// # Strictness
//
//   - The body must be valid JSON as [encoding/json.Valid] defines it, and in
//     addition valid UTF-8 (RFC 8259 §8.1): encoding/json lets invalid UTF-8
//     through, but every string vigil keeps may become a Prometheus label value.
//     Escaped lone surrogates (\ud800) are syntactically valid and decode to
//     U+FFFD, as in encoding/json.
//   - Unknown and duplicate fields are rejected, so a typo such as "feautres"
//     never drops data silently.
//   - Numbers that overflow float64 (1e400) are rejected; NaN and infinities
//     cannot be written in JSON and are never produced.
//   - null in an optional field means the field is absent. In features, null is
//     a missing value ([Missing]).
//
// # Performance
//
// The decoder is built for the ingest hot path: in steady state the only
// allocation per prediction is its id string. Repeating strings (model,
// version, feature names, string feature values, classes) come from a bounded
// intern table owned by the [Decoder] (at most 16384 strings of at most 64
// bytes), with a cache per feature position in front of it.
//
// A JSON body is read in one pass; its accepted records are held back in
// buffers of the Decoder and passed on once the whole body is known to be
// valid JSON. An NDJSON line is passed on as soon as it is read.
//
// The scanner is hand-written. The alternative,
// github.com/go-json-experiment/json/jsontext, was measured on the same
// 20-feature NDJSON batch (BenchmarkJSONTextPredictionsNDJSON): even a bare
// jsontext walk without error reporting runs about three times as many
// instructions as this decoder, and takes about three times as long.
package event

import (
	"math"
	"strconv"
	"time"
)

// Role is the part a model version plays in a deployment.
type Role uint8

// Roles, as written in the "role" field of a prediction.
const (
	// RolePrimary serves live traffic; it is the default.
	RolePrimary Role = iota
	// RoleCanary serves a slice of live traffic under evaluation.
	RoleCanary
	// RoleShadow receives a copy of live traffic; its answers are not served.
	RoleShadow
)

var roleNames = [...]string{RolePrimary: "primary", RoleCanary: "canary", RoleShadow: "shadow"}

// String returns the name used in the "role" field: "primary", "canary" or "shadow".
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Kind is the type of a [Value].
type Kind uint8

// Kinds of [Value].
const (
	// Missing is an absent value: a null feature, or a prediction that was not sent.
	Missing Kind = iota
	// Number is a finite float64 in [Value.Num].
	Number
	// String is a string in [Value.Str].
	String
	// Bool is a boolean stored as 1 (true) or 0 (false) in [Value.Num].
	Bool
)

var kindNames = [...]string{Missing: "missing", Number: "number", String: "string", Bool: "bool"}

// String returns "missing", "number", "string" or "bool".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one scalar: a feature value, a prediction or a label.
// A Bool stores Num 1 or 0, a Number stores Num, a String stores Str.
type Value struct {
	Kind Kind
	Num  float64
	Str  string
}

// NumberValue returns a Number value.
func NumberValue(f float64) Value { return Value{Kind: Number, Num: f} }

// StringValue returns a String value.
func StringValue(s string) Value { return Value{Kind: String, Str: s} }

// BoolValue returns a Bool value.
func BoolValue(b bool) Value {
	if b {
		return Value{Kind: Bool, Num: 1}
	}
	return Value{Kind: Bool}
}

// smallInts holds the class keys of the integers 0..99, so that the usual
// class numbers do not allocate.
var smallInts = func() (s [100]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// Class returns the key used to match predictions with labels and to name
// classes: a Number is formatted with strconv.FormatFloat(v, 'g', -1, 64), so
// that 1 and 1.0 are both "1" (and -0 is "-0"); a String is its text; a Bool
// is "true" or "false"; Missing is "". Integers from 0 to 99 do not allocate.
func (v Value) Class() string {
	switch v.Kind {
	case Number:
		if v.Num >= 0 && v.Num < float64(len(smallInts)) && !math.Signbit(v.Num) {
			if i := int(v.Num); float64(i) == v.Num {
				return smallInts[i]
			}
		}
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case String:
		return v.Str
	case Bool:
		if v.Num != 0 {
			return "true"
		}
		return "false"
	}
	return ""
}

// String returns a readable form of v: its class, or "<missing>".
func (v Value) String() string {
	if v.Kind == Missing {
		return "<missing>"
	}
	return v.Class()
}

// Feature is one named feature value of a prediction.
type Feature struct {
	Name  string
	Value Value
}

// ClassScore is the probability a model gave to one class.
type ClassScore struct {
	Class string
	P     float64
}

// Prediction is one prediction record.
type Prediction struct {
	// Model is the model's name, from the record or the URL; never empty.
	Model string
	// Version is the model version, "" when not sent.
	Version string
	// ID identifies the request, to join labels and shadow traffic; "" when
	// not sent. A numeric id keeps its JSON text ("id": 1.50 is "1.50").
	ID string
	// Role is RolePrimary unless the record says otherwise.
	Role Role
	// Time is the event time, in UTC; zero when the record carries no
	// timestamp (the caller stamps the arrival time).
	Time time.Time
	// Features are in record order; names are unique.
	Features []Feature
	// Prediction is Missing when absent; otherwise a Number, String or Bool.
	Prediction Value
	// Score is the positive-class probability, in [0, 1], when HasScore.
	Score    float64
	HasScore bool
	// Scores are multiclass per-class probabilities, in record order.
	Scores []ClassScore
	// LatencyMS is the model's latency in milliseconds (≥ 0), when HasLatency.
	LatencyMS  float64
	HasLatency bool
}

// Feature returns the value of the named feature and whether the record has it.
func (p *Prediction) Feature(name string) (Value, bool) {
	for i := range p.Features {
		if p.Features[i].Name == name {
			return p.Features[i].Value, true
		}
	}
	return Value{}, false
}

// Label is the true outcome for an earlier prediction, matched by model and id.
type Label struct {
	// Model is the model's name, from the record or the URL; never empty.
	Model string
	// ID is the id of the prediction; never empty.
	ID string
	// Label is a Number, String or Bool.
	Label Value
	// Time is the event time, in UTC; zero when the record carries no timestamp.
	Time time.Time
}
