package cloudevents

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

const loggerBatch = `[
 {"specversion":"1.0","id":"p-1","type":"org.kubeflow.serving.inference.request","source":"http://localhost:9081/",
  "time":"2026-11-24T10:00:00Z","inferenceservicename":"fraud","endpoint":"default","datacontenttype":"application/json",
  "data":{"instances":[{"f0":1.5,"c0":"DE"}]}},
 {"specversion":"1.0","id":"p-1","type":"org.kubeflow.serving.inference.response","source":"http://localhost:9081/",
  "inferenceservicename":"fraud","data":{"predictions":[[0.2,0.8]]}}
]`

func TestBatchFastPathTakesLoggerBatches(t *testing.T) {
	evs, ok := parseBatchFast([]byte(loggerBatch))
	require.True(t, ok, "the token walk reads a batch as loadgen and the loggers write it")
	want, err := parseBatch([]byte(loggerBatch))
	require.NoError(t, err)
	require.Equal(t, want, evs)
	require.Equal(t, `{"instances":[{"f0":1.5,"c0":"DE"}]}`, string(evs[0].Data))
	require.Equal(t, "fraud", evs[1].Extension("inferenceservicename"))
	_, ok = parseBatchFast([]byte(`[{"specversion":"1.0","id":"1","type":"t","source":"s","Foo":"a","foo":"b"}]`))
	require.False(t, ok, "two extensions of one lower-case name are the general path's")
}

// FuzzBatchFastPath holds the batched-mode token walk to what the general path reads
// from the same body, whenever the walk takes the body at all.
func FuzzBatchFastPath(f *testing.F) {
	for _, s := range []string{
		loggerBatch,
		`[]`,
		` [ ] `,
		`[{"specversion":"1.0","id":"1","type":"t","source":"s","data":null}]`,
		`[{"specversion":"1.0","id":"1","type":"t","source":"s","data_base64":"aGk=","data":{"x":1}}]`,
		`[{"specversion":"1.0","id":"1","type":"t","source":"s","n":1,"b":true,"o":{"a":[1]},"z":null}]`,
		`[{"specversion":"1.0","id":"1","id":"2","type":"t","source":"s","time":"bad"}]`,
		`[{"specversion":"1.0","id":null,"type":"t","source":"s"}]`,
		`[{"specversion":"1.0","\u0069d":"x","type":"t","source":"s"}] x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, ok := parseBatchFast(body)
		if !ok {
			return
		}
		want, err := parseBatch(body)
		if err != nil {
			t.Fatalf("fast path read %s; the general path refused it: %v", body, err)
		}
		require.Equal(t, want, evs, "%s", body)
	})
}

// BenchmarkParseBatch reads a batched-mode body of 1,000 request/response pairs of a
// 20-feature model, as loadgen sends them: the token walk against the general path.
func BenchmarkParseBatch(b *testing.B) {
	var body []byte
	body = append(body, '[')
	for i := range 1000 {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"specversion":"1.0","id":"lg-%d","type":"org.kubeflow.serving.inference.request","source":"vigil-loadgen","inferenceservicename":"lg","datacontenttype":"application/json","data":{"instances":[{`, i)
		for f := range 20 {
			if f > 0 {
				body = append(body, ',')
			}
			body = fmt.Appendf(body, `"n%02d":%.6f`, f, float64(i*f)/7)
		}
		body = fmt.Appendf(body, `}]}},{"specversion":"1.0","id":"lg-%d","type":"org.kubeflow.serving.inference.response","source":"vigil-loadgen","inferenceservicename":"lg","datacontenttype":"application/json","data":{"predictions":[[0.3,0.7]]}}`, i)
	}
	body = append(body, ']')
	for _, bc := range []struct {
		name  string
		parse func([]byte) ([]Event, error)
	}{
		{"walk", func(b []byte) ([]Event, error) {
			evs, ok := parseBatchFast(b)
			if !ok {
				return nil, errors.New("the walk did not take the body")
			}
			return evs, nil
		}},
		{"general", parseBatch},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				evs, err := bc.parse(body)
				if err != nil || len(evs) != 2000 {
					b.Fatalf("%d events: %v", len(evs), err)
				}
			}
		})
	}
}
