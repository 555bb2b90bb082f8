package cloudevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Event is one CloudEvent as vigil needs it: the attributes the KServe and Seldon payload
// loggers set, and the data.
type Event struct {
	ID          string
	Type        string
	Source      string
	SpecVersion string
	// Time is the ce-time attribute; zero when absent or unreadable.
	Time time.Time
	// ContentType is datacontenttype (binary mode: the Content-Type header).
	ContentType string
	// Extensions are the extension attributes by lower-case name (inferenceservicename,
	// namespace, component, endpoint, metadata, requestid, modelid, ...).
	Extensions map[string]string
	Data       []byte
}

// Extension returns the named extension attribute, "" when absent.
func (e *Event) Extension(name string) string { return e.Extensions[name] }

// The media types of structured and batched mode.
const (
	mediaStructured = "application/cloudevents+json"
	mediaBatch      = "application/cloudevents-batch+json"
)

// maxExtensions bounds the attributes kept from one event.
const maxExtensions = 64

// ParseHTTP reads the CloudEvents in an HTTP request of any mode of the HTTP protocol
// binding (CloudEvents 1.0 and 0.3): binary (attributes in Ce-* headers, the body is the
// data), structured (application/cloudevents+json) or batched
// (application/cloudevents-batch+json). The events' Data alias body.
func ParseHTTP(h http.Header, body []byte) ([]Event, error) {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case mt == mediaStructured:
		e, err := parseStructured(body)
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	case mt == mediaBatch:
		if evs, ok := parseBatchFast(body); ok {
			return evs, nil
		}
		return parseBatch(body)
	case h.Get("Ce-Specversion") != "":
		e, err := parseBinary(h, body)
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	}
	return nil, errors.New("not a CloudEvent: no Ce-Specversion header (binary mode) and Content-Type is not application/cloudevents+json (structured mode)")
}

// parseBatch reads a batched-mode body through encoding/json: every body, and the errors.
func parseBatch(body []byte) ([]Event, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("batched mode: the body must be a JSON array of events: %w", err)
	}
	out := make([]Event, 0, len(raw))
	for i, r := range raw {
		e, err := parseStructured(r)
		if err != nil {
			return nil, fmt.Errorf("batched mode: event %d: %w", i, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseBinary(h http.Header, body []byte) (Event, error) {
	e := Event{Extensions: map[string]string{}, Data: body, ContentType: h.Get("Content-Type")}
	for name, values := range h {
		lower := strings.ToLower(name)
		attr, ok := strings.CutPrefix(lower, "ce-")
		if !ok || len(values) == 0 {
			continue
		}
		v := values[0]
		switch {
		case attr == "datacontenttype":
			// Not a binary-mode header (Content-Type is), but tolerated.
			if e.ContentType == "" {
				e.ContentType = v
			}
		case isAttribute(attr) && attr != "data_base64":
			e.setAttribute(attr, v, nil)
		case len(e.Extensions) < maxExtensions:
			e.Extensions[attr] = v
		}
	}
	return e, e.check()
}

func parseStructured(b []byte) (Event, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Event{}, fmt.Errorf("structured mode: the body must be a JSON object: %w", err)
	}
	e := Event{Extensions: map[string]string{}}
	str := func(name string, raw json.RawMessage) (string, error) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("structured mode: attribute %q must be a string", name)
		}
		return s, nil
	}
	var dataB64 string
	for name, raw := range m {
		switch {
		case name == "data":
			e.Data = bytes.TrimSpace(raw)
		case isAttribute(name):
			s, err := str(name, raw)
			if err != nil {
				return Event{}, err
			}
			e.setAttribute(name, s, &dataB64)
		case len(e.Extensions) < maxExtensions:
			var s string
			if json.Unmarshal(raw, &s) == nil {
				e.Extensions[strings.ToLower(name)] = s
			} else {
				e.Extensions[strings.ToLower(name)] = string(raw) // a number or bool
			}
		}
	}
	if err := e.finish(dataB64); err != nil {
		return Event{}, err
	}
	return e, nil
}

// finish completes a structured-mode event: data_base64, when given, is the data, and a
// null data is none; then the required attributes are checked.
func (e *Event) finish(dataB64 string) error {
	if dataB64 != "" {
		d, err := base64.StdEncoding.DecodeString(dataB64)
		if err != nil {
			return fmt.Errorf("structured mode: data_base64: %w", err)
		}
		e.Data = d
	}
	if bytes.Equal(e.Data, []byte("null")) {
		e.Data = nil
	}
	return e.check()
}

// isAttribute reports whether name is a context attribute (or data_base64) of structured
// mode, whose value must be a string, rather than an extension.
func isAttribute(name string) bool {
	switch name {
	case "data_base64", "id", "type", "source", "specversion", "datacontenttype", "time":
		return true
	}
	return false
}

// setAttribute sets the attribute name (isAttribute) to s; data_base64 goes to dataB64,
// to be decoded once the whole event is read (binary mode, which has no data_base64,
// passes nil).
func (e *Event) setAttribute(name, s string, dataB64 *string) {
	switch name {
	case "data_base64":
		*dataB64 = s
	case "id":
		e.ID = s
	case "type":
		e.Type = s
	case "source":
		e.Source = s
	case "specversion":
		e.SpecVersion = s
	case "datacontenttype":
		e.ContentType = s
	case "time":
		e.Time, _ = time.Parse(time.RFC3339Nano, s)
	}
}

func (e *Event) check() error {
	var missing []string
	for _, a := range []struct{ name, v string }{{"id", e.ID}, {"type", e.Type}, {"source", e.Source}, {"specversion", e.SpecVersion}} {
		if a.v == "" {
			missing = append(missing, a.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the CloudEvent lacks the required attribute(s) %s", strings.Join(missing, ", "))
	}
	if e.SpecVersion != "1.0" && e.SpecVersion != "0.3" {
		return fmt.Errorf("specversion %q is not 1.0 or 0.3", e.SpecVersion)
	}
	return nil
}
