package notifyutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/vigilml/vigil/alerting"
	"go.yaml.in/yaml/v3"
)

// FieldError is a validation error about one key of an integration's config.
type FieldError struct {
	Field string
	Err   error
}

// Error names the key, then the problem.
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErr returns a *FieldError about field, formatted as fmt.Errorf does.
func FieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// LineError turns a validation error into a YAML type error naming the line of the key
// its *FieldError is about (or the mapping's first line), the form the root config
// loader reports.
func LineError(nodes map[string]yaml.Node, err error) error {
	line := 0
	for _, n := range nodes {
		if line == 0 || n.Line < line {
			line = n.Line
		}
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		if n, ok := nodes[fe.Field]; ok {
			line = n.Line
		}
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", line, err)}}
}

var typeNameRE = regexp.MustCompile(` in type [\w.]+`)

// CleanYAMLError drops Go type names, which a user cannot act on, from YAML errors.
func CleanYAMLError(err error) error {
	return errors.New(typeNameRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), ""))
}

// UnmarshalConfig is the body of a config's func-style UnmarshalYAML, which has set the
// defaults already: it decodes strictly into plain (the config as a pointer to a type
// without methods, so that decoding neither recurses nor loses strictness) and validates,
// naming the line of the offending key.
func UnmarshalConfig(unmarshal func(any) error, plain any, validate func() error) error {
	if err := unmarshal(plain); err != nil {
		return err
	}
	if err := validate(); err != nil {
		// A func-style unmarshaler cannot see its node, but a map of nodes keeps each
		// value's line.
		var lines map[string]yaml.Node
		_ = unmarshal(&lines)
		return LineError(lines, err)
	}
	return nil
}

// Load decodes the one YAML document of data strictly into cfg, which holds the
// defaults, and validates it. An empty document is the error empty.
func Load(data []byte, cfg any, validate func() error, empty string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New(empty)
		}
		return CleanYAMLError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	// A null document decodes without calling UnmarshalYAML: validate here too.
	return validate()
}

// Build is an integration's entry for alerting.Builders: it decodes one <kind>_configs
// entry with decode (strictly, defaults set, validated) and calls build with it.
func Build[C any, N alerting.Notifier](defaults func() C, build func(C) (N, error)) func(decode func(any) error) (alerting.Notifier, error) {
	return func(decode func(any) error) (alerting.Notifier, error) {
		cfg := defaults()
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		n, err := build(cfg)
		if err != nil {
			return nil, err // a nil interface, not a nil *Notifier
		}
		return n, nil
	}
}
