package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// result is everything one Predictions or Labels call produced, copied out
// of the reused records.
type result struct {
	records  int
	accepted []int // indexes passed to fn
	preds    []Prediction
	labels   []Label
	errs     []RecordError
	err      error
}

// clonePrediction copies p out of the decoder's reused storage.
func clonePrediction(p *Prediction) Prediction {
	c := *p
	c.Features, c.Scores = nil, nil
	if len(p.Features) > 0 {
		c.Features = append([]Feature(nil), p.Features...)
	}
	if len(p.Scores) > 0 {
		c.Scores = append([]ClassScore(nil), p.Scores...)
	}
	return c
}

func decodePredictions(d *Decoder, body string, f Format, defaultModel string) result {
	var r result
	r.records, r.errs, r.err = d.Predictions([]byte(body), f, defaultModel, func(i int, p *Prediction) {
		r.accepted = append(r.accepted, i)
		r.preds = append(r.preds, clonePrediction(p))
	})
	return r
}

func decodeLabels(d *Decoder, body string, f Format, defaultModel string) result {
	var r result
	r.records, r.errs, r.err = d.Labels([]byte(body), f, defaultModel, func(i int, l *Label) {
		r.accepted = append(r.accepted, i)
		r.labels = append(r.labels, *l)
	})
	return r
}

// pred builds an expected prediction of model "fraud".
func pred(mod ...func(*Prediction)) Prediction {
	p := Prediction{Model: "fraud"}
	for _, m := range mod {
		m(&p)
	}
	return p
}

func features(fs ...Feature) func(*Prediction) {
	return func(p *Prediction) { p.Features = fs }
}

func num(name string, v float64) Feature  { return Feature{Name: name, Value: NumberValue(v)} }
func str(name string, v string) Feature   { return Feature{Name: name, Value: StringValue(v)} }
func boolean(name string, v bool) Feature { return Feature{Name: name, Value: BoolValue(v)} }
func missing(name string) Feature         { return Feature{Name: name} }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// predictionCase is one record, decoded alone.
type predictionCase struct {
	name         string
	record       string
	defaultModel string
	limits       Limits
	want         Prediction // when err is ""
	err          string     // RecordError.Error()
	reason       Reason
	model        string // RecordError.Model
}

