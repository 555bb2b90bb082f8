package monitor

import (
	"context"

	"github.com/vigilml/vigil/monitor/event"
)

// IngestBodyError is returned by Ingest for a body with nothing usable in it.
type IngestBodyError struct {
	// Status is the HTTP status the API would answer with (400, 404).
	Status int
	Msg    string
}

func (e *IngestBodyError) Error() string { return e.Msg }

// Kind says whether a body holds predictions or labels.
type Kind = eventKind

// The kinds of record a body holds.
const (
	KindPrediction Kind = kindPrediction
	KindLabel      Kind = kindLabel
)

// Ingest applies a body of prediction or label records (JSON or NDJSON, the format of
// POST /api/v1/predictions) through exactly the path the HTTP API uses: the same decoder
// and limits, the same validation, counting and windows. Sources (CloudEvents, Kafka) feed
// vigil through it. It waits for one of ingest.max_inflight_requests slots, which is the
// sources' back-pressure, and returns once every accepted record is in its model's windows.
// The response names the rejected records; an error means the body as a whole was refused
// (*IngestBodyError) or ctx ended while waiting.
func (m *Monitor) Ingest(ctx context.Context, kind Kind, body []byte, f event.Format) (*IngestResponse, error) {
	st := m.state.Load()
	select {
	case st.inflight <- struct{}{}:
		defer func() { <-st.inflight }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	resp, status, msg := m.apply(ctx, st, kind, body, f, "")
	if msg != "" {
		return nil, &IngestBodyError{Status: status, Msg: msg}
	}
	return resp, nil
}
