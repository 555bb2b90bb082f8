package deploy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// tlsSecret is the Secret components/tls mounts; it is made outside git (cert-manager or
// kubectl, docs/deploy.md#tls).
const tlsSecret = "vigil-tls"

// tlsCAKey is the key of the CA certificate in a kubernetes.io/tls Secret, as cert-manager
// writes it.
const tlsCAKey = "ca.crt"

// tlsServerName is the name the ServiceMonitor verifies vigil's certificate under: the
// Service's name, the same in every namespace.
const tlsServerName = "vigil"

// inMemory copies deploy/kustomize into an in-memory file system at /kustomize, so a test
// can change an overlay without touching the tree.
func inMemory(t *testing.T) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir("kustomize", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+filepath.ToSlash(p), b)
	})
	require.NoError(t, err)
	return mem
}

// edit replaces old with new in the in-memory file p, which must contain old.
func edit(t *testing.T, mem filesys.FileSystem, p, old, replacement string) {
	t.Helper()
	b, err := mem.ReadFile(p)
	require.NoError(t, err)
	require.Contains(t, string(b), old, p)
	require.NoError(t, mem.WriteFile(p, []byte(strings.Replace(string(b), old, replacement, 1))))
}

// withTLS adds components/tls at the end of an overlay's components, as docs/deploy.md
// tells users to, and returns the overlay's directory.
func withTLS(t *testing.T, mem filesys.FileSystem, overlay string) string {
	t.Helper()
	dir := "/kustomize/overlays/" + overlay
	p := dir + "/kustomization.yaml"
	b, err := mem.ReadFile(p)
	require.NoError(t, err)
	var k map[string]any
	require.NoError(t, sigsyaml.Unmarshal(b, &k))
	comps, _ := k["components"].([]any)
	k["components"] = append(comps, "../../components/tls")
	b, err = sigsyaml.Marshal(k)
	require.NoError(t, err)
	require.NoError(t, mem.WriteFile(p, b))
	return dir
}

// TestTLSComponent renders the dev, prod and ha overlays with components/tls added and
// runs the overlays' checks on them, then the TLS checks: HTTPS probes on the served
// port, --web.config.file pointing at a mounted web config whose certificate and key are
// the mounted Secret's (not through subPath, which would stop certificate renewals), a
// web config exporter-toolkit accepts, and ServiceMonitors that scrape over verified
// https.
func TestTLSComponent(t *testing.T) {
	dec := newDecoder(t)
	for _, ov := range overlays {
		if ov.name == "sidecar" {
			continue // vigil is fed on 127.0.0.1 inside the pod: nothing to encrypt
		}
		t.Run(ov.name, func(t *testing.T) {
			mem := inMemory(t)
			o := renderFS(t, dec, mem, withTLS(t, mem, ov.name))
			kinds := map[string]int{}
			for _, obj := range o.all {
				m, err := metaOf(obj)
				require.NoError(t, err)
				kinds[m.kind]++
				if m.kind != "Namespace" {
					require.Equal(t, ov.namespace, m.namespace, "%s/%s", m.kind, m.name)
				}
			}
			want := maps.Clone(ov.wantKinds)
			want["ConfigMap"]++ // the web config
			require.Equal(t, want, kinds)
			external := append(slices.Clone(ov.externalSecrets), tlsSecret)
			for _, w := range o.workloads {
				checkWorkload(t, o, w, external)
			}
			checkSelectors(t, o)
			checkVigilConfigs(t, o)
			require.Equal(t, ov.wantKinds["ServiceMonitor"], len(o.serviceMonitors))
			require.Empty(t, tlsProblems(t, o))
		})
	}
}

