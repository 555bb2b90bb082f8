package notifyutil

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// Redactor replaces secrets in error text, in the order they were added. The zero value
// replaces nothing.
type Redactor struct {
	pairs []string // (secret, shown instead) pairs
}

// NewRedactor returns a Redactor that shows each of secrets as <secret>.
func NewRedactor(secrets ...string) Redactor {
	var r Redactor
	for _, s := range secrets {
		r.pairs = append(r.pairs, s, Mask)
	}
	return r
}

// WithURL returns a copy of r that also hides the URL s, a secret, in every form in
// which it may appear in an error: whole (shown as scheme://host/<secret>), its path and
// query, its query, its credentials and its password.
func (r Redactor) WithURL(s string) Redactor {
	out := Redactor{pairs: append([]string(nil), r.pairs...)}
	u, err := url.Parse(s)
	if err != nil {
		out.pairs = append(out.pairs, s, Mask)
		return out
	}
	out.pairs = append(out.pairs, s, u.Scheme+"://"+u.Host+"/"+Mask)
	if p := u.RequestURI(); len(p) > 1 {
		out.pairs = append(out.pairs, strings.TrimPrefix(p, "/"), Mask)
	}
	if u.RawQuery != "" {
		out.pairs = append(out.pairs, u.RawQuery, Mask)
	}
	if u.User != nil {
		out.pairs = append(out.pairs, u.User.String(), Mask)
		if pw, ok := u.User.Password(); ok && pw != "" {
			out.pairs = append(out.pairs, pw, Mask)
		}
	}
	return out
}

// Redact returns s with every secret replaced.
func (r Redactor) Redact(s string) string {
	for i := 0; i+1 < len(r.pairs); i += 2 {
		if r.pairs[i] != "" {
			s = strings.ReplaceAll(s, r.pairs[i], r.pairs[i+1])
		}
	}
	return s
}

// Error returns "<prefix>: <err>" with every secret replaced, as an error that unwraps
// only to the context error behind err (see Opaque).
func (r Redactor) Error(prefix string, err error) error {
	return Opaque(r.Redact(prefix+": "+err.Error()), err)
}

// Opaque returns an error with the text msg that unwraps only to the context error
// behind from (context.Canceled or context.DeadlineExceeded), if any, and never to from
// itself, whose text may hold a secret.
func Opaque(msg string, from error) error {
	return &opaqueError{msg: msg, cause: ContextErr(from)}
}

type opaqueError struct {
	msg   string
	cause error
}

// Error returns the message.
func (e *opaqueError) Error() string { return e.msg }

// Unwrap returns the context error behind the failure, if any.
func (e *opaqueError) Unwrap() error { return e.cause }

// ContextErr returns context.Canceled or context.DeadlineExceeded when err is one of
// them, else nil.
func ContextErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

// TransportError rewrites a *url.Error as "<op> <url>: <cause>" without the client
// library's wrapping; when hideURL is set (the URL is a secret) only its scheme and host
// are shown, else the URL without its password. Other errors are returned as they are.
func TransportError(err error, hideURL bool) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		where := "(url not shown)"
		switch {
		case perr == nil && !hideURL:
			where = u.Redacted()
		case perr == nil && u.Host != "":
			where = u.Scheme + "://" + u.Host + "/" + Mask
		}
		return Opaque(ue.Op+" "+where+": "+ue.Err.Error(), err)
	}
	return err
}
