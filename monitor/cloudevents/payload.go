package cloudevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// feature is one named input value: float64, string, bool or nil (missing).
type feature struct {
	name  string
	value any
}

// output is what the model answered for one instance: a class or value, or class
// probabilities by index.
type output struct {
	pred   any // float64, string, bool; nil when the answer is probabilities only
	scores []float64
}

// tensor is an Open Inference Protocol (v2) input or output tensor.
type tensor struct {
	Name     string          `json:"name"`
	Shape    []int           `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

// seldonData is the Seldon protocol's "data" member.
type seldonData struct {
	Names   []string        `json:"names"`
	NDArray json.RawMessage `json:"ndarray"`
	Tensor  *struct {
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
	} `json:"tensor"`
}

// body is every inference payload shape vigil reads: KServe v1 (instances / predictions),
// the Open Inference Protocol v2 (inputs / outputs) and the Seldon protocol (data, and
// truth in feedback).
type body struct {
	Instances   []json.RawMessage `json:"instances"`
	Predictions []json.RawMessage `json:"predictions"`
	Inputs      []tensor          `json:"inputs"`
	Outputs     []tensor          `json:"outputs"`
	Data        *seldonData       `json:"data"`
	Truth       *struct {
		Data *seldonData `json:"data"`
	} `json:"truth"`
}

// maxRows bounds the instances read from one payload.
const maxRows = 100000

func parseBody(data []byte) (*body, error) {
	var b body
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("payload is not a JSON inference body: %w", err)
	}
	return &b, nil
}

// requestRows reads the instances' features of an inference request.
func requestRows(data []byte, m *Mapping) ([][]feature, error) {
	if rows, ok := v1Instances(data, m); ok {
		return rows, nil
	}
	return requestRowsGeneral(data, m)
}

// requestRowsGeneral is requestRows for every protocol, through encoding/json.
func requestRowsGeneral(data []byte, m *Mapping) ([][]feature, error) {
	b, err := parseBody(data)
	if err != nil {
		return nil, err
	}
	switch {
	case b.Instances != nil:
		rows := make([][]feature, 0, len(b.Instances))
		for i, raw := range b.Instances {
			r, err := instanceRow(raw, m)
			if err != nil {
				return nil, fmt.Errorf("instances[%d]: %w", i, err)
			}
			rows = append(rows, r)
		}
		return rows, nil
	case b.Inputs != nil:
		return tensorRows(b.Inputs, m)
	case b.Data != nil:
		return seldonRows(b.Data, m)
	}
	return nil, errors.New("request has none of instances (v1), inputs (v2) or data (Seldon)")
}

// responseOutputs reads the model's answers from an inference response.
func responseOutputs(data []byte, m *Mapping) ([]output, error) {
	if out, ok := v1Predictions(data); ok {
		return out, nil
	}
	return responseOutputsGeneral(data, m)
}

// responseOutputsGeneral is responseOutputs for every protocol, through encoding/json.
func responseOutputsGeneral(data []byte, m *Mapping) ([]output, error) {
	b, err := parseBody(data)
	if err != nil {
		return nil, err
	}
	switch {
	case b.Predictions != nil:
		out := make([]output, 0, len(b.Predictions))
		for i, raw := range b.Predictions {
			o, err := valueOutput(raw)
			if err != nil {
				return nil, fmt.Errorf("predictions[%d]: %w", i, err)
			}
			out = append(out, o)
		}
		return out, nil
	case b.Outputs != nil:
		return tensorOutputs(b.Outputs, m)
	case b.Data != nil:
		rows, err := seldonRows(b.Data, &Mapping{})
		if err != nil {
			return nil, err
		}
		return rowsOutputs(rows), nil
	}
	return nil, errors.New("response has none of predictions (v1), outputs (v2) or data (Seldon)")
}

// feedbackTruth reads the true labels of a Seldon feedback payload.
func feedbackTruth(data []byte) ([]any, error) {
	b, err := parseBody(data)
	if err != nil {
		return nil, err
	}
	if b.Truth == nil || b.Truth.Data == nil {
		return nil, errors.New("feedback has no truth.data")
	}
	rows, err := seldonRows(b.Truth.Data, &Mapping{})
	if err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	out := make([]any, len(rows))
	for i, r := range rows {
		if len(r) == 0 {
			return nil, fmt.Errorf("truth row %d is empty", i)
		}
		if len(r) > 1 { // one-hot truth: the index of the 1
			out[i] = argmaxRow(r)
			continue
		}
		out[i] = r[0].value
	}
	return out, nil
}

func argmaxRow(r []feature) any {
	best, bestV := 0, math.Inf(-1)
	for j, f := range r {
		if v, ok := f.value.(float64); ok && v > bestV {
			best, bestV = j, v
		}
	}
	return float64(best)
}

func columnName(m *Mapping, j int) string {
	if j < len(m.Features) {
		return m.Features[j]
	}
	return strconv.Itoa(j)
}

func truncate(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}

// instanceRow reads one v1 instance: an object of named features, an array of positional
// ones (named by the mapping's features), or a single value.
func instanceRow(raw json.RawMessage, m *Mapping) ([]feature, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case map[string]any:
		r := make([]feature, 0, len(x))
		for name, val := range x {
			if !isScalar(val) {
				continue // nested values are not features vigil can compare
			}
			r = append(r, feature{name, val})
		}
		return r, nil
	case []any:
		r := make([]feature, 0, len(x))
		for j, val := range x {
			if !isScalar(val) {
				return nil, fmt.Errorf("column %d is not a number, string, bool or null (an image or tensor instance needs a feature mapping vigil does not do)", j)
			}
			r = append(r, feature{columnName(m, j), val})
		}
		return r, nil
	default:
		return []feature{{columnName(m, 0), x}}, nil
	}
}

func isScalar(v any) bool {
	switch v.(type) {
	case nil, float64, string, bool:
		return true
	}
	return false
}

// valueOutput reads one v1 prediction: a value or class, or a list of class probabilities.
func valueOutput(raw json.RawMessage) (output, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return output{}, err
	}
	switch x := v.(type) {
	case []any:
		if len(x) == 1 && isScalar(x[0]) {
			return output{pred: x[0]}, nil
		}
		s, err := floats(x)
		if err != nil {
			return output{}, err
		}
		return output{scores: s}, nil
	case nil:
		return output{}, errors.New("prediction is null")
	default:
		if !isScalar(x) {
			return output{}, fmt.Errorf("%s is not a value or a list of probabilities", truncate(raw))
		}
		return output{pred: x}, nil
	}
}

func floats(x []any) ([]float64, error) {
	out := make([]float64, len(x))
	for i, v := range x {
		f, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("element %d of a probability list is not a number", i)
		}
		out[i] = f
	}
	return out, nil
}

// flatten reads a tensor's data, flat or nested, row-major.
func flatten(raw json.RawMessage) ([]any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var out []any
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		if depth > 32 {
			return errors.New("tensor data nested too deep")
		}
		if a, ok := v.([]any); ok {
			for _, e := range a {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if !isScalar(v) {
			return errors.New("tensor data holds an object")
		}
		out = append(out, v)
		return nil
	}
	return out, walk(v, 0)
}

// rowsOf splits a tensor into rows of width elements: shape [N] or [N, 1] is one value a
// row, [N, k, ...] is k·... values a row.
func rowsOf(t *tensor) (n, width int, data []any, err error) {
	data, err = flatten(t.Data)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if len(t.Shape) == 0 {
		return 0, 0, nil, fmt.Errorf("tensor %q has no shape", t.Name)
	}
	n, width = t.Shape[0], 1
	for _, d := range t.Shape[1:] {
		if d <= 0 || width > maxRows*64/d {
			return 0, 0, nil, fmt.Errorf("tensor %q: bad shape %v", t.Name, t.Shape)
		}
		width *= d
	}
	if n < 0 || n > maxRows || n*width != len(data) {
		return 0, 0, nil, fmt.Errorf("tensor %q: shape %v does not match its %d values", t.Name, t.Shape, len(data))
	}
	return n, width, data, nil
}

// tensorRows reads OIP v2 inputs: a tensor of one value per row is a feature named after
// the tensor; a wider tensor's columns are named by the mapping's features (when the
// mapping names that many) or "<tensor>_<column>".
func tensorRows(ts []tensor, m *Mapping) ([][]feature, error) {
	var rows [][]feature
	for i := range ts {
		t := &ts[i]
		if len(m.Inputs) > 0 && !contains(m.Inputs, t.Name) {
			continue
		}
		n, width, data, err := rowsOf(t)
		if err != nil {
			return nil, err
		}
		if rows == nil {
			rows = make([][]feature, n)
		} else if len(rows) != n {
			return nil, fmt.Errorf("tensor %q has %d rows, another input %d", t.Name, n, len(rows))
		}
		for r := range n {
			for j := range width {
				name := t.Name
				switch {
				case width > 1 && len(m.Features) == width:
					name = m.Features[j]
				case width > 1:
					name = t.Name + "_" + strconv.Itoa(j)
				}
				rows[r] = append(rows[r], feature{name, data[r*width+j]})
			}
		}
	}
	if rows == nil {
		return nil, errors.New("no input tensor to read")
	}
	return rows, nil
}

// tensorOutputs reads OIP v2 outputs: the mapping's output tensor (default the first) is
// the prediction when it has one value a row, class probabilities when wider; the
// mapping's probabilities tensor, when named, adds the probabilities.
func tensorOutputs(ts []tensor, m *Mapping) ([]output, error) {
	find := func(name string) *tensor {
		for i := range ts {
			if ts[i].Name == name {
				return &ts[i]
			}
		}
		return nil
	}
	main := find(m.Output)
	if m.Output == "" && len(ts) > 0 {
		main = &ts[0]
	}
	if main == nil {
		return nil, fmt.Errorf("no output tensor %q", m.Output)
	}
	n, width, data, err := rowsOf(main)
	if err != nil {
		return nil, err
	}
	out := make([]output, n)
	for r := range n {
		if width == 1 {
			out[r].pred = data[r]
			continue
		}
		s, err := floats(data[r*width : (r+1)*width])
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", main.Name, err)
		}
		out[r].scores = s
	}
	if m.Probabilities != "" {
		pt := find(m.Probabilities)
		if pt == nil {
			return nil, fmt.Errorf("no output tensor %q", m.Probabilities)
		}
		pn, pw, pdata, err := rowsOf(pt)
		if err != nil {
			return nil, err
		}
		if pn != n {
			return nil, fmt.Errorf("tensor %q has %d rows, %q %d", pt.Name, pn, main.Name, n)
		}
		for r := range n {
			s, err := floats(pdata[r*pw : (r+1)*pw])
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", pt.Name, err)
			}
			out[r].scores = s
		}
	}
	return out, nil
}

// seldonRows reads the Seldon protocol's data: ndarray (rows, or one row) or tensor, with
// names for the columns.
func seldonRows(d *seldonData, m *Mapping) ([][]feature, error) {
	names := d.Names
	name := func(j int) string {
		if j < len(names) {
			return names[j]
		}
		return columnName(m, j)
	}
	switch {
	case d.NDArray != nil:
		var v []any
		if err := json.Unmarshal(d.NDArray, &v); err != nil {
			return nil, fmt.Errorf("data.ndarray: %w", err)
		}
		if len(v) > maxRows {
			return nil, fmt.Errorf("data.ndarray has more than %d rows", maxRows)
		}
		if len(v) > 0 {
			if _, nested := v[0].([]any); !nested {
				v = []any{v} // one row
			}
		}
		rows := make([][]feature, len(v))
		for i, rv := range v {
			cols, ok := rv.([]any)
			if !ok {
				return nil, fmt.Errorf("data.ndarray row %d is not a list", i)
			}
			for j, c := range cols {
				if !isScalar(c) {
					return nil, fmt.Errorf("data.ndarray row %d column %d is not a value", i, j)
				}
				rows[i] = append(rows[i], feature{name(j), c})
			}
		}
		return rows, nil
	case d.Tensor != nil:
		t := d.Tensor
		if len(t.Shape) == 0 || t.Shape[0] <= 0 || t.Shape[0] > maxRows || len(t.Values)%t.Shape[0] != 0 {
			return nil, fmt.Errorf("data.tensor: shape %v does not fit %d values", t.Shape, len(t.Values))
		}
		n := t.Shape[0]
		w := len(t.Values) / n
		rows := make([][]feature, n)
		for i := range n {
			for j := range w {
				rows[i] = append(rows[i], feature{name(j), t.Values[i*w+j]})
			}
		}
		return rows, nil
	}
	return nil, errors.New("data has neither ndarray nor tensor")
}

// rowsOutputs reads Seldon response rows: one value is the prediction, several are class
// probabilities.
func rowsOutputs(rows [][]feature) []output {
	out := make([]output, len(rows))
	for i, r := range rows {
		if len(r) == 1 {
			out[i].pred = r[0].value
			continue
		}
		s := make([]float64, len(r))
		for j, f := range r {
			v, _ := f.value.(float64)
			s[j] = v
		}
		out[i].scores = s
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
