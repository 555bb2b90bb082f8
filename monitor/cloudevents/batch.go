package cloudevents

import (
	"bytes"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// parseBatchFast reads a batched-mode body (a JSON array of structured events) in one
// token walk, where the general path unmarshals the array and then each event into a map
// of raw values: that was most of the CPU of a batched request. Like v1Instances, it
// answers only bodies it reads completely and exactly as the general path would (valid
// UTF-8, every event well-formed, no two extensions folding to one name, at most
// maxExtensions of them); for anything else it reports false and the general path reads
// the body and words the error. The events' Data alias body. FuzzBatchFastPath holds the
// two paths to the same result.
func parseBatchFast(body []byte) ([]Event, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return nil, false
	}
	out := []Event{}
	for dec.PeekKind() == '{' {
		e, ok := structuredFast(dec, body)
		if !ok {
			return nil, false
		}
		out = append(out, e)
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != ']' {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	return out, true
}

// structuredFast reads the event object at dec's position, as parseStructured reads one.
func structuredFast(dec *jsontext.Decoder, body []byte) (Event, bool) {
	if _, err := dec.ReadToken(); err != nil { // {
		return Event{}, false
	}
	e := Event{Extensions: map[string]string{}}
	var dataB64 string
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return Event{}, false
		}
		name := tok.String()
		if name == "data" {
			v, err := dec.ReadValue()
			if err != nil {
				return Event{}, false
			}
			end := dec.InputOffset()
			e.Data = body[end-int64(len(v)) : end : end]
			continue
		}
		var s string
		switch dec.PeekKind() {
		case '"':
			tok, err := dec.ReadToken()
			if err != nil {
				return Event{}, false
			}
			s = tok.String()
		case 'n': // encoding/json leaves a string at "" for null
			if _, err := dec.ReadToken(); err != nil {
				return Event{}, false
			}
		default:
			v, err := dec.ReadValue()
			if err != nil {
				return Event{}, false
			}
			if isAttribute(name) {
				return Event{}, false // not a string: the general path says which attribute
			}
			s = string(v) // an extension that is a number or bool (or anything else) keeps its text
		}
		if isAttribute(name) {
			e.setAttribute(name, s, &dataB64)
			continue
		}
		key := strings.ToLower(name)
		if _, dup := e.Extensions[key]; dup || len(e.Extensions) >= maxExtensions {
			return Event{}, false // which one wins is the general path's to say
		}
		e.Extensions[key] = s
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return Event{}, false
	}
	return e, e.finish(dataB64) == nil
}