var goodPredictions = []predictionCase{
	{
		name: "design example",
		record: `{"model": "fraud", "version": "v3", "role": "primary", "id": "req-8c1f",
 "timestamp": "2026-11-24T10:00:00Z",
 "features": {"amount": 125.5, "country": "DE", "age": null},
 "prediction": 1, "score": 0.83, "scores": {"0": 0.17, "1": 0.83},
 "latency_ms": 12.4}`,
		want: Prediction{
			Model: "fraud", Version: "v3", ID: "req-8c1f", Role: RolePrimary,
			Time:       at("2026-11-24T10:00:00Z"),
			Features:   []Feature{num("amount", 125.5), str("country", "DE"), missing("age")},
			Prediction: NumberValue(1), Score: 0.83, HasScore: true,
			Scores:    []ClassScore{{"0", 0.17}, {"1", 0.83}},
			LatencyMS: 12.4, HasLatency: true,
		},
	},
	{name: "model only", record: `{"model":"fraud"}`, want: pred()},
	{name: "model from the URL", record: `{}`, defaultModel: "fraud", want: pred()},
	{name: "model equal to the URL", record: `{"model":"fraud"}`, defaultModel: "fraud", want: pred()},
	{name: "role canary", record: `{"model":"fraud","role":"canary"}`, want: pred(func(p *Prediction) { p.Role = RoleCanary })},
	{name: "role shadow", record: `{"model":"fraud","role":"shadow"}`, want: pred(func(p *Prediction) { p.Role = RoleShadow })},
	{
		name:   "null optional fields are absent",
		record: `{"model":"fraud","version":null,"role":null,"id":null,"timestamp":null,"features":null,"prediction":null,"score":null,"scores":null,"latency_ms":null}`,
		want:   pred(),
	},
	{name: "id number keeps its text", record: `{"model":"fraud","id":12345678901234567890}`, want: pred(func(p *Prediction) { p.ID = "12345678901234567890" })},
	{name: "id fractional number", record: `{"model":"fraud","id":-1.50e3}`, want: pred(func(p *Prediction) { p.ID = "-1.50e3" })},
	{name: "id escaped", record: `{"model":"fraud","id":"a\"b\\c\u00e9"}`, want: pred(func(p *Prediction) { p.ID = `a"b\cé` })},
	{name: "timestamp with offset", record: `{"model":"fraud","timestamp":"2026-11-24T12:30:00+02:30"}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00Z") })},
	{name: "timestamp negative offset", record: `{"model":"fraud","timestamp":"2026-11-24T05:00:00-05:00"}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00Z") })},
	{name: "timestamp nanoseconds", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00.123456789Z"}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00.123456789Z") })},
	{name: "timestamp beyond nanoseconds truncated", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00.1234567899Z"}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00.123456789Z") })},
	{name: "timestamp lower case t and z", record: `{"model":"fraud","timestamp":"2026-11-24t10:00:00.5z"}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00.5Z") })},
	{name: "timestamp leap day", record: `{"model":"fraud","timestamp":"2028-02-29T00:00:00Z"}`, want: pred(func(p *Prediction) { p.Time = at("2028-02-29T00:00:00Z") })},
	{name: "timestamp Unix integer", record: `{"model":"fraud","timestamp":1795514400}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00Z") })},
	{name: "timestamp Unix fraction exact", record: `{"model":"fraud","timestamp":1795514400.123456789}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00.123456789Z") })},
	{name: "timestamp Unix exponent", record: `{"model":"fraud","timestamp":1.7955144005e9}`, want: pred(func(p *Prediction) { p.Time = at("2026-11-24T10:00:00.5Z") })},
	{name: "timestamp first", record: `{"model":"fraud","timestamp":"1970-01-01T01:00:00+01:00"}`, want: pred(func(p *Prediction) { p.Time = time.Unix(0, 0).UTC() })},
	{name: "timestamp last", record: `{"model":"fraud","timestamp":"9999-12-31T23:59:59.999999999Z"}`, want: pred(func(p *Prediction) { p.Time = at("9999-12-31T23:59:59.999999999Z") })},
	{name: "timestamp Unix last", record: `{"model":"fraud","timestamp":253402300799.999999999}`, want: pred(func(p *Prediction) { p.Time = at("9999-12-31T23:59:59.999999999Z") })},
	{name: "timestamp Unix zero", record: `{"model":"fraud","timestamp":0}`, want: pred(func(p *Prediction) { p.Time = time.Unix(0, 0).UTC() })},
	{
		name:   "feature kinds",
		record: `{"model":"fraud","features":{"n":-1.5e-3,"i":42,"z":-0,"s":"x","e":"","t":true,"f":false,"m":null,"tiny":1e-400}}`,
		want: pred(features(num("n", -0.0015), num("i", 42), num("z", math.Copysign(0, -1)), str("s", "x"), str("e", ""),
			boolean("t", true), boolean("f", false), missing("m"), num("tiny", 0))),
	},
	{
		name:   "feature numbers beyond the fast path",
		record: `{"model":"fraud","features":{"a":0.30000000000000004,"b":123456789012345678,"c":1e-30,"d":1.7976931348623157e308,"e":0.1e1}}`,
		want:   pred(features(num("a", 0.30000000000000004), num("b", 123456789012345678), num("c", 1e-30), num("d", math.MaxFloat64), num("e", 1))),
	},
	{
		name:   "escaped and unicode names and values",
		record: `{"model":"fraud","features":{"caf\u00e9":"M\u00fcnchen","日本":"東京","\ud83d\ude00":"\ud800","tab\t":"\/"}}`,
		want:   pred(features(str("café", "München"), str("日本", "東京"), str("😀", "\uFFFD"), str("tab\t", "/"))),
	},
	{name: "string prediction", record: `{"model":"fraud","prediction":"fraud"}`, want: pred(func(p *Prediction) { p.Prediction = StringValue("fraud") })},
	{name: "bool prediction", record: `{"model":"fraud","prediction":true}`, want: pred(func(p *Prediction) { p.Prediction = BoolValue(true) })},
	{name: "score bounds", record: `{"model":"fraud","score":0,"scores":{"a":1,"b":0}}`, want: pred(func(p *Prediction) {
		p.HasScore = true
		p.Scores = []ClassScore{{"a", 1}, {"b", 0}}
	})},
	{name: "latency zero", record: `{"model":"fraud","latency_ms":0}`, want: pred(func(p *Prediction) { p.HasLatency = true })},
	{name: "empty objects", record: `{"model":"fraud","features":{},"scores":{}}`, want: pred()},
	{name: "whitespace everywhere", record: " \t{ \"model\" : \"fraud\" , \"features\" : { \"a\" : 1 , \"b\" : \"c\" } } \r", want: pred(features(num("a", 1), str("b", "c")))},
	{name: "escaped field name", record: `{"mod\u0065l":"fraud"}`, want: pred()},
	{
		name:   "limits exactly reached",
		record: `{"model":"fraud","id":"12345678","features":{"a":"12345678","12345678":1},"scores":{"x":0.5,"y":0.5}}`,
		limits: Limits{MaxFeatures: 2, MaxStringLen: 8, MaxScores: 2},
		want: pred(func(p *Prediction) {
			p.ID = "12345678"
			p.Features = []Feature{str("a", "12345678"), num("12345678", 1)}
			p.Scores = []ClassScore{{"x", 0.5}, {"y", 0.5}}
		}),
	},
}

var badPredictions = []predictionCase{
	{name: "unknown field typo", record: `{"model":"fraud","feautres":{"a":1}}`, reason: ReasonUnknownField, model: "fraud",
		err: `record 0: unknown field "feautres"; did you mean "features"?`},
	{name: "unknown field", record: `{"model":"fraud","foo":1}`, reason: ReasonUnknownField, model: "fraud",
		err: `record 0: unknown field "foo"; known fields are model, version, role, id, timestamp, features, prediction, score, scores, latency_ms`},
	{name: "unknown field case", record: `{"Model":"fraud"}`, reason: ReasonUnknownField,
		err: `record 0: unknown field "Model"; did you mean "model"?`},
	{name: "long unknown field is shortened", record: `{"model":"fraud","` + strings.Repeat("x", 70) + `":1}`, reason: ReasonUnknownField, model: "fraud",
		err: `record 0: unknown field "` + strings.Repeat("x", 64) + `"…; known fields are model, version, role, id, timestamp, features, prediction, score, scores, latency_ms`},
	{name: "long overflowing number is shortened", record: `{"model":"fraud","features":{"a":1` + strings.Repeat("0", 400) + `}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features.a: number 1` + strings.Repeat("0", 39) + `… overflows float64 (NaN and infinite numbers are not accepted)`},
	{name: "escaped unknown field", record: `{"model":"fraud","féatures":{}}`, reason: ReasonUnknownField, model: "fraud",
		err: `record 0: unknown field "féatures"; did you mean "features"?`},
	{name: "duplicate field", record: `{"model":"fraud","score":0.1,"score":0.2}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: duplicate field "score"`},
	{name: "model missing", record: `{"id":"a"}`, reason: ReasonMissingField,
		err: `record 0: model: required field is missing; set "model" or post to /api/v1/models/{model}/predictions`},
	{name: "model mismatch", record: `{"model":"spam"}`, defaultModel: "fraud", reason: ReasonModelMismatch, model: "fraud",
		err: `record 0: model: "spam" does not match the model "fraud" in the URL`},
	{name: "model number", record: `{"model":1}`, reason: ReasonInvalidValue,
		err: `record 0: model: expected a string, found number`},
	{name: "model empty", record: `{"model":""}`, reason: ReasonInvalidValue,
		err: `record 0: model: must not be empty`},
	{name: "model known after the error", record: `{"role":"blue","model":"fraud"}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: role: "blue" is not a role; use "primary", "canary" or "shadow"`},
	{name: "version object", record: `{"model":"fraud","version":{}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: version: expected a string, found object`},
	{name: "role number", record: `{"model":"fraud","role":1}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: role: expected one of "primary", "canary" or "shadow", found number`},
	{name: "role case", record: `{"model":"fraud","role":"Canary"}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: role: "Canary" is not a role; use "primary", "canary" or "shadow"`},
	{name: "id bool", record: `{"model":"fraud","id":true}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: id: expected a string or number, found bool`},
	{name: "id array", record: `{"model":"fraud","id":["a"]}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: id: expected a string or number, found array`},
	{name: "timestamp word", record: `{"model":"fraud","timestamp":"yesterday"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "yesterday" is not an RFC 3339 time (such as "2026-11-24T10:00:00Z") or Unix seconds`},
	{name: "timestamp without zone", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T10:00:00" is not a valid RFC 3339 time: it has no time zone; append "Z" for UTC or an offset such as "+01:00"`},
	{name: "timestamp fraction without zone", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00.250"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T10:00:00.250" is not a valid RFC 3339 time: it has no time zone; append "Z" for UTC or an offset such as "+01:00"`},
	{name: "timestamp space", record: `{"model":"fraud","timestamp":"2026-11-24 10:00:00"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24 10:00:00" is not a valid RFC 3339 time: date and time must be separated by "T", and a time zone must follow`},
	{name: "timestamp space with zone", record: `{"model":"fraud","timestamp":"2026-11-24 10:00:00Z"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24 10:00:00Z" is not a valid RFC 3339 time: date and time must be separated by "T"`},
	{name: "timestamp date only", record: `{"model":"fraud","timestamp":"2026-11-24"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24" is not a valid RFC 3339 time: a date alone has no time of day`},
	{name: "timestamp day out of range", record: `{"model":"fraud","timestamp":"2026-02-29T10:00:00Z"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-02-29T10:00:00Z" is not a valid RFC 3339 time: day out of range`},
	{name: "timestamp month out of range", record: `{"model":"fraud","timestamp":"2026-13-01T10:00:00Z"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-13-01T10:00:00Z" is not a valid RFC 3339 time: month out of range`},
	{name: "timestamp hour out of range", record: `{"model":"fraud","timestamp":"2026-11-24T24:00:00Z"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T24:00:00Z" is not a valid RFC 3339 time: hour out of range`},
	{name: "timestamp leap second", record: `{"model":"fraud","timestamp":"2026-12-31T23:59:60Z"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-12-31T23:59:60Z" is not a valid RFC 3339 time: second out of range`},
	{name: "timestamp bad offset", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00+0100"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T10:00:00+0100" is not a valid RFC 3339 time: expected a time zone offset such as +01:00`},
	{name: "timestamp offset out of range", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00+24:00"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T10:00:00+24:00" is not a valid RFC 3339 time: time zone offset out of range`},
	{name: "timestamp zone name", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00 UTC"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T10:00:00 UTC" is not a valid RFC 3339 time: expected "Z" or an offset such as "+01:00" after the time`},
	{name: "timestamp text after zone", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00Zulu"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T10:00:00Zulu" is not a valid RFC 3339 time: unexpected text after the time zone`},
	{name: "timestamp empty fraction", record: `{"model":"fraud","timestamp":"2026-11-24T10:00:00.Z"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "2026-11-24T10:00:00.Z" is not a valid RFC 3339 time: expected digits after the decimal point`},
	{name: "timestamp before 1970", record: `{"model":"fraud","timestamp":"0001-01-01T00:00:00Z"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "0001-01-01T00:00:00Z" is not a valid RFC 3339 time: it is before 1970`},
	{name: "timestamp before 1970 by its offset", record: `{"model":"fraud","timestamp":"1970-01-01T00:30:00+01:00"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "1970-01-01T00:30:00+01:00" is not a valid RFC 3339 time: it is before 1970`},
	{name: "timestamp after 9999 by its offset", record: `{"model":"fraud","timestamp":"9999-12-31T23:30:00-01:00"}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: "9999-12-31T23:30:00-01:00" is not a valid RFC 3339 time: it is after the year 9999`},
	{name: "timestamp milliseconds", record: `{"model":"fraud","timestamp":1795514400000}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: Unix time 1795514400000 is after the year 9999; timestamps are Unix seconds, not milliseconds, microseconds or nanoseconds`},
	{name: "timestamp milliseconds exponent", record: `{"model":"fraud","timestamp":1.7955144e12}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: Unix time 1.7955144e12 is after the year 9999; timestamps are Unix seconds, not milliseconds, microseconds or nanoseconds`},
	{name: "timestamp overflow", record: `{"model":"fraud","timestamp":1e400}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: Unix time 1e400 is after the year 9999`},
	{name: "timestamp negative", record: `{"model":"fraud","timestamp":-5}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: Unix time -5 is negative; expected an RFC 3339 time (such as "2026-11-24T10:00:00Z") or Unix seconds`},
	{name: "timestamp bool", record: `{"model":"fraud","timestamp":true}`, reason: ReasonInvalidTimestamp, model: "fraud",
		err: `record 0: timestamp: expected an RFC 3339 time (such as "2026-11-24T10:00:00Z") or Unix seconds, found bool`},
	{name: "features array", record: `{"model":"fraud","features":[1,2]}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features: expected an object of feature names to values, found array`},
	{name: "features string", record: `{"model":"fraud","features":"a=1"}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features: expected an object of feature names to values, found string`},
	{name: "feature nested object", record: `{"model":"fraud","features":{"a":1,"geo":{"lat":1}}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features.geo: expected a number, string, bool or null, found object; flatten nested values into separate features`},
	{name: "feature array", record: `{"model":"fraud","features":{"emb":[0.1,0.2]}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features.emb: expected a number, string, bool or null, found array; flatten nested values into separate features`},
	{name: "feature name with spaces", record: `{"model":"fraud","features":{"first name":[]}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features["first name"]: expected a number, string, bool or null, found array; flatten nested values into separate features`},
	{name: "feature overflow", record: `{"model":"fraud","features":{"amount":1e400}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features.amount: number 1e400 overflows float64 (NaN and infinite numbers are not accepted)`},
	{name: "feature negative overflow", record: `{"model":"fraud","features":{"amount":-2e308}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features.amount: number -2e308 overflows float64 (NaN and infinite numbers are not accepted)`},
	{name: "duplicate feature", record: `{"model":"fraud","features":{"a":1,"b":2,"a":3}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features.a: duplicate feature name`},
	{name: "duplicate feature escaped", record: `{"model":"fraud","features":{"a":1,"\u0061":null}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: features.a: duplicate feature name`},
	{name: "prediction object", record: `{"model":"fraud","prediction":{"class":1}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: prediction: expected a number, string or bool, found object`},
	{name: "prediction overflow", record: `{"model":"fraud","prediction":1e999}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: prediction: number 1e999 overflows float64 (NaN and infinite numbers are not accepted)`},
	{name: "score above 1", record: `{"model":"fraud","score":1.5}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: score: 1.5 is outside [0, 1]`},
	{name: "score negative", record: `{"model":"fraud","score":-0.1}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: score: -0.1 is outside [0, 1]`},
	{name: "score string", record: `{"model":"fraud","score":"0.5"}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: score: expected a probability (a number from 0 to 1), found string`},
	{name: "scores out of range", record: `{"model":"fraud","scores":{"0":0.5,"1":83}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: scores.1: 83 is outside [0, 1]`},
	{name: "scores null class", record: `{"model":"fraud","scores":{"a":null}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: scores.a: expected a probability (a number from 0 to 1), found null`},
	{name: "scores duplicate class", record: `{"model":"fraud","scores":{"a":0.5,"a":0.5}}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: scores.a: duplicate class`},
	{name: "scores array", record: `{"model":"fraud","scores":[0.1,0.9]}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: scores: expected an object of classes to probabilities, found array`},
	{name: "latency negative", record: `{"model":"fraud","latency_ms":-1}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: latency_ms: -1 is negative`},
	{name: "latency string", record: `{"model":"fraud","latency_ms":"12ms"}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: latency_ms: expected a number, found string`},
	{name: "latency overflow", record: `{"model":"fraud","latency_ms":1e309}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: latency_ms: number 1e309 overflows float64 (NaN and infinite numbers are not accepted)`},
	{name: "first error wins", record: `{"model":"fraud","score":2,"role":"x"}`, reason: ReasonInvalidValue, model: "fraud",
		err: `record 0: score: 2 is outside [0, 1]`},
	{name: "not an object: array", record: `[[{"model":"fraud"}]]`, reason: ReasonInvalidValue,
		err: `record 0: expected a JSON object, found array`},
	{name: "not an object: string", record: `"fraud"`, reason: ReasonInvalidValue,
		err: `record 0: expected a JSON object, found string`},
	{name: "not an object: null", record: `null`, reason: ReasonInvalidValue,
		err: `record 0: expected a JSON object, found null`},
	{name: "not an object: number", record: `42`, reason: ReasonInvalidValue,
		err: `record 0: expected a JSON object, found number`},
	{name: "too many features", record: `{"model":"fraud","features":{"a":1,"b":2,"c":3}}`, limits: Limits{MaxFeatures: 2}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: features: more than the limit of 2 features`},
	{name: "too many scores", record: `{"model":"fraud","scores":{"a":0.1,"b":0.2,"c":0.7}}`, limits: Limits{MaxScores: 2}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: scores: more than the limit of 2 classes`},
	{name: "id too long", record: `{"model":"fraud","id":"123456789"}`, limits: Limits{MaxStringLen: 8}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: id: string of 9 bytes exceeds the limit of 8 bytes`},
	{name: "numeric id too long", record: `{"model":"fraud","id":123456789}`, limits: Limits{MaxStringLen: 8}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: id: string of 9 bytes exceeds the limit of 8 bytes`},
	{name: "model too long", record: `{"model":"fraudfraud"}`, limits: Limits{MaxStringLen: 8}, reason: ReasonTooLarge,
		err: `record 0: model: string of 10 bytes exceeds the limit of 8 bytes`},
	{name: "version too long", record: `{"model":"fraud","version":"v1.2.3-rc1"}`, limits: Limits{MaxStringLen: 8}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: version: string of 10 bytes exceeds the limit of 8 bytes`},
	{name: "feature name too long", record: `{"model":"fraud","features":{"123456789":1}}`, limits: Limits{MaxStringLen: 8}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: features: a feature name of 9 bytes exceeds the limit of 8 bytes`},
	{name: "feature value too long", record: `{"model":"fraud","features":{"a":"12345\u00e9"}}`, limits: Limits{MaxStringLen: 6}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: features.a: string of 7 bytes exceeds the limit of 6 bytes`},
	{name: "class too long", record: `{"model":"fraud","scores":{"123456789":1}}`, limits: Limits{MaxStringLen: 8}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: scores: a class name of 9 bytes exceeds the limit of 8 bytes`},
	{name: "prediction too long", record: `{"model":"fraud","prediction":"123456789"}`, limits: Limits{MaxStringLen: 8}, reason: ReasonTooLarge, model: "fraud",
		err: `record 0: prediction: string of 9 bytes exceeds the limit of 8 bytes`},
}

// syntaxPredictions are single NDJSON lines that are not valid JSON.
var syntaxPredictions = []predictionCase{
	{name: "missing value", record: `{"model": }`, model: "",
		err: `record 0: invalid JSON at line 1, column 11 (byte offset 10): invalid character '}' looking for beginning of value`},
	{name: "truncated", record: `{"model":"fraud","features":{"a":1`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 35 (byte offset 34): unexpected end of JSON input`},
	{name: "trailing comma", record: `{"model":"fraud",}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 18 (byte offset 17): invalid character '}' looking for beginning of object key string`},
	{name: "missing colon", record: `{"model" "fraud"}`,
		err: `record 0: invalid JSON at line 1, column 10 (byte offset 9): invalid character '"' after object key`},
	{name: "missing comma", record: `{"model":"fraud" "id":"a"}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 18 (byte offset 17): invalid character '"' after object key:value pair`},
	{name: "two objects on a line", record: `{"model":"fraud"} {"model":"fraud"}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 19 (byte offset 18): invalid character '{' after top-level value`},
	{name: "single quotes", record: `{'model':'fraud'}`,
		err: `record 0: invalid JSON at line 1, column 2 (byte offset 1): invalid character '\'' looking for beginning of object key string`},
	{name: "NaN", record: `{"model":"fraud","features":{"a":NaN}}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 34 (byte offset 33): invalid character 'N' looking for beginning of value`},
	{name: "Infinity", record: `{"model":"fraud","score":-Infinity}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 27 (byte offset 26): invalid character 'I' in numeric literal`},
	{name: "leading zero", record: `{"model":"fraud","score":01}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 27 (byte offset 26): invalid character '1' after object key:value pair`},
	{name: "bare decimal point", record: `{"model":"fraud","score":1.}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 28 (byte offset 27): invalid character '}' in numeric literal`},
	{name: "bad exponent", record: `{"model":"fraud","score":1e+}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 29 (byte offset 28): invalid character '}' in numeric literal`},
	{name: "bad literal", record: `{"model":"fraud","features":{"a":tru}}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 37 (byte offset 36): invalid character '}' in literal true (expecting 'e')`},
	{name: "bad escape", record: `{"model":"fr\aud"}`,
		err: `record 0: invalid JSON at line 1, column 14 (byte offset 13): invalid escape sequence ` + "`\\a`" + ` in string`},
	{name: "bad unicode escape", record: `{"model":"fr\u00g0"}`,
		err: `record 0: invalid JSON at line 1, column 18 (byte offset 17): invalid escape sequence ` + "`\\u00g0`" + ` in string`},
	{name: "escape of a byte that is not UTF-8", record: "{\"model\":\"fr\\\xffud\"}",
		err: `record 0: invalid JSON at line 1, column 14 (byte offset 13): invalid escape sequence "\\\xff" in string`},
	{name: "escape of a space", record: "{\"model\":\"fr\\ ud\"}",
		err: `record 0: invalid JSON at line 1, column 14 (byte offset 13): invalid escape sequence "\\ " in string`},
	{name: "escape of a tab", record: "{\"model\":\"fr\\\tud\"}",
		err: `record 0: invalid JSON at line 1, column 14 (byte offset 13): invalid escape sequence "\\\t" in string`},
	{name: "escape of DEL", record: "{\"model\":\"fr\\\x7fud\"}",
		err: `record 0: invalid JSON at line 1, column 14 (byte offset 13): invalid escape sequence "\\\x7f" in string`},
	{name: "escape of a backtick", record: "{\"model\":\"fr\\`ud\"}",
		err: "record 0: invalid JSON at line 1, column 14 (byte offset 13): invalid escape sequence \"\\\\`\" in string"},
	{name: "escape of a multi-byte character", record: "{\"model\":\"fr\\\xc3\xa9ud\"}",
		err: `record 0: invalid JSON at line 1, column 14 (byte offset 13): invalid escape sequence "\\\xc3" in string`},
	{name: "control character in string", record: "{\"model\":\"fr\taud\"}",
		err: `record 0: invalid JSON at line 1, column 13 (byte offset 12): invalid character '\t' in string`},
	{name: "invalid UTF-8", record: "{\"model\":\"fraud\",\"features\":{\"a\":\"\xff\"}}", model: "fraud",
		err: `record 0: invalid JSON at line 1, column 35 (byte offset 34): invalid UTF-8 in string`},
	{name: "invalid UTF-8 outside strings", record: "{\"model\":\"fraud\"}\xc3", model: "fraud",
		err: `record 0: invalid JSON at line 1, column 18 (byte offset 17): invalid character '\xc3' after top-level value`},
	{name: "truncated UTF-8", record: "{\"model\":\"fr\xc3\"}",
		err: `record 0: invalid JSON at line 1, column 13 (byte offset 12): invalid UTF-8 in string`},
	{name: "UTF-8 surrogate", record: "{\"model\":\"\xed\xa0\x80\"}",
		err: `record 0: invalid JSON at line 1, column 11 (byte offset 10): invalid UTF-8 in string`},
	{name: "syntax error beats an earlier semantic error", record: `{"model":"fraud","role":"blue","features":{"a":[1,}}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 51 (byte offset 50): invalid character '}' looking for beginning of value`},
	{name: "syntax error inside an unknown field", record: `{"model":"fraud","x":{"a" 1}}`, model: "fraud",
		err: `record 0: invalid JSON at line 1, column 27 (byte offset 26): invalid character '1' after object key`},
}

func TestPredictionRecords(t *testing.T) {
	for _, tc := range goodPredictions {
		t.Run("good/"+tc.name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tc.record)), "test record must be valid JSON")
			for _, body := range []struct {
				f    Format
				text string
			}{{NDJSON, strings.ReplaceAll(tc.record, "\n", " ")}, {JSON, tc.record}, {JSON, "[" + tc.record + "]"}} {
				r := decodePredictions(NewDecoder(tc.limits), body.text, body.f, tc.defaultModel)
				require.NoError(t, r.err)
				require.Empty(t, r.errs)
				require.Equal(t, 1, r.records)
				require.Equal(t, []int{0}, r.accepted)
				require.Equal(t, tc.want, r.preds[0])
			}
		})
	}
	for _, tc := range badPredictions {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tc.record)), "test record must be valid JSON")
			for _, body := range []struct {
				f    Format
				text string
			}{{NDJSON, tc.record}, {JSON, tc.record}, {JSON, "[" + tc.record + "]"}} {
				r := decodePredictions(NewDecoder(tc.limits), body.text, body.f, tc.defaultModel)
				require.NoError(t, r.err)
				require.Empty(t, r.accepted)
				require.Equal(t, 1, r.records)
				require.Len(t, r.errs, 1)
				e := r.errs[0]
				want := tc.err
				if body.f == NDJSON && strings.HasPrefix(tc.record, "[") {
					want += "; NDJSON takes one object per line"
				}
				require.Equal(t, want, e.Error())
				require.Equal(t, tc.reason, e.Reason)
				require.Equal(t, tc.model, e.Model)
				require.Equal(t, 0, e.Index)
				var fe *fieldError
				require.ErrorAs(t, &e, &fe)
			}
		})
	}
	for _, tc := range syntaxPredictions {
		t.Run("syntax/"+tc.name, func(t *testing.T) {
			require.False(t, json.Valid([]byte(tc.record)) && strings.ToValidUTF8(tc.record, "") == tc.record)
			r := decodePredictions(NewDecoder(tc.limits), tc.record, NDJSON, tc.defaultModel)
			require.NoError(t, r.err)
			require.Empty(t, r.accepted)
			require.Equal(t, 1, r.records)
			require.Len(t, r.errs, 1)
			e := r.errs[0]
			require.Equal(t, tc.err, e.Error())
			require.Equal(t, ReasonInvalidJSON, e.Reason)
			require.Equal(t, tc.model, e.Model)
			var se *SyntaxError
			require.ErrorAs(t, &e, &se)
			require.Equal(t, 1, se.Line)

			// In JSON format the same text makes the body unusable.
			r = decodePredictions(NewDecoder(tc.limits), tc.record, JSON, tc.defaultModel)
			require.ErrorAs(t, r.err, &se)
			require.Equal(t, strings.TrimPrefix(tc.err, "record 0: "), r.err.Error())
			require.Zero(t, r.records)
			require.Empty(t, r.errs)
			require.Empty(t, r.accepted)
		})
	}
}

