package cloudevents

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The Open Inference Protocol's gRPC messages (kserve docs/predict-api/v2/grpc_predict_v2.proto),
// read with protowire rather than generated code: vigil needs four messages' tensors, and
// the generated package would bring gRPC along.
//
//	ModelInferRequest  {1 model_name, 2 model_version, 3 id, 4 parameters, 5 inputs, 6 outputs, 7 raw_input_contents}
//	ModelInferResponse {1 model_name, 2 model_version, 3 id, 4 parameters, 5 outputs, 6 raw_output_contents}
//	Infer{Input,Output}Tensor {1 name, 2 datatype, 3 shape (packed int64), 4 parameters, 5 contents}
//	InferTensorContents {1 bool, 2 int32, 3 int64, 4 uint32, 5 uint64, 6 fp32, 7 fp64, 8 bytes}

// maxTensorValues bounds the values read from one message.
const maxTensorValues = 1 << 22

type protoTensor struct {
	Name     string `json:"name"`
	Shape    []int  `json:"shape"`
	Datatype string `json:"datatype"`
	Data     []any  `json:"data"`
}

// OIPProtoToJSON turns a protobuf ModelInferRequest (response false) or ModelInferResponse
// (response true), as Seldon Core 2 writes them to its Kafka topics, into the Open
// Inference Protocol's JSON body ({"inputs": [...]} or {"outputs": [...]}), and returns
// the message's id.
func OIPProtoToJSON(b []byte, response bool) (body []byte, id string, err error) {
	tensorField, rawField := protowire.Number(5), protowire.Number(7)
	if response {
		rawField = 6
	}
	var tensors []protoTensor
	var raws [][]byte
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 3 && typ == protowire.BytesType:
			id = string(v)
		case num == tensorField && typ == protowire.BytesType:
			t, err := readTensor(v)
			if err != nil {
				return err
			}
			tensors = append(tensors, t)
		case num == rawField && typ == protowire.BytesType:
			raws = append(raws, v)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(raws) > 0 {
		if len(raws) != len(tensors) {
			return nil, "", fmt.Errorf("%d raw contents for %d tensors", len(raws), len(tensors))
		}
		for i := range tensors {
			if tensors[i].Data, err = rawValues(tensors[i].Datatype, raws[i]); err != nil {
				return nil, "", fmt.Errorf("tensor %q: %w", tensors[i].Name, err)
			}
		}
	}
	for i := range tensors {
		if tensors[i].Data == nil {
			tensors[i].Data = []any{}
		}
	}
	key := "inputs"
	if response {
		key = "outputs"
	}
	body, err = json.Marshal(map[string]any{key: tensors})
	return body, id, err
}

// eachField calls fn for every field of a message; v is the bytes of a length-delimited
// field, x the value of a varint or fixed one.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("protobuf field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func readTensor(b []byte) (protoTensor, error) {
	var t protoTensor
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			t.Name = string(v)
		case 2:
			t.Datatype = string(v)
		case 3:
			if typ == protowire.VarintType {
				t.Shape = append(t.Shape, int(int64(x)))
				return nil
			}
			return packed(v, protowire.VarintType, func(x uint64) { t.Shape = append(t.Shape, int(int64(x))) })
		case 5:
			return readContents(v, &t)
		}
		return nil
	})
	if len(t.Shape) > 16 {
		return t, errors.New("tensor shape has more than 16 dimensions")
	}
	return t, err
}

// packed reads a packed repeated scalar field (or a single unpacked element).
func packed(v []byte, typ protowire.Type, fn func(x uint64)) error {
	for len(v) > 0 {
		var x uint64
		var n int
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(v)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(v)
			x = uint64(y)
		default:
			x, n = protowire.ConsumeFixed64(v)
		}
		if n < 0 {
			return fmt.Errorf("packed field: %w", protowire.ParseError(n))
		}
		v = v[n:]
		fn(x)
	}
	return nil
}

