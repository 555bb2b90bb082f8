package files

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ImportOptions configure a one-shot import of a file into a running vigil.
type ImportOptions struct {
	// URL is vigil's base URL, e.g. http://localhost:9780.
	URL string
	// Labels sends to /api/v1/labels instead of /api/v1/predictions.
	Labels bool
	// CSV reads the input as CSV with a header line (see CSVToNDJSON); else NDJSON.
	CSV bool
	// BatchLines is how many records one request carries; default 5000.
	BatchLines  int
	BearerToken string
	Client      *http.Client
	// MaxRetries bounds the retries of one batch answered 429 or unreachable; default 10.
	MaxRetries int
}

// ImportResult counts what vigil answered.
type ImportResult struct {
	Records, Accepted, Rejected int
	// Errors are the first rejected records' reasons, as vigil named them.
	Errors []string
}

// Import sends every record of r to vigil in batches, waiting as vigil's Retry-After says
// when it answers 429, and returns the sums of its answers.
func Import(ctx context.Context, r io.Reader, o ImportOptions) (ImportResult, error) {
	if o.BatchLines <= 0 {
		o.BatchLines = 5000
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: time.Minute}
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 10
	}
	path := "/api/v1/predictions"
	if o.Labels {
		path = "/api/v1/labels"
	}
	target := strings.TrimSuffix(o.URL, "/") + path
	var res ImportResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxChunk)
	var header []string
	if o.CSV {
		if !sc.Scan() {
			return res, fmt.Errorf("csv: no header line: %w", sc.Err())
		}
		var err error
		if header, err = parseCSVLine(sc.Text()); err != nil {
			return res, fmt.Errorf("csv header: %w", err)
		}
	}
	var batch bytes.Buffer
	lines := 0
	flush := func() error {
		if lines == 0 {
			return nil
		}
		body := batch.Bytes()
		if o.CSV {
			var err error
			if body, err = CSVToNDJSON(header, body, o.Labels); err != nil {
				return fmt.Errorf("csv near record %d: %w", res.Records+1, err)
			}
		}
		if err := o.post(ctx, target, body, &res); err != nil {
			return err
		}
		res.Records += lines
		batch.Reset()
		lines = 0
		return nil
	}
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		batch.Write(sc.Bytes())
		batch.WriteByte('\n')
		lines++
		if lines >= o.BatchLines {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read input: %w", err)
	}
	return res, flush()
}

func parseCSVLine(s string) ([]string, error) {
	rec, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return nil, err
	}
	if len(rec) == 0 || (len(rec) == 1 && rec[0] == "") {
		return nil, errEmptyHeader
	}
	return rec, nil
}

func (o *ImportOptions) post(ctx context.Context, target string, body []byte, res *ImportResult) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		if o.BearerToken != "" {
			req.Header.Set("Authorization", "Bearer "+o.BearerToken)
		}
		resp, err := o.Client.Do(req)
		wait := time.Second
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusBadRequest && bytes.Contains(b, []byte(`"accepted"`)):
				var ir struct {
					Accepted, Rejected int
					Errors             []struct{ Error string }
				}
				if err := json.Unmarshal(b, &ir); err != nil {
					return fmt.Errorf("vigil's answer: %w", err)
				}
				res.Accepted += ir.Accepted
				res.Rejected += ir.Rejected
				for _, e := range ir.Errors {
					if len(res.Errors) < 20 {
						res.Errors = append(res.Errors, e.Error)
					}
				}
				return nil
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
				if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
					wait = time.Duration(s) * time.Second
				}
				err = fmt.Errorf("%s", resp.Status)
			default:
				return fmt.Errorf("vigil answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
			}
		}
		if attempt >= o.MaxRetries {
			return fmt.Errorf("gave up after %d retries: %w", attempt, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

var errEmptyHeader = errors.New("empty header")
