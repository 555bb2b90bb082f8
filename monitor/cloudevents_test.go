package monitor

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const cloudEventsCfg = `
global: {evaluation_interval: 1h}
models:
  - name: iris
    task: multiclass_classification
    features:
      - {name: sepal_length, type: numeric}
      - {name: sepal_width, type: numeric}
      - {name: petal_length, type: numeric}
      - {name: petal_width, type: numeric}
  - name: income
    task: binary_classification
    features: [{name: age, type: numeric}, {name: hours, type: numeric}]
cloudevents:
  pair_ttl: 1m
  models:
    - inference_service: sklearn-iris
      model: iris
      features: [sepal_length, sepal_width, petal_length, petal_width]
`

// postSample sends a recorded payload-logger request (monitor/cloudevents/testdata).
func postSample(t *testing.T, d *testDaemon, name string) int {
	t.Helper()
	return postSampleAuth(t, d, name, "")
}

// postSampleAuth is postSample with an Authorization header (none when empty).
func postSampleAuth(t *testing.T, d *testDaemon, name, authorization string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("cloudevents", "testdata", name))
	require.NoError(t, err)
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(b))).ReadMIMEHeader()
	require.NoError(t, err)
	_, body, _ := bytes.Cut(b, []byte("\n\n"))
	req, err := http.NewRequest(http.MethodPost, d.url+"/api/v1/cloudevents", bytes.NewReader(bytes.TrimSpace(body)))
	require.NoError(t, err)
	req.Header = http.Header(h)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestCloudEventsIntoWindows(t *testing.T) {
	d := startDaemon(t, cloudEventsCfg)
	for _, f := range []string{"kserve-v1-request.txt", "kserve-v1-response.txt", "seldon-request.txt", "seldon-response.txt", "seldon-feedback.txt"} {
		require.Equal(t, http.StatusAccepted, postSample(t, d, f), f)
	}
	require.Eventually(t, func() bool {
		d.m.Evaluate(d.clock.Now())
		iris, _ := d.m.Stats("iris")
		income, _ := d.m.Stats("income")
		return iris.Events.Predictions == 2 && income.Events.Predictions == 1 && income.Events.Labels == 1
	}, 10*time.Second, 10*time.Millisecond)
	d.m.Evaluate(d.clock.Now())
	iris := d.stats(t, "iris")
	require.Equal(t, 2, iris.Windows.Current)
	require.Empty(t, iris.UnknownFeatures, "the mapping names every column")
	income := d.stats(t, "income")
	acc, ok := qualityValue(income, "default", AllValue, "accuracy")
	require.True(t, ok, "the feedback's truth joins the prediction: %+v", income.Quality)
	require.Equal(t, 1.0, acc)
	exp := string(d.get(t, "/metrics").body)
	require.Contains(t, exp, "vigil_cloudevents_paired_total 2")
	require.Contains(t, exp, `vigil_cloudevents_received_total{kind="feedback"} 1`)
}

func TestCloudEventsOffWithoutSection(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	require.Equal(t, http.StatusNotFound, postSample(t, d, "kserve-v1-request.txt"))
}

func TestCloudEventsBearerToken(t *testing.T) {
	const withToken = "ingest: {bearer_token: ce-s3cret}\n"
	for _, tc := range []struct {
		name, cfg, auth string
		want            int
	}{
		{"required-none-sent", withToken + cloudEventsCfg + "  require_bearer_token: true\n", "", http.StatusUnauthorized},
		{"required-wrong-one", withToken + cloudEventsCfg + "  require_bearer_token: true\n", "Bearer nope", http.StatusUnauthorized},
		{"required-not-a-bearer", withToken + cloudEventsCfg + "  require_bearer_token: true\n", "Basic Y2UtczNjcmV0", http.StatusUnauthorized},
		{"required-right-one", withToken + cloudEventsCfg + "  require_bearer_token: true\n", "Bearer ce-s3cret", http.StatusAccepted},
		// The payload loggers cannot send a token: by default the sink does not ask for
		// the ingest token even where /api/v1/predictions does.
		{"not-required", withToken + cloudEventsCfg, "", http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, tc.cfg)
			require.Equal(t, tc.want, postSampleAuth(t, d, "kserve-v1-request.txt", tc.auth))
		})
	}
}

func TestCloudEventsTokenNeedsIngestToken(t *testing.T) {
	_, err := Load([]byte(cloudEventsCfg + "  require_bearer_token: true\n"))
	require.ErrorContains(t, err, "cloudevents.require_bearer_token: needs ingest.bearer_token")
}
