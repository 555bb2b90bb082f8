package monitor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 with the given serial
// to certPath and keyPath and returns it.
func writeSelfSigned(t *testing.T, certPath, keyPath string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "vigil test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return cert
}

// trusting is an HTTPS client that trusts only cert and opens a new connection (and so
// a new handshake) for every request.
func trusting(cert *x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
	}}
}

// TestTLSCertificateReloadedFromDisk: with --web.config.file vigil serves HTTPS only,
// and a certificate replaced on disk is served from the next handshake, without restart.
func TestTLSCertificateReloadedFromDisk(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeSelfSigned(t, certPath, keyPath, 1)
	webCfg := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: "+certPath+"\n  key_file: "+keyPath+"\n"), 0o600))
	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\nmodels: []\n"), 0o600))
	m, err := New(Options{ConfigFile: cfgPath, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(), WebConfigFile: webCfg})
	require.NoError(t, err)
	require.Equal(t, "https://127.0.0.1:0", m.opts.ExternalURL, "links in notifications use https")
	require.NoError(t, m.Start())
	defer func() { require.NoError(t, m.Stop(context.Background())) }()
	url := "https://" + m.Addr().String() + "/-/healthy"

	get := func(c *http.Client) (*http.Response, error) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := get(trusting(first))
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, int64(1), resp.TLS.PeerCertificates[0].SerialNumber.Int64())

	plain, err := http.Get("http://" + m.Addr().String() + "/-/healthy")
	require.NoError(t, err)
	plain.Body.Close()
	require.Equal(t, http.StatusBadRequest, plain.StatusCode, "plain HTTP is refused on a TLS listener")

	second := writeSelfSigned(t, certPath, keyPath, 2)
	resp, err = get(trusting(second))
	require.NoError(t, err, "the new certificate is served without a restart")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, int64(2), resp.TLS.PeerCertificates[0].SerialNumber.Int64())
	_, err = get(trusting(first))
	require.Error(t, err, "the replaced certificate is no longer served")
}

// TestWebConfigErrors: a web config that cannot serve fails New, naming the problem.
func TestWebConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\nmodels: []\n"), 0o600))
	for _, c := range []struct{ name, web, want string }{
		{"missing file", "", "no such file"},
		{"missing cert", "tls_server_config: {cert_file: nope.crt, key_file: nope.key}\n", "nope.crt"},
		{"unknown field", "tls_server_config: {certfile: x}\n", "certfile"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "web-"+c.name+".yml")
			if c.web != "" {
				require.NoError(t, os.WriteFile(path, []byte(c.web), 0o600))
			}
			_, err := New(Options{ConfigFile: cfgPath, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(), WebConfigFile: path})
			require.ErrorContains(t, err, c.want)
		})
	}
}
