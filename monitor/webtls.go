package monitor

import (
	"fmt"
	"net"
	"os"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"
)

// checkWebConfig validates the --web.config.file (its certificate and key are read once
// here, so a wrong path fails at start, not on the first handshake) and reports whether
// it turns TLS on. An empty path is plain HTTP.
func checkWebConfig(path string) (bool, error) {
	if path == "" {
		return false, nil
	}
	if err := web.Validate(path); err != nil {
		return false, fmt.Errorf("web config %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("web config: %w", err)
	}
	var c struct {
		TLS struct {
			CertFile string `yaml:"cert_file"`
			Cert     string `yaml:"cert"`
		} `yaml:"tls_server_config"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return false, fmt.Errorf("web config %s: %w", path, err)
	}
	return c.TLS.CertFile != "" || c.TLS.Cert != "", nil
}

// serve serves the API on ln: plain HTTP, or as the web config says (TLS with the
// certificate re-read on each handshake, basic auth users) through Prometheus's
// exporter-toolkit.
func (m *Monitor) serve(ln net.Listener) error {
	if m.opts.WebConfigFile == "" {
		return m.server.Serve(ln)
	}
	addrs := []string{m.opts.ListenAddress}
	systemd := false
	return web.Serve(ln, m.server, &web.FlagConfig{
		WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &m.opts.WebConfigFile,
	}, m.logger.With("component", "web"))
}
