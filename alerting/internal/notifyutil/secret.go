package notifyutil

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// Mask is what a secret shows instead of its value.
const Mask = "<secret>"

// Secret is a config value that must never be shown: it prints, marshals and logs as
// "<secret>". Reveal returns the value where it is used.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mask
}

// GoString implements fmt.GoStringer, so %#v hides it too.
func (s Secret) GoString() string { return s.String() }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// HasEnv reports whether s refers to an environment variable as ${VAR}: its value is
// only known once New expands it, so validation leaves it alone.
func HasEnv(s string) bool { return yamlconf.HasEnv(s) }

// ExpandEnv replaces ${VAR} with the environment's value (yamlconf.ExpandEnv).
func ExpandEnv(s string) (string, error) { return yamlconf.ExpandEnv(s) }

// ResolveSecret returns the value of the secret field named field or of its *_file twin
// (a path relative to baseDir, trimmed), with ${ENV} expanded in the inline form. Errors
// name the field, never the value.
func ResolveSecret(field string, inline Secret, file, baseDir string) (string, error) {
	if file != "" {
		if !filepath.IsAbs(file) {
			file = filepath.Join(baseDir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", field, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s_file: file %s is empty", field, file)
		}
		return v, nil
	}
	v, err := ExpandEnv(string(inline))
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	if v == "" {
		return "", fmt.Errorf("%s: is empty", field)
	}
	return v, nil
}

// CheckSecretURL checks that s, a URL that is a secret, is an absolute http(s) URL,
// without ever quoting it.
func CheckSecretURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("is not an absolute http(s) URL (value not shown: it is a secret)")
	}
	return nil
}