type labelCase struct {
	name         string
	record       string
	defaultModel string
	want         Label
	err          string
	reason       Reason
}

var goodLabels = []labelCase{
	{name: "number", record: `{"model":"fraud","id":"req-8c1f","label":1}`, want: Label{Model: "fraud", ID: "req-8c1f", Label: NumberValue(1)}},
	{name: "string", record: `{"model":"fraud","id":"a","label":"spam"}`, want: Label{Model: "fraud", ID: "a", Label: StringValue("spam")}},
	{name: "bool", record: `{"model":"fraud","id":"a","label":false}`, want: Label{Model: "fraud", ID: "a", Label: BoolValue(false)}},
	{name: "numeric id", record: `{"model":"fraud","id":17,"label":0.5}`, want: Label{Model: "fraud", ID: "17", Label: NumberValue(0.5)}},
	{name: "model from the URL", record: `{"id":"a","label":1}`, defaultModel: "fraud", want: Label{Model: "fraud", ID: "a", Label: NumberValue(1)}},
	{name: "RFC 3339 timestamp", record: `{"model":"fraud","id":"a","label":1,"timestamp":"2026-11-24T11:00:00+01:00"}`,
		want: Label{Model: "fraud", ID: "a", Label: NumberValue(1), Time: at("2026-11-24T10:00:00Z")}},
	{name: "Unix timestamp", record: `{"timestamp":1795514400.25,"label":1,"id":"a","model":"fraud"}`,
		want: Label{Model: "fraud", ID: "a", Label: NumberValue(1), Time: at("2026-11-24T10:00:00.25Z")}},
}

