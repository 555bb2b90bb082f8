package event

import (
	"bytes"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// This benchmark measures the alternative to the hand-written scanner: the
// same NDJSON batch read with github.com/go-json-experiment/json/jsontext
// (validating, duplicate names rejected, UTF-8 checked), converted into the
// same Prediction with the same interning and float conversion. It has none
// of the decoder's error reporting, so it is a lower bound for a jsontext
// based decoder.

// jsontextPredictions decodes an NDJSON body of predictions with jsontext.
func jsontextPredictions(d *Decoder, dec *jsontext.Decoder, body []byte, fn func(*Prediction)) (int, error) {
	dec.Reset(bytes.NewBuffer(body)) // a *bytes.Buffer is parsed in place
	n := 0
	for dec.PeekKind() == '{' {
		p := &d.pred
		*p = Prediction{Features: p.Features[:0], Scores: p.Scores[:0]}
		if _, err := dec.ReadToken(); err != nil {
			return n, err
		}
		for dec.PeekKind() != '}' {
			key, err := dec.ReadValue()
			if err != nil {
				return n, err
			}
			switch string(unquoted(key)) {
			case "features":
				if _, err := dec.ReadToken(); err != nil {
					return n, err
				}
				for dec.PeekKind() != '}' {
					name, err := dec.ReadValue()
					if err != nil {
						return n, err
					}
					f := Feature{Name: d.intern(unquoted(name))}
					v, err := dec.ReadValue()
					if err != nil {
						return n, err
					}
					f.Value = jsontextValue(d, v)
					p.Features = append(p.Features, f)
				}
				if _, err := dec.ReadToken(); err != nil {
					return n, err
				}
			case "model":
				v, err := dec.ReadValue()
				if err != nil {
					return n, err
				}
				p.Model = d.intern(unquoted(v))
			case "version":
				v, err := dec.ReadValue()
				if err != nil {
					return n, err
				}
				p.Version = d.intern(unquoted(v))
			case "id":
				v, err := dec.ReadValue()
				if err != nil {
					return n, err
				}
				p.ID = string(unquoted(v))
			case "timestamp":
				v, err := dec.ReadValue()
				if err != nil {
					return n, err
				}
				p.Time, _ = parseRFC3339(unquoted(v))
			case "prediction":
				v, err := dec.ReadValue()
				if err != nil {
					return n, err
				}
				p.Prediction = jsontextValue(d, v)
			case "score":
				v, err := dec.ReadValue()
				if err != nil {
					return n, err
				}
				p.Score, p.HasScore = parseFloat(v)
			case "latency_ms":
				v, err := dec.ReadValue()
				if err != nil {
					return n, err
				}
				p.LatencyMS, p.HasLatency = parseFloat(v)
			default:
				if err := dec.SkipValue(); err != nil {
					return n, err
				}
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return n, err
		}
		fn(p)
		n++
	}
	return n, nil
}

// unquoted returns the content of a JSON string that has no escapes (as in
// the benchmark data).
func unquoted(v jsontext.Value) []byte { return v[1 : len(v)-1] }

func jsontextValue(d *Decoder, v jsontext.Value) Value {
	switch v.Kind() {
	case '"':
		return Value{Kind: String, Str: d.intern(unquoted(v))}
	case '0':
		f, _ := parseFloat(v)
		return Value{Kind: Number, Num: f}
	case 't':
		return Value{Kind: Bool, Num: 1}
	case 'f':
		return Value{Kind: Bool}
	}
	return Value{}
}

func BenchmarkJSONTextPredictionsNDJSON(b *testing.B) {
	body := benchBody(NDJSON, false)
	d := NewDecoder(Limits{})
	dec := jsontext.NewDecoder(bytes.NewReader(nil))
	fn := func(p *Prediction) { sink += p.Features[0].Value.Num }
	if n, err := jsontextPredictions(d, dec, body, fn); n != benchEvents || err != nil {
		b.Fatal(n, err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := jsontextPredictions(d, dec, body, fn); n != benchEvents || err != nil {
			b.Fatal(n, err)
		}
	}
	reportPerEvent(b)
}
