package cloudevents

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// The encoders below write the Open Inference Protocol's gRPC messages field by field, with
// the field numbers of kserve's docs/predict-api/v2/grpc_predict_v2.proto, as protoc's
// generated code marshals them (packed repeated scalars).

func pbString(b []byte, num protowire.Number, s string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func pbShape(b []byte, shape ...int64) []byte {
	var p []byte
	for _, d := range shape {
		p = protowire.AppendVarint(p, uint64(d))
	}
	return pbBytes(b, 3, p)
}

// TensorFP32 is an Infer{Input,Output}Tensor with fp32_contents.
func tensorFP32(name string, shape []int64, vals ...float32) []byte {
	t := pbString(nil, 1, name)
	t = pbString(t, 2, "FP32")
	t = pbShape(t, shape...)
	var p []byte
	for _, v := range vals {
		p = protowire.AppendFixed32(p, math.Float32bits(v))
	}
	return pbBytes(t, 5, pbBytes(nil, 6, p))
}

func tensorINT64(name string, shape []int64, vals ...int64) []byte {
	t := pbString(nil, 1, name)
	t = pbString(t, 2, "INT64")
	t = pbShape(t, shape...)
	var p []byte
	for _, v := range vals {
		p = protowire.AppendVarint(p, uint64(v))
	}
	return pbBytes(t, 5, pbBytes(nil, 3, p))
}

// InferRequestProto is a ModelInferRequest of one [n, 4] FP32 input.
func inferRequestProto(id string, rows ...[4]float32) []byte {
	var vals []float32
	for _, r := range rows {
		vals = append(vals, r[:]...)
	}
	b := pbString(nil, 1, "iris")
	b = pbString(b, 3, id)
	return pbBytes(b, 5, tensorFP32("predict", []int64{int64(len(rows)), 4}, vals...))
}

// InferResponseProto is a ModelInferResponse of one INT64 output.
func inferResponseProto(id string, classes ...int64) []byte {
	b := pbString(nil, 1, "iris")
	b = pbString(b, 2, "1")
	b = pbString(b, 3, id)
	return pbBytes(b, 5, tensorINT64("predict", []int64{int64(len(classes))}, classes...))
}

func TestOIPProtoToJSON(t *testing.T) {
	body, id, err := OIPProtoToJSON(inferRequestProto("r1", [4]float32{6.5, 3, 5.5, 2}, [4]float32{5, 3.5, 1.5, 0.25}), false)
	require.NoError(t, err)
	require.Equal(t, "r1", id)
	require.JSONEq(t, `{"inputs":[{"name":"predict","shape":[2,4],"datatype":"FP32","data":[6.5,3,5.5,2,5,3.5,1.5,0.25]}]}`, string(body))

	body, id, err = OIPProtoToJSON(inferResponseProto("r1", 2, 0), true)
	require.NoError(t, err)
	require.Equal(t, "r1", id)
	require.JSONEq(t, `{"outputs":[{"name":"predict","shape":[2],"datatype":"INT64","data":[2,0]}]}`, string(body))

	// Raw contents: the tensor without contents, the values little-endian in field 6.
	tensor := pbShape(pbString(pbString(nil, 1, "proba"), 2, "FP64"), 1, 2)
	raw := binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.25))
	raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(0.75))
	msg := pbBytes(pbBytes(pbString(nil, 3, "r2"), 5, tensor), 6, raw)
	body, _, err = OIPProtoToJSON(msg, true)
	require.NoError(t, err)
	require.JSONEq(t, `{"outputs":[{"name":"proba","shape":[1,2],"datatype":"FP64","data":[0.25,0.75]}]}`, string(body))

	// And the result reads as the JSON protocol does.
	outs, err := responseOutputs(body, &Mapping{})
	require.NoError(t, err)
	require.Equal(t, []output{{scores: []float64{0.25, 0.75}}}, outs)
}

func TestOIPProtoErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"truncated", []byte{0x2a, 0x10, 0x01}, "protobuf"},
		{"raw count", pbBytes(pbBytes(pbBytes(nil, 5, pbString(nil, 2, "FP32")), 7, nil), 7, nil), "2 raw contents for 1 tensors"},
		{"raw fp16", pbBytes(pbBytes(nil, 5, pbString(nil, 2, "FP16")), 7, []byte{0, 0}), "FP16"},
		{"raw size", pbBytes(pbBytes(nil, 5, pbString(nil, 2, "FP32")), 7, []byte{0, 0, 0}), "raw FP32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := OIPProtoToJSON(tt.msg, false)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func FuzzOIPProtoToJSON(f *testing.F) {
	f.Add(inferRequestProto("r", [4]float32{1, 2, 3, 4}), false)
	f.Add(inferResponseProto("r", 1, 2), true)
	f.Fuzz(func(t *testing.T, msg []byte, response bool) {
		body, _, err := OIPProtoToJSON(msg, response)
		if err != nil {
			return
		}
		require.True(t, json.Valid(body))
		_, _ = requestRows(body, &Mapping{})
		_, _ = responseOutputs(body, &Mapping{})
	})
}