var badLabels = []labelCase{
	{name: "id missing", record: `{"model":"fraud","label":1}`, reason: ReasonMissingField,
		err: `record 0: id: required field is missing; a label is matched to its prediction by id`},
	{name: "id null", record: `{"model":"fraud","id":null,"label":1}`, reason: ReasonInvalidValue,
		err: `record 0: id: must not be empty`},
	{name: "id empty", record: `{"model":"fraud","id":"","label":1}`, reason: ReasonInvalidValue,
		err: `record 0: id: must not be empty`},
	{name: "label missing", record: `{"model":"fraud","id":"a"}`, reason: ReasonMissingField,
		err: `record 0: label: required field is missing`},
	{name: "label null", record: `{"model":"fraud","id":"a","label":null}`, reason: ReasonInvalidValue,
		err: `record 0: label: expected a number, string or bool, found null`},
	{name: "label array", record: `{"model":"fraud","id":"a","label":[1]}`, reason: ReasonInvalidValue,
		err: `record 0: label: expected a number, string or bool, found array`},
	{name: "label overflow", record: `{"model":"fraud","id":"a","label":-1e400}`, reason: ReasonInvalidValue,
		err: `record 0: label: number -1e400 overflows float64 (NaN and infinite numbers are not accepted)`},
	{name: "model missing", record: `{"id":"a","label":1}`, reason: ReasonMissingField,
		err: `record 0: model: required field is missing; set "model" or post to /api/v1/models/{model}/labels`},
	{name: "model mismatch", record: `{"model":"spam","id":"a","label":1}`, defaultModel: "fraud", reason: ReasonModelMismatch,
		err: `record 0: model: "spam" does not match the model "fraud" in the URL`},
	{name: "typo", record: `{"model":"fraud","id":"a","lable":1}`, reason: ReasonUnknownField,
		err: `record 0: unknown field "lable"; did you mean "label"?`},
	{name: "prediction field", record: `{"model":"fraud","id":"a","label":1,"score":0.5}`, reason: ReasonUnknownField,
		err: `record 0: unknown field "score"; known fields are model, id, label, timestamp`},
	{name: "bad timestamp", record: `{"model":"fraud","id":"a","label":1,"timestamp":"now"}`, reason: ReasonInvalidTimestamp,
		err: `record 0: timestamp: "now" is not an RFC 3339 time (such as "2026-11-24T10:00:00Z") or Unix seconds`},
	{name: "not an object", record: `"a"`, reason: ReasonInvalidValue,
		err: `record 0: expected a JSON object, found string`},
}

