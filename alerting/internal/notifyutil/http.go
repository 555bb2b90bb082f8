package notifyutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilml/vigil/alerting"
)

// MaxErrorBody bounds how much of a peer's answer an error quotes.
const MaxErrorBody = 1 << 10

// maxRecordedBody bounds how much of a failed answer is read at all.
const maxRecordedBody = 64 << 10

// WithTimeout returns c, or a copy of it with timeout d when it has none (or a new
// client when c is nil): a peer that never answers must not hold a delivery forever.
// The caller's client is never changed.
func WithTimeout(c *http.Client, d time.Duration) *http.Client {
	if c == nil {
		return &http.Client{Timeout: d}
	}
	if c.Timeout > 0 {
		return c
	}
	cc := *c
	cc.Timeout = d
	return &cc
}

// Exchange is what a RecordingClient saw of one request: client libraries' errors keep
// neither the peer's error text nor Retry-After in HTTP-date form.
type Exchange struct {
	// Status is the answer's status code; 0 when the request was never answered.
	Status int
	Header http.Header
	// Body is the start of the body of an answer with a status of 300 or more.
	Body []byte
	// Err is the transport's error (the request was sent but not answered).
	Err error
}

type exchangeKey struct{}

// Record returns a context for one request and the Exchange that a RecordingClient
// fills in for a request made with it.
func Record(ctx context.Context) (context.Context, *Exchange) {
	x := &Exchange{}
	return context.WithValue(ctx, exchangeKey{}, x), x
}

type recorder struct{ next http.RoundTripper }

// RoundTrip records the status, headers and the start of a failed response's body for the
// request's Exchange, when the request carries one.
func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	x, _ := req.Context().Value(exchangeKey{}).(*Exchange)
	if x == nil {
		return resp, err
	}
	if err != nil {
		x.Err = err
		return resp, err
	}
	x.Status, x.Header = resp.StatusCode, resp.Header
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxRecordedBody))
		_ = resp.Body.Close()
		x.Body = b
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// RecordingClient returns a copy of c whose transport records each exchange made with a
// context from Record, for a client library to be given.
func RecordingClient(c *http.Client) *http.Client {
	cc := *c
	next := cc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc.Transport = recorder{next: next}
	return &cc
}

// NewJSONRequest returns a POST of body as JSON to url, as vigil.
func NewJSONRequest(ctx context.Context, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil")
	return req, nil
}

// Drain reads what is left of a response's body (bounded), so that the connection can
// be reused, and closes it.
func Drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxRecordedBody))
	_ = resp.Body.Close()
}

// RetryableStatus reports whether an answer with this status is worth another try: 429
// and 5xx.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// Check classifies an HTTP answer: 2xx is success (nil); 429 and 5xx are retryable after
// the peer's Retry-After; anything else is permanent. The error reads "<prefix>: <status
// line>: <the peer's text>", redacted by r.
func (r Redactor) Check(prefix string, resp *http.Response, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody+1))
	err := r.Error(prefix, fmt.Errorf("%s%s", resp.Status, BodyText(b)))
	if RetryableStatus(code) {
		return alerting.Retryable(err, RetryAfter(resp.Header, now))
	}
	return err
}

// BodyText is ": <peer's text>", trimmed and bounded, or "".
func BodyText(b []byte) string {
	return Bounded(strings.TrimSpace(strings.ToValidUTF8(string(b), "�")))
}

// Bounded is ": s", cut after MaxErrorBody bytes, or "" for an empty s.
func Bounded(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > MaxErrorBody {
		s = s[:MaxErrorBody] + "…"
	}
	return ": " + s
}

// RetryAfter reads a Retry-After header, in seconds or as an HTTP date (relative to
// now); 0 when absent, past or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}