func readContents(b []byte, t *protoTensor) error {
	add := func(v any) error {
		if len(t.Data) >= maxTensorValues {
			return errors.New("tensor has too many values")
		}
		t.Data = append(t.Data, v)
		return nil
	}
	var addErr error
	each := func(conv func(x uint64) any) func(x uint64) {
		return func(x uint64) {
			if addErr == nil {
				addErr = add(conv(x))
			}
		}
	}
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		var conv func(uint64) any
		wire := protowire.VarintType
		switch num {
		case 1:
			conv = func(x uint64) any { return x != 0 }
		case 2:
			conv = func(x uint64) any { return float64(int32(x)) }
		case 3:
			conv = func(x uint64) any { return float64(int64(x)) }
		case 4, 5:
			conv = func(x uint64) any { return float64(x) }
		case 6:
			wire = protowire.Fixed32Type
			conv = func(x uint64) any { return finite(float64(math.Float32frombits(uint32(x)))) }
		case 7:
			wire = protowire.Fixed64Type
			conv = func(x uint64) any { return finite(math.Float64frombits(x)) }
		case 8:
			if typ == protowire.BytesType {
				return add(string(v))
			}
			return nil
		default:
			return nil
		}
		if typ == protowire.BytesType {
			if err := packed(v, wire, each(conv)); err != nil {
				return err
			}
			return addErr
		}
		return add(conv(x))
	})
}

// finite maps NaN and infinities to nil (JSON cannot carry them; vigil reads a missing value).
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// rawValues decodes raw_*_contents: little-endian values of the datatype, or for BYTES
// each element prefixed by its 4-byte little-endian length.
func rawValues(datatype string, b []byte) ([]any, error) {
	var size int
	var conv func([]byte) any
	switch datatype {
	case "BOOL":
		size, conv = 1, func(b []byte) any { return b[0] != 0 }
	case "INT8":
		size, conv = 1, func(b []byte) any { return float64(int8(b[0])) }
	case "UINT8":
		size, conv = 1, func(b []byte) any { return float64(b[0]) }
	case "INT16":
		size, conv = 2, func(b []byte) any { return float64(int16(binary.LittleEndian.Uint16(b))) }
	case "UINT16":
		size, conv = 2, func(b []byte) any { return float64(binary.LittleEndian.Uint16(b)) }
	case "INT32":
		size, conv = 4, func(b []byte) any { return float64(int32(binary.LittleEndian.Uint32(b))) }
	case "UINT32":
		size, conv = 4, func(b []byte) any { return float64(binary.LittleEndian.Uint32(b)) }
	case "INT64":
		size, conv = 8, func(b []byte) any { return float64(int64(binary.LittleEndian.Uint64(b))) }
	case "UINT64":
		size, conv = 8, func(b []byte) any { return float64(binary.LittleEndian.Uint64(b)) }
	case "FP32":
		size, conv = 4, func(b []byte) any { return finite(float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))) }
	case "FP64":
		size, conv = 8, func(b []byte) any { return finite(math.Float64frombits(binary.LittleEndian.Uint64(b))) }
	case "BYTES":
		var out []any
		for len(b) > 0 {
			if len(b) < 4 {
				return nil, errors.New("raw BYTES: truncated length")
			}
			n := binary.LittleEndian.Uint32(b)
			b = b[4:]
			if uint64(n) > uint64(len(b)) {
				return nil, errors.New("raw BYTES: element longer than the content")
			}
			if len(out) >= maxTensorValues {
				return nil, errors.New("tensor has too many values")
			}
			out = append(out, string(b[:n]))
			b = b[n:]
		}
		return out, nil
	default:
		return nil, fmt.Errorf("raw contents of datatype %q are not read (FP16 and others)", datatype)
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("raw %s contents of %d bytes", datatype, len(b))
	}
	if len(b)/size > maxTensorValues {
		return nil, errors.New("tensor has too many values")
	}
	out := make([]any, 0, len(b)/size)
	for i := 0; i < len(b); i += size {
		out = append(out, conv(b[i:i+size]))
	}
	return out, nil
}
