package yamlconf

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// envRE matches a ${VAR} reference.
var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// HasEnv reports whether s refers to an environment variable as ${VAR}.
func HasEnv(s string) bool { return envRE.MatchString(s) }

// ExpandEnv replaces ${VAR} with the environment's value; an unset variable is an error
// that names the variable (never the value).
func ExpandEnv(s string) (string, error) {
	var missing []string
	out := envRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}
