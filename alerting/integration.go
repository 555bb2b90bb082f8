package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// IntegrationBuilder builds the Notifier for one entry of a receiver's <kind>_configs
// list. decode decodes the entry strictly into the integration's own config type
// (unknown keys are errors that name their line); the builder is passed explicitly to
// ApplyConfig and BuildReceivers, there is no registration.
type IntegrationBuilder func(kind string, decode func(any) error) (Notifier, error)

// Builders maps integration kinds to their build functions; its Build method is an
// IntegrationBuilder, e.g.
//
//	alerting.Builders{
//		alerting.KindSlack:   slack.Build,
//		alerting.KindConsole: alerting.BuildConsole(os.Stdout),
//	}.Build
type Builders map[string]func(decode func(any) error) (Notifier, error)

// Build builds an integration of the given kind; an unknown kind is an error.
func (b Builders) Build(kind string, decode func(any) error) (Notifier, error) {
	f, ok := b[kind]
	if !ok {
		kinds := make([]string, 0, len(b))
		for k := range b {
			kinds = append(kinds, k+"_configs")
		}
		slices.Sort(kinds)
		return nil, fmt.Errorf("%s_configs is not supported by this build (supported: %s)", kind, strings.Join(kinds, ", "))
	}
	return f(decode)
}

// Integration is one built entry of a receiver's <kind>_configs list.
type Integration struct {
	Receiver string
	Kind     string
	Index    int
	Notifier Notifier
}

// name is the integration's identity within its receiver, "slack/0".
func (i *Integration) name() string { return fmt.Sprintf("%s/%d", i.Kind, i.Index) }

// BuildReceivers builds every integration of every receiver with build, and reports
// every failure (joined), each naming its receiver entry and line. `vigil check config`
// uses it to find integration errors before a reload would.
func BuildReceivers(cfg *Config, build IntegrationBuilder) ([]Integration, error) {
	var out []Integration
	var errs []error
	for i, r := range cfg.Receivers {
		for _, ic := range r.Integrations {
			n, err := build(ic.Kind, ic.Decode)
			if err == nil && n == nil {
				err = errors.New("the builder returned no notifier")
			}
			if err != nil {
				fe := &FieldError{Field: fmt.Sprintf("receivers[%d].%s_configs[%d]", i, ic.Kind, ic.Index), Err: err}
				if !strings.HasPrefix(err.Error(), "line ") {
					fe.Line = ic.Line()
				}
				errs = append(errs, fe)
				continue
			}
			out = append(out, Integration{Receiver: r.Name, Kind: ic.Kind, Index: ic.Index, Notifier: n})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