// TestTLSComponentCatchesBreakage: each way of breaking components/tls, made in memory,
// is reported by tlsProblems.
func TestTLSComponentCatchesBreakage(t *testing.T) {
	dec := newDecoder(t)
	const comp = "/kustomize/components/tls/"
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, mem filesys.FileSystem)
		want   string
	}{
		{"component listed before prometheus-operator", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, "/kustomize/overlays/prod/kustomization.yaml",
				"- ../../components/prometheus-operator\n- ../../components/grafana-dashboards\n- ../../components/tls\n",
				"- ../../components/tls\n- ../../components/prometheus-operator\n- ../../components/grafana-dashboards\n")
		}, "ServiceMonitor vigil endpoint 0: scheme"},
		{"Secret mounted with subPath", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"workload.yaml", "mountPath: /etc/vigil/tls\n", "mountPath: /etc/vigil/tls/tls.crt\n              subPath: tls.crt\n")
		}, "subPath"},
		{"flag names an unmounted directory", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"kustomization.yaml", "/etc/vigil/web/web.yml", "/etc/vigil/webconfig/web.yml")
		}, "no volume is mounted at /etc/vigil/webconfig"},
		{"flag names a key the ConfigMap lacks", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"kustomization.yaml", "/etc/vigil/web/web.yml", "/etc/vigil/web/web.yaml")
		}, "has no key web.yaml"},
		{"liveness probe left on HTTP", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"workload.yaml", "          livenessProbe:\n            httpGet:\n              scheme: HTTPS\n", "")
		}, "liveness probe: scheme HTTP"},
		{"web config names a file the Secret lacks", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"web.yml", "/etc/vigil/tls/tls.crt", "/etc/vigil/tls/cert.pem")
		}, "cert.pem is not tls.crt"},
		{"web config field misspelt", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"web.yml", "min_version:", "minversion:")
		}, "field minversion not found"},
		{"another Secret mounted", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"workload.yaml", "secretName: vigil-tls", "secretName: vigil-cert")
		}, "is not in Secret vigil-tls: volume Secret vigil-cert"},
		{"ServiceMonitor without a server name", func(t *testing.T, mem filesys.FileSystem) {
			edit(t, mem, comp+"kustomization.yaml", "          serverName: vigil\n", "")
		}, "serverName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := inMemory(t)
			dir := withTLS(t, mem, "prod")
			tc.mutate(t, mem)
			problems := tlsProblems(t, renderFS(t, dec, mem, dir))
			require.NotEmpty(t, problems)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// tlsProblems lists what keeps an overlay rendered with components/tls from serving,
// probing and scraping over TLS.
func tlsProblems(t *testing.T, o *objects) []string {
	t.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, w := range o.workloads {
		spec := w.template.Spec
		volumes := map[string]corev1.Volume{}
		for _, v := range spec.Volumes {
			volumes[v.Name] = v
		}
		for _, c := range spec.Containers {
			if !vigilContainer(c) {
				continue
			}
			cw := w.kind + "/" + w.name + " container " + c.Name
			// volumeOf is the volume that holds file, mounted as its directory.
			volumeOf := func(file string) (corev1.Volume, bool) {
				for _, m := range c.VolumeMounts {
					if m.MountPath != file && m.MountPath != path.Dir(file) {
						continue
					}
					if m.SubPath != "" || m.SubPathExpr != "" {
						bad("%s: %s is mounted with subPath, which the kubelet never updates", cw, file)
					}
					v, ok := volumes[m.Name]
					if !ok {
						bad("%s: mount %s of undeclared volume %s", cw, m.MountPath, m.Name)
					}
					return v, ok
				}
				bad("%s: no volume is mounted at %s", cw, path.Dir(file))
				return corev1.Volume{}, false
			}

			var webFile string
			for _, a := range c.Args {
				if f, ok := strings.CutPrefix(a, "--web.config.file="); ok {
					if webFile != "" {
						bad("%s: --web.config.file given twice", cw)
					}
					webFile = f
				}
			}
			if webFile == "" {
				bad("%s: no --web.config.file in %v", cw, c.Args)
				continue
			}
			v, ok := volumeOf(webFile)
			if !ok {
				continue
			}
			if v.ConfigMap == nil {
				bad("%s: --web.config.file %s: volume %s is not a ConfigMap", cw, webFile, v.Name)
				continue
			}
			webYAML, ok := o.configMaps[v.ConfigMap.Name].Data[path.Base(webFile)]
			if !ok {
				bad("%s: --web.config.file %s: ConfigMap %s has no key %s", cw, webFile, v.ConfigMap.Name, path.Base(webFile))
				continue
			}
			problems = append(problems, webConfigProblems(t, cw, webYAML, volumeOf)...)

			listen := ""
			for _, a := range c.Args {
				if p, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
					_, listen, _ = strings.Cut(p, ":")
				}
			}
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
			}{{"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}, {"startup", c.StartupProbe}} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					continue
				}
				g := p.probe.HTTPGet
				if g.Scheme != corev1.URISchemeHTTPS {
					bad("%s: %s probe: scheme %s, want HTTPS", cw, p.name, orHTTP(g.Scheme))
				}
				if port := containerPort(c, g.Port); fmt.Sprint(port) != listen {
					bad("%s: %s probe: port %s is container port %d, vigil listens on %q", cw, p.name, g.Port.String(), port, listen)
				}
			}
		}
	}
	for _, s := range o.services {
		for _, p := range s.Spec.Ports {
			if p.AppProtocol == nil || *p.AppProtocol != "https" {
				bad("Service %s port %s: appProtocol %v, want https", s.Name, p.Name, p.AppProtocol)
			}
		}
	}
	for _, sm := range o.serviceMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		require.NoError(t, err)
		var names []string
		for _, s := range o.services {
			if sel.Matches(labels.Set(s.Labels)) {
				names = append(names, s.Name)
			}
		}
		for i, e := range sm.Spec.Endpoints {
			where := fmt.Sprintf("ServiceMonitor %s endpoint %d", sm.Name, i)
			if scheme := "http (unset)"; e.Scheme == nil || !strings.EqualFold(string(*e.Scheme), "https") {
				if e.Scheme != nil {
					scheme = string(*e.Scheme)
				}
				bad("%s: scheme %s, want https", where, scheme)
			}
			tc := e.TLSConfig
			switch {
			case tc == nil:
				bad("%s: no tlsConfig", where)
			case tc.InsecureSkipVerify != nil && *tc.InsecureSkipVerify:
				bad("%s: insecureSkipVerify", where)
			case tc.CA.Secret == nil || tc.CA.Secret.Name != tlsSecret || tc.CA.Secret.Key != tlsCAKey:
				bad("%s: ca %+v, want key %s of Secret %s", where, tc.CA, tlsCAKey, tlsSecret)
			case tc.ServerName == nil || *tc.ServerName != tlsServerName || !slices.Contains(names, *tc.ServerName):
				bad("%s: serverName %v, want %q, the name of a Service it scrapes (%v)", where, tc.ServerName, tlsServerName, names)
			}
		}
	}
	return problems
}