func TestLabelRecords(t *testing.T) {
	for _, tc := range goodLabels {
		t.Run("good/"+tc.name, func(t *testing.T) {
			for _, f := range []Format{NDJSON, JSON} {
				r := decodeLabels(NewDecoder(Limits{}), tc.record, f, tc.defaultModel)
				require.NoError(t, r.err)
				require.Empty(t, r.errs)
				require.Equal(t, 1, r.records)
				require.Equal(t, []Label{tc.want}, r.labels)
			}
		})
	}
	for _, tc := range badLabels {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			for _, f := range []Format{NDJSON, JSON} {
				r := decodeLabels(NewDecoder(Limits{}), tc.record, f, tc.defaultModel)
				require.NoError(t, r.err)
				require.Empty(t, r.labels)
				require.Equal(t, 1, r.records)
				require.Len(t, r.errs, 1)
				require.Equal(t, tc.err, r.errs[0].Error())
				require.Equal(t, tc.reason, r.errs[0].Reason)
			}
		})
	}
}

func TestNDJSONBatch(t *testing.T) {
	body := "" +
		`{"model":"fraud","id":"a","features":{"x":1}}` + "\n" + // line 1, record 0
		"\n" + // line 2, blank
		"  \t \r\n" + // line 3, blank
		`{"model":"fraud","id":"b","score":7}` + "\r\n" + // line 4, record 1
		`{"model":"fraud","id":"c"` + "\n" + // line 5, record 2
		`{"model":"fraud","id":"d","features":{"x":2}}` + "\r\n" + // line 6, record 3
		`[{"model":"fraud"}]` + "\n" + // line 7, record 4
		`{"id":"e"}` + "\n" + // line 8, record 5
		`{"model":"fraud","id":"f"}` // line 9, record 6, no final newline
	r := decodePredictions(NewDecoder(Limits{}), body, NDJSON, "")
	require.NoError(t, r.err)
	require.Equal(t, 7, r.records)
	require.Equal(t, []int{0, 3, 6}, r.accepted)
	require.Equal(t, []Prediction{
		pred(func(p *Prediction) { p.ID = "a"; p.Features = []Feature{num("x", 1)} }),
		pred(func(p *Prediction) { p.ID = "d"; p.Features = []Feature{num("x", 2)} }),
		pred(func(p *Prediction) { p.ID = "f" }),
	}, r.preds)
	var got []string
	for _, e := range r.errs {
		got = append(got, string(e.Reason)+" "+e.Error())
	}
	require.Equal(t, []string{
		`invalid_value record 1: score: 7 is outside [0, 1]`,
		`invalid_json record 2: invalid JSON at line 5, column 26 (byte offset 116): unexpected end of JSON input`,
		`invalid_value record 4: expected a JSON object, found array; NDJSON takes one object per line`,
		`missing_field record 5: model: required field is missing; set "model" or post to /api/v1/models/{model}/predictions`,
	}, got)
	require.Equal(t, r.records, len(r.accepted)+len(r.errs))
}

