// Package yamlconf is what vigil's config files share: strict YAML decoding, errors that
// name the file, line and field a person must fix, and Prometheus-style durations. The
// monitor's config and the rule files both use it.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Error is a config error that names where in the file it is.
type Error struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// FieldErr is an *Error about a dotted field path such as "models[0].window".
func FieldErr(field, format string, args ...any) error {
	return &Error{Field: field, Err: fmt.Errorf(format, args...)}
}

// DecodeStrict decodes the one YAML document of data into v, refusing unknown fields
// (types must use func-style UnmarshalYAML, or node-style only for scalars, to keep it).
func DecodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return FromYAML(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return &Error{Err: errors.New("the file holds more than one YAML document")}
	}
	return nil
}

// WithLine fills in the line of an *Error whose Field names a path in data.
func WithLine(err error, data []byte) error {
	if ce, ok := errors.AsType[*Error](err); ok && ce.Line == 0 && ce.Field != "" {
		var root yaml.Node
		if yaml.Unmarshal(data, &root) == nil {
			ce.Line = LineOf(&root, ce.Field)
		}
	}
	return err
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// FromYAML turns the YAML library's error into an *Error with a line number.
func FromYAML(err error) error {
	if te, ok := errors.AsType[*yaml.TypeError](err); ok && len(te.Errors) > 0 {
		// Report the first problem; the rest usually follow from it.
		return lineError(te.Errors[0])
	}
	return lineError(strings.TrimPrefix(err.Error(), "yaml: "))
}

func lineError(msg string) *Error {
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Line: line, Err: errors.New(cleanTypeNames(m[2]))}
	}
	return &Error{Err: errors.New(cleanTypeNames(msg))}
}

var (
	typeNameRE = regexp.MustCompile(`in type \*?\w+\.\w+`)
	intoTypeRE = regexp.MustCompile(`into (\[\])?\*?\w+\.\w+`)
)

// cleanTypeNames removes Go type names a user cannot act on from YAML errors.
func cleanTypeNames(s string) string {
	s = typeNameRE.ReplaceAllString(s, "here")
	return intoTypeRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "into []") {
			return "into a list"
		}
		return "into a mapping"
	})
}

// LineOf finds the line of a dotted field path such as "models[1].window.size" in a YAML
// tree; it returns the line of the deepest part it can find, or 0.
func LineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for part := range strings.SplitSeq(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		k, v := mappingEntry(n, key)
		if k == nil {
			return line
		}
		line, n = k.Line, v
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// mappingEntry returns the key and value nodes of key in mapping n.
func mappingEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// Duration is a config duration in Prometheus's notation: 30s, 5m, 1h, 3d, 1w, 1h30m.
type Duration model.Duration

// UnmarshalYAML parses a duration and names the line of a bad one. A scalar has no fields,
// so taking the node here loses no strictness.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a string such as 30s, 5m or 1h", node.Line)
	}
	v, err := model.ParseDuration(node.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (write e.g. 30s, 5m, 1h, 3d): %w", node.Line, node.Value, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in the notation it is read in.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats the duration as Prometheus does (1h30m, 3d).
func (d Duration) String() string { return model.Duration(d).String() }

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
