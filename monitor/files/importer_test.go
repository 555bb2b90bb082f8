package files

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestImportRetriesOn429(t *testing.T) {
	var calls, lines atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 2 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		require.Equal(t, "/api/v1/predictions", r.URL.Path)
		b, _ := io.ReadAll(r.Body)
		n := strings.Count(string(b), "\n")
		lines.Add(int64(n))
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%d,"rejected":0,"errors":[]}`, n)
	}))
	defer srv.Close()
	var in strings.Builder
	for i := range 25 {
		fmt.Fprintf(&in, `{"model":"fraud","id":"%d"}`+"\n", i)
	}
	res, err := Import(context.Background(), strings.NewReader(in.String()), ImportOptions{URL: srv.URL, BatchLines: 10})
	require.NoError(t, err)
	require.Equal(t, ImportResult{Records: 25, Accepted: 25}, res)
	require.Equal(t, int64(25), lines.Load())
	require.Equal(t, int64(4), calls.Load(), "three batches, one of them twice")
}

func TestImportRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"missing or wrong bearer token"}`)
	}))
	defer srv.Close()
	_, err := Import(context.Background(), strings.NewReader(`{"model":"m"}`+"\n"), ImportOptions{URL: srv.URL})
	require.ErrorContains(t, err, "bearer token")
	_, err = Import(context.Background(), strings.NewReader(""), ImportOptions{URL: srv.URL, CSV: true})
	require.ErrorContains(t, err, "header")
}