func TestJSONBodies(t *testing.T) {
	d := NewDecoder(Limits{})
	t.Run("array", func(t *testing.T) {
		r := decodePredictions(d, ` [ {"model":"fraud","id":"a"}, 3, {"model":"spam"}, [], {"id":"b"} ,{"model":"fraud","features":{"a":{}}}] `, JSON, "fraud")
		require.NoError(t, r.err)
		require.Equal(t, 6, r.records)
		require.Equal(t, []int{0, 4}, r.accepted)
		require.Equal(t, []Prediction{pred(func(p *Prediction) { p.ID = "a" }), pred(func(p *Prediction) { p.ID = "b" })}, r.preds)
		var got []string
		for _, e := range r.errs {
			got = append(got, e.Error())
			require.Equal(t, "fraud", e.Model)
		}
		require.Equal(t, []string{
			`record 1: expected a JSON object, found number`,
			`record 2: model: "spam" does not match the model "fraud" in the URL`,
			`record 3: expected a JSON object, found array`,
			`record 5: features.a: expected a number, string, bool or null, found object; flatten nested values into separate features`,
		}, got)
	})
	t.Run("array records keep their own features", func(t *testing.T) {
		r := decodePredictions(d, `[{"model":"fraud","features":{"a":1,"b":"x"},"scores":{"0":0.5,"1":0.5}},
			{"model":"fraud","features":{"c":true}},{"model":"fraud"},{"model":"fraud","features":{"a":[]}},
			{"model":"fraud","scores":{"z":1},"features":{"d":null,"e":2}}]`, JSON, "")
		require.NoError(t, r.err)
		require.Equal(t, []int{0, 1, 2, 4}, r.accepted)
		require.Equal(t, []Prediction{
			pred(func(p *Prediction) {
				p.Features = []Feature{num("a", 1), str("b", "x")}
				p.Scores = []ClassScore{{"0", 0.5}, {"1", 0.5}}
			}),
			pred(features(boolean("c", true))),
			pred(),
			pred(func(p *Prediction) {
				p.Features = []Feature{missing("d"), num("e", 2)}
				p.Scores = []ClassScore{{"z", 1}}
			}),
		}, r.preds)
		require.Len(t, r.errs, 1)
		require.Equal(t, 3, r.errs[0].Index)
	})
	t.Run("single object", func(t *testing.T) {
		r := decodePredictions(d, "\n{\"model\":\"fraud\"}\n", JSON, "")
		require.NoError(t, r.err)
		require.Equal(t, 1, r.records)
		require.Equal(t, []Prediction{pred()}, r.preds)
	})
	t.Run("empty array", func(t *testing.T) {
		r := decodePredictions(d, " [ ] ", JSON, "")
		require.NoError(t, r.err)
		require.Zero(t, r.records)
		require.Empty(t, r.errs)
	})
	t.Run("syntax error after good records", func(t *testing.T) {
		r := decodePredictions(d, "[{\"model\":\"fraud\"},\n {\"model\":\"fraud\"},\n {\"model\":\"fraud\"}\n", JSON, "")
		require.EqualError(t, r.err, `invalid JSON at line 4, column 1 (byte offset 59): unexpected end of JSON input`)
		var se *SyntaxError
		require.ErrorAs(t, r.err, &se)
		require.Equal(t, SyntaxError{Offset: 59, Line: 4, Column: 1, Msg: "unexpected end of JSON input"}, *se)
		require.Zero(t, r.records)
		require.Empty(t, r.accepted, "nothing may reach fn from an unusable body")
		require.Empty(t, r.errs)
	})
	t.Run("invalid UTF-8 makes the body unusable", func(t *testing.T) {
		r := decodePredictions(d, "[{\"model\":\"fraud\"},{\"model\":\"fr\xffaud\"}]", JSON, "")
		require.EqualError(t, r.err, `invalid JSON at line 1, column 32 (byte offset 31): invalid UTF-8 in string`)
		require.Empty(t, r.accepted)
	})
	t.Run("NDJSON sent as JSON", func(t *testing.T) {
		r := decodePredictions(d, "{\"model\":\"fraud\"}\n{\"model\":\"fraud\"}\n", JSON, "")
		require.EqualError(t, r.err, `invalid JSON at line 2, column 1 (byte offset 18): invalid character '{' after top-level value`)
	})
	t.Run("array sent as NDJSON", func(t *testing.T) {
		r := decodePredictions(d, "[\n{\"model\":\"fraud\"}\n]\n", NDJSON, "")
		require.NoError(t, r.err)
		require.Equal(t, 3, r.records)
		require.Equal(t, []int{1}, r.accepted)
		require.Len(t, r.errs, 2)
		require.Equal(t, `record 0: invalid JSON at line 1, column 2 (byte offset 1): unexpected end of JSON input`, r.errs[0].Error())
		require.Equal(t, `record 2: invalid JSON at line 3, column 1 (byte offset 20): invalid character ']' looking for beginning of value`, r.errs[1].Error())
	})
}

func TestEmptyBodies(t *testing.T) {
	d := NewDecoder(Limits{})
	for _, body := range []string{"", " ", "\n\n", " \r\n\t\n"} {
		for _, f := range []Format{JSON, NDJSON} {
			r := decodePredictions(d, body, f, "fraud")
			require.ErrorIs(t, r.err, ErrEmptyBody, "%q %v", body, f)
			require.Zero(t, r.records)
			r = decodeLabels(d, body, f, "fraud")
			require.ErrorIs(t, r.err, ErrEmptyBody, "%q %v", body, f)
		}
	}
	_, _, err := d.Predictions([]byte("{}"), Format(7), "", nil)
	require.EqualError(t, err, "unknown body format Format(7)")
}

func TestNestingLimit(t *testing.T) {
	// encoding/json accepts 10000 levels of nesting and not 10001; so do we.
	for _, depth := range []int{9999, 10000, 10001} {
		t.Run(strconv.Itoa(depth), func(t *testing.T) {
			d := NewDecoder(Limits{})
			// Whole body.
			body := strings.Repeat("[", depth) + strings.Repeat("]", depth)
			r := decodePredictions(d, body, JSON, "fraud")
			if json.Valid([]byte(body)) {
				require.NoError(t, r.err)
				require.Equal(t, 1, r.records)
				require.Len(t, r.errs, 1)
			} else {
				require.Equal(t, 10001, depth)
				require.EqualError(t, r.err, `invalid JSON at line 1, column 10001 (byte offset 10000): exceeded max depth`)
			}
			// Inside a feature of an NDJSON record: the record and the
			// features object take two levels.
			line := `{"features":{"a":` + strings.Repeat("[", depth-2) + strings.Repeat("]", depth-2) + `}}`
			r = decodePredictions(d, line, NDJSON, "fraud")
			require.Len(t, r.errs, 1)
			if json.Valid([]byte(line)) {
				require.Equal(t, ReasonInvalidValue, r.errs[0].Reason)
			} else {
				require.Equal(t, ReasonInvalidJSON, r.errs[0].Reason)
				require.Contains(t, r.errs[0].Error(), "exceeded max depth")
			}
		})
	}
}