// webConfigProblems checks the web config: its certificate and key are the tls.crt and
// tls.key of the mounted Secret vigil-tls, and exporter-toolkit accepts it (strictly)
// with a real certificate and key in their place.
func webConfigProblems(t *testing.T, where, webYAML string, volumeOf func(string) (corev1.Volume, bool)) []string {
	t.Helper()
	var problems []string
	var c struct {
		TLS struct {
			CertFile string `json:"cert_file"`
			KeyFile  string `json:"key_file"`
		} `json:"tls_server_config"`
	}
	if err := sigsyaml.Unmarshal([]byte(webYAML), &c); err != nil {
		return []string{fmt.Sprintf("%s: web config: %v", where, err)}
	}
	dir := t.TempDir()
	writeKeyPair(t, filepath.Join(dir, corev1.TLSCertKey), filepath.Join(dir, corev1.TLSPrivateKeyKey))
	local := webYAML
	for _, f := range []struct{ file, key string }{{c.TLS.CertFile, corev1.TLSCertKey}, {c.TLS.KeyFile, corev1.TLSPrivateKeyKey}} {
		if path.Base(f.file) != f.key {
			problems = append(problems, fmt.Sprintf("%s: web config: %s is not %s, a key of a kubernetes.io/tls Secret", where, f.file, f.key))
		}
		if v, ok := volumeOf(f.file); ok && (v.Secret == nil || v.Secret.SecretName != tlsSecret) {
			problems = append(problems, fmt.Sprintf("%s: web config: %s is not in Secret %s: volume %s", where, f.file, tlsSecret, describeVolume(v)))
		}
		local = strings.ReplaceAll(local, f.file, filepath.Join(dir, path.Base(f.file)))
	}
	p := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(p, []byte(local), 0o600))
	if err := web.Validate(p); err != nil {
		problems = append(problems, fmt.Sprintf("%s: web config: %v", where, err))
	}
	return problems
}

func describeVolume(v corev1.Volume) string {
	if v.Secret != nil {
		return "Secret " + v.Secret.SecretName
	}
	return v.Name + " is not a Secret"
}

func orHTTP(s corev1.URIScheme) corev1.URIScheme {
	if s == "" {
		return corev1.URISchemeHTTP
	}
	return s
}

// containerPort is the number of a named or numbered port of c, or 0.
func containerPort(c corev1.Container, port intstr.IntOrString) int32 {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort
		}
	}
	return 0
}

// writeKeyPair writes a self-signed certificate and its key as PEM, as they would be in
// a kubernetes.io/tls Secret.
func writeKeyPair(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: tlsServerName},
		DNSNames:     []string{tlsServerName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
}