func TestDecoderReuse(t *testing.T) {
	d := NewDecoder(Limits{})
	// A failing call leaves nothing behind for the next one.
	r := decodePredictions(d, `{"model":"fraud","role":"canary","features":{"a":1,"b":"x"},"scores":{"a":1},"score":1,"latency_ms":1,"id":"z","version":"v","prediction":1,"timestamp":0}`, NDJSON, "")
	require.Len(t, r.preds, 1)
	r = decodePredictions(d, `{"model":"fraud","features":{"c":1,"a":[]}}`, NDJSON, "")
	require.Len(t, r.errs, 1)
	r = decodePredictions(d, `{"model":"fraud","features":{"a":2}}`, NDJSON, "")
	require.Equal(t, []Prediction{pred(features(num("a", 2)))}, r.preds)
	r = decodeLabels(d, `{"model":"fraud","id":"y","label":"x"}`, NDJSON, "")
	require.Equal(t, []Label{{Model: "fraud", ID: "y", Label: StringValue("x")}}, r.labels)
	r = decodePredictions(d, `{"model":"fraud"}`, NDJSON, "")
	require.Equal(t, []Prediction{pred()}, r.preds)
}

func TestStringsDoNotAliasTheBody(t *testing.T) {
	for _, f := range []Format{JSON, NDJSON} {
		t.Run(f.String(), func(t *testing.T) { testStringsDoNotAliasTheBody(t, f) })
	}
}

func testStringsDoNotAliasTheBody(t *testing.T, f Format) {
	d := NewDecoder(Limits{})
	body := []byte(`{"model":"m0123","version":"v1","id":"id-1","features":{"name-with-65-bytes-` + strings.Repeat("x", 46) + `":"value-with-65-bytes-` + strings.Repeat("y", 43) + `","n":"short"},"prediction":"p","scores":{"c":1}}`)
	var got Prediction
	_, errs, err := d.Predictions(body, f, "", func(_ int, p *Prediction) { got = clonePrediction(p) })
	require.NoError(t, err)
	require.Empty(t, errs)
	want := clonePrediction(&got)
	want.Model, want.ID = strings.Clone(got.Model), strings.Clone(got.ID)
	for i := range body {
		body[i] = 'X'
	}
	require.Equal(t, want, got)
	require.Equal(t, "m0123", got.Model)
	require.Equal(t, "short", got.Features[1].Value.Str)
}

func TestInterning(t *testing.T) {
	d := NewDecoder(Limits{})
	var seen []Prediction
	body := []byte(`{"model":"fraud","version":"v3","features":{"country":"DE","a":1},"prediction":"yes","scores":{"yes":1}}` + "\n" +
		`{"model":"fraud","version":"v3","features":{"country":"DE","a":1},"prediction":"yes","scores":{"yes":1}}`)
	_, errs, err := d.Predictions(body, NDJSON, "", func(_ int, p *Prediction) { seen = append(seen, clonePrediction(p)) })
	require.NoError(t, err)
	require.Empty(t, errs)
	same := func(a, b string) bool { return a != "" && a == b && unsafe.StringData(a) == unsafe.StringData(b) }
	require.True(t, same(seen[0].Model, seen[1].Model))
	require.True(t, same(seen[0].Version, seen[1].Version))
	require.True(t, same(seen[0].Features[0].Name, seen[1].Features[0].Name))
	require.True(t, same(seen[0].Features[0].Value.Str, seen[1].Features[0].Value.Str))
	require.True(t, same(seen[0].Prediction.Str, seen[1].Prediction.Str))
	require.True(t, same(seen[0].Scores[0].Class, seen[1].Scores[0].Class))
	require.True(t, same(seen[0].Prediction.Str, seen[1].Scores[0].Class))
}

func TestInternTableBound(t *testing.T) {
	// High-cardinality values overflow the table many times over; values
	// stay correct, names keep their duplicate check, and the table stays
	// bounded.
	d := NewDecoder(Limits{})
	var body bytes.Buffer
	const n = 3 * internMaxEntries
	for i := range n {
		body.WriteString(`{"model":"fraud","features":{`)
		for f := range 20 {
			if f > 0 {
				body.WriteByte(',')
			}
			body.WriteString(`"f` + strconv.Itoa(f) + `":"v` + strconv.Itoa(i*20+f) + `"`)
		}
		if i%1000 == 999 {
			body.WriteString(`,"f7":1`) // duplicate, possibly across a reset
		}
		body.WriteString("}}\n")
	}
	accepted := 0
	records, errs, err := d.Predictions(body.Bytes(), NDJSON, "", func(i int, p *Prediction) {
		accepted++
		require.Len(t, p.Features, 20)
		for f, feat := range p.Features {
			require.Equal(t, "f"+strconv.Itoa(f), feat.Name)
			require.Equal(t, "v"+strconv.Itoa(i*20+f), feat.Value.Str)
		}
	})
	require.NoError(t, err)
	require.Equal(t, n, records)
	require.Len(t, errs, n/1000)
	for _, e := range errs {
		require.Equal(t, "record "+strconv.Itoa(e.Index)+": features.f7: duplicate feature name", e.Error())
	}
	require.Equal(t, n-n/1000, accepted)
	require.LessOrEqual(t, len(d.strs), internMaxEntries)
	require.LessOrEqual(t, len(d.entries), internMaxEntries)
}

func TestManyFeatures(t *testing.T) {
	// Past the small-record paths: duplicate detection by set, long names
	// that are not interned.
	long := strings.Repeat("n", internMaxLen+1)
	var b strings.Builder
	b.WriteString(`{"model":"fraud","features":{`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + long + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	b.WriteString(`},"scores":{`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.Itoa(i) + `":0.01`)
	}
	b.WriteString(`}}`)
	ok := b.String()
	d := NewDecoder(Limits{})
	r := decodePredictions(d, ok, NDJSON, "")
	require.Empty(t, r.errs)
	require.Len(t, r.preds[0].Features, 1000)
	require.Len(t, r.preds[0].Scores, 100)
	require.Equal(t, long+"999", r.preds[0].Features[999].Name)

	dupName := strings.Replace(ok, `"`+long+`999"`, `"`+long+`5"`, 1)
	r = decodePredictions(d, dupName, NDJSON, "")
	require.Len(t, r.errs, 1)
	require.Equal(t, `record 0: features["`+long[:64]+`"…]: duplicate feature name`, r.errs[0].Error())

	dupClass := strings.Replace(ok, `"99":0.01`, `"5":0.01`, 1)
	r = decodePredictions(d, dupClass, NDJSON, "")
	require.Len(t, r.errs, 1)
	require.Equal(t, `record 0: scores.5: duplicate class`, r.errs[0].Error())

	r = decodePredictions(NewDecoder(Limits{MaxFeatures: 999}), ok, NDJSON, "")
	require.Equal(t, `record 0: features: more than the limit of 999 features`, r.errs[0].Error())
	require.Equal(t, ReasonTooLarge, r.errs[0].Reason)
}

func TestLimitsDefaults(t *testing.T) {
	require.Equal(t, Limits{MaxFeatures: 1000, MaxStringLen: 1024, MaxScores: 1000}, NewDecoder(Limits{}).Limits())
	require.Equal(t, Limits{MaxFeatures: 5, MaxStringLen: 1024, MaxScores: 1000}, NewDecoder(Limits{MaxFeatures: 5}).Limits())
}

func TestRecordErrorUnwrap(t *testing.T) {
	inner := errors.New("boom")
	e := &RecordError{Index: 3, Reason: ReasonInvalidValue, Err: inner}
	require.Equal(t, "record 3: boom", e.Error())
	require.ErrorIs(t, e, inner)
}

func TestZeroDecoder(t *testing.T) {
	var d Decoder
	r := decodePredictions(&d, `{"model":"fraud","features":{"a":"b"}}`, JSON, "")
	require.NoError(t, r.err)
	require.Equal(t, []Prediction{pred(features(str("a", "b")))}, r.preds)
	var d2 Decoder
	require.Equal(t, Limits{MaxFeatures: 1000, MaxStringLen: 1024, MaxScores: 1000}, d2.Limits())
}

func TestNilCallback(t *testing.T) {
	d := NewDecoder(Limits{})
	n, errs, err := d.Predictions([]byte(`[{"model":"fraud"},{"model":1}]`), JSON, "", nil)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Len(t, errs, 1)
	n, errs, err = d.Labels([]byte(`{"model":"fraud","id":"a","label":1}`), JSON, "", nil)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, errs)
}

// TestSyntaxErrorsLikeEncodingJSON checks that a JSON body is refused with
// the message and position encoding/json gives (its Offset counts the bad
// byte; ours is the bad byte's offset), as encoding/json of the toolchain in
// go.mod words it: Go 1.27 reworded escapes, strings and numbers.
func TestSyntaxErrorsLikeEncodingJSON(t *testing.T) {
	for _, body := range []string{
		"[", `[{"model":"a"}`, `[{"model":"a"} {"model":"a"}]`, `[{"model":"a"},]`, `{"model":"a"}]`, `[]]`,
		`[1 2]`, `{"a" 1}`, `{"a":1 "b"}`, `{1}`, `trux`, `"\x"`, `"\u12g4"`, "\"\n\"", `-a`, `1.a`, `1ea`, `01`, `[,]`,
		`{"features":{"a":1,}}`, `{"features":{"a":[1,2}}`, `{"model":"a","features":{"x":-}}`, `{"scores":{"a" 1}}`,
		`{"scores":{"a":1 "b":1}}`, `{"a":1}x`, `[{}]x`, `{"model":"a",}`, `[{"model":"a","version":{"x":[}}]`,
		`{"model":"a","features":{"x":nan}}`, `{"model":"a","id":'x'}`,
	} {
		t.Run(body, func(t *testing.T) {
			var v any
			var want *json.SyntaxError
			require.ErrorAs(t, json.Unmarshal([]byte(body), &v), &want)
			for _, labels := range []bool{false, true} {
				var err error
				if labels {
					_, _, err = NewDecoder(Limits{}).Labels([]byte(body), JSON, "a", nil)
				} else {
					_, _, err = NewDecoder(Limits{}).Predictions([]byte(body), JSON, "a", nil)
				}
				var got *SyntaxError
				require.ErrorAs(t, err, &got)
				require.Equal(t, want.Error(), got.Msg)
				if got.Msg == "unexpected end of JSON input" {
					require.Equal(t, int(want.Offset), got.Offset)
				} else {
					require.Equal(t, int(want.Offset)-1, got.Offset)
				}
			}
		})
	}
	// Where encoding/json reads a space past the end of a truncated literal,
	// we say what happened.
	_, _, err := NewDecoder(Limits{}).Predictions([]byte(`{"model":tru`), JSON, "", nil)
	require.EqualError(t, err, `invalid JSON at line 1, column 13 (byte offset 12): unexpected end of JSON input`)
	// A byte that is not ASCII is shown as a byte, not as the Latin-1
	// character encoding/json shows (a byte order mark is not JSON).
	_, _, err = NewDecoder(Limits{}).Predictions([]byte("\xef\xbb\xbf{}"), JSON, "", nil)
	require.EqualError(t, err, `invalid JSON at line 1, column 1 (byte offset 0): invalid character '\xef' looking for beginning of value`)
}

func TestLargeJSONArray(t *testing.T) {
	// More held features than a Decoder keeps between calls.
	var b strings.Builder
	b.WriteString("[")
	const n = 2 * maxHeld / 20
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"model":"fraud","id":"` + strconv.Itoa(i) + `","features":{`)
		for f := range 20 {
			if f > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"f` + strconv.Itoa(f) + `":` + strconv.Itoa(i+f))
		}
		b.WriteString("}}")
	}
	b.WriteString("]")
	d := NewDecoder(Limits{})
	next := 0
	records, errs, err := d.Predictions([]byte(b.String()), JSON, "", func(i int, p *Prediction) {
		require.Equal(t, next, i)
		next++
		require.Equal(t, strconv.Itoa(i), p.ID)
		require.Len(t, p.Features, 20)
		require.Equal(t, float64(i+19), p.Features[19].Value.Num)
	})
	require.NoError(t, err)
	require.Empty(t, errs)
	require.Equal(t, n, records)
	require.Equal(t, n, next)
	require.Zero(t, cap(d.heldFeatures), "large buffers are not kept")
	require.Zero(t, cap(d.heldPreds))
}

func TestBorrowIDs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		labels bool
		rec    string
		id     string
		borrow bool // the id aliases the body
	}{
		{"string id", NDJSON, false, `{"model":"m","id":"req-1","features":{}}`, "req-1", true},
		{"number id", NDJSON, false, `{"model":"m","id":1.50,"features":{}}`, "1.50", true},
		{"escaped id is copied", NDJSON, false, `{"model":"m","id":"a\"b","features":{"x":"esc\u0041ped"}}`, `a"b`, false},
		{"JSON array, held to the end", JSON, false, `[{"model":"m","id":"req-2","features":{"x":"a\nb"}}]`, "req-2", true},
		{"label", NDJSON, true, `{"model":"m","id":"req-3","label":1}`, "req-3", true},
		{"no id", NDJSON, true, `{"model":"m","label":1}`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(Limits{})
			d.BorrowIDs(true)
			body := []byte(tc.rec)
			var id string
			var n int
			var errs []RecordError
			var err error
			if tc.labels {
				n, errs, err = d.Labels(body, tc.format, "", func(_ int, l *Label) { id = l.ID })
			} else {
				n, errs, err = d.Predictions(body, tc.format, "", func(_ int, p *Prediction) { id = p.ID })
			}
			require.NoError(t, err)
			if tc.id == "" {
				require.Len(t, errs, 1) // a label needs an id
				return
			}
			require.Empty(t, errs)
			require.Equal(t, 1, n)
			require.Equal(t, tc.id, id)
			p := uintptr(unsafe.Pointer(unsafe.StringData(id)))
			start := uintptr(unsafe.Pointer(&body[0]))
			require.Equal(t, tc.borrow, p >= start && p < start+uintptr(len(body)), "borrowed from the body")
		})
	}
}

// TestBorrowIDsAllocatesNothing: with borrowed ids, decoding a batch of distinct ids
// allocates nothing per record once the decoder is warm; without, one string per record.
func TestBorrowIDsAllocatesNothing(t *testing.T) {
	body := benchBody(NDJSON, false)
	for _, tc := range []struct {
		borrow bool
		max    float64 // allocations per record
	}{{true, 0.01}, {false, 1.1}} {
		t.Run(strconv.FormatBool(tc.borrow), func(t *testing.T) {
			d := NewDecoder(Limits{})
			d.BorrowIDs(tc.borrow)
			var n int
			fn := func(_ int, p *Prediction) { n += len(p.ID) }
			_, _, _ = d.Predictions(body, NDJSON, "", fn)
			per := testing.AllocsPerRun(10, func() { _, _, _ = d.Predictions(body, NDJSON, "", fn) }) / benchEvents
			require.LessOrEqual(t, per, tc.max)
			if !tc.borrow {
				require.GreaterOrEqual(t, per, 0.99, "copied ids are one string each")
			}
		})
	}
}
