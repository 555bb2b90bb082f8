package deploy_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/vigilml/vigil/monitor"
)

// overlays are every kustomize overlay with what it must hold, and the Secrets it expects
// to be created outside git (docs/deploy.md says how).
var overlays = []struct {
	name            string
	namespace       string
	wantKinds       map[string]int
	externalSecrets []string
}{
	{name: "dev", namespace: "vigil-dev", wantKinds: map[string]int{
		"Namespace": 1, "ServiceAccount": 1, "ConfigMap": 5, "Secret": 1, "Deployment": 1, "Service": 1,
		"PersistentVolumeClaim": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1,
	}},
	{name: "prod", namespace: "vigil", externalSecrets: []string{"vigil-notifiers"}, wantKinds: map[string]int{
		"Namespace": 1, "ServiceAccount": 1, "ConfigMap": 5, "Deployment": 1, "Service": 1,
		"PersistentVolumeClaim": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1,
		"ServiceMonitor": 1, "PrometheusRule": 1,
	}},
	{name: "sidecar", namespace: "models", wantKinds: map[string]int{
		"ServiceAccount": 1, "ConfigMap": 1, "Secret": 1, "Deployment": 1, "Service": 1,
	}},
	{name: "ha", namespace: "vigil", wantKinds: map[string]int{
		"Namespace": 1, "ServiceAccount": 1, "ConfigMap": 5, "StatefulSet": 1, "Service": 2,
		"PodDisruptionBudget": 1, "NetworkPolicy": 1, "ServiceMonitor": 1, "PrometheusRule": 1,
	}},
}

// objects is one rendered overlay, decoded into the Kubernetes and Prometheus Operator types.
type objects struct {
	all             []runtime.Object
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	services        []*corev1.Service
	pvcs            map[string]bool
	serviceAccounts map[string]bool
	workloads       []workload
	pdbs            []*policyv1.PodDisruptionBudget
	netpols         []*networkingv1.NetworkPolicy
	serviceMonitors []*monitoringv1.ServiceMonitor
	prometheusRules []*monitoringv1.PrometheusRule
}

// workload is a Deployment or StatefulSet, reduced to what the cross-checks need.
type workload struct {
	kind, name string
	replicas   int32
	selector   *metav1.LabelSelector
	template   corev1.PodTemplateSpec
	claims     []string // volumeClaimTemplates
}

func newDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		require.NoError(t, add(scheme))
	}
	// Strict: an unknown or duplicate field is an error, as with kubectl --validate=strict.
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// render builds an overlay with the kustomize API, as `kubectl apply -k` would, and decodes
// every object strictly.
func render(t *testing.T, dec runtime.Decoder, overlay string) *objects {
	t.Helper()
	return renderFS(t, dec, filesys.MakeFsOnDisk(), filepath.Join("kustomize", "overlays", overlay))
}

// renderFS is render for the kustomization in dir of fSys.
func renderFS(t *testing.T, dec runtime.Decoder, fSys filesys.FileSystem, dir string) *objects {
	t.Helper()
	overlay := filepath.Base(dir)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(fSys, dir)
	require.NoError(t, err, "kustomize build %s", dir)
	o := &objects{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, pvcs: map[string]bool{}, serviceAccounts: map[string]bool{}}
	for _, r := range resMap.Resources() {
		y, err := r.AsYAML()
		require.NoError(t, err)
		obj, _, err := dec.Decode(y, nil, nil)
		require.NoError(t, err, "decode %s/%s:\n%s", r.GetKind(), r.GetName(), y)
		o.all = append(o.all, obj)
		switch v := obj.(type) {
		case *corev1.ConfigMap:
			o.configMaps[v.Name] = v
		case *corev1.Secret:
			o.secrets[v.Name] = v
		case *corev1.Service:
			o.services = append(o.services, v)
		case *corev1.PersistentVolumeClaim:
			o.pvcs[v.Name] = true
		case *corev1.ServiceAccount:
			o.serviceAccounts[v.Name] = true
		case *appsv1.Deployment:
			o.workloads = append(o.workloads, workload{kind: "Deployment", name: v.Name, replicas: *v.Spec.Replicas, selector: v.Spec.Selector, template: v.Spec.Template})
		case *appsv1.StatefulSet:
			w := workload{kind: "StatefulSet", name: v.Name, replicas: *v.Spec.Replicas, selector: v.Spec.Selector, template: v.Spec.Template}
			for _, c := range v.Spec.VolumeClaimTemplates {
				w.claims = append(w.claims, c.Name)
			}
			o.workloads = append(o.workloads, w)
		case *policyv1.PodDisruptionBudget:
			o.pdbs = append(o.pdbs, v)
		case *networkingv1.NetworkPolicy:
			o.netpols = append(o.netpols, v)
		case *monitoringv1.ServiceMonitor:
			o.serviceMonitors = append(o.serviceMonitors, v)
		case *monitoringv1.PrometheusRule:
			o.prometheusRules = append(o.prometheusRules, v)
		case *corev1.Namespace:
		default:
			t.Fatalf("%s: unexpected object %T", overlay, obj)
		}
	}
	return o
}

func TestStrictDecoderRejects(t *testing.T) {
	dec := newDecoder(t)
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 1, tragetPort: 2}]}\n", `unknown field "spec.ports[0].tragetPort"`},
		{"duplicate field", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountServiceAccountToken: false\nautomountServiceAccountToken: true\n", "already set"},
		{"unknown field in a Prometheus Operator type", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\nspec: {selector: {}, endpoints: [{port: http, intervall: 30s}]}\n", `unknown field "spec.endpoints[0].intervall"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := dec.Decode([]byte(tc.yaml), nil, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestOverlays(t *testing.T) {
	dec := newDecoder(t)
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			o := render(t, dec, ov.name)
			kinds := map[string]int{}
			for _, obj := range o.all {
				m, err := metaOf(obj)
				require.NoError(t, err)
				kinds[obj.GetObjectKind().GroupVersionKind().Kind]++
				if m.kind != "Namespace" {
					require.Equal(t, ov.namespace, m.namespace, "%s/%s", m.kind, m.name)
				}
			}
			require.Equal(t, ov.wantKinds, kinds)
			require.NotEmpty(t, o.workloads)
			for _, w := range o.workloads {
				checkWorkload(t, o, w, ov.externalSecrets)
			}
			checkSelectors(t, o)
			checkVigilConfigs(t, o)
		})
	}
}

type meta struct{ kind, name, namespace string }

func metaOf(obj runtime.Object) (meta, error) {
	a, ok := obj.(metav1.Object)
	if !ok {
		return meta{}, fmt.Errorf("%T has no metadata", obj)
	}
	return meta{obj.GetObjectKind().GroupVersionKind().Kind, a.GetName(), a.GetNamespace()}, nil
}

// vigilContainer reports whether a container runs vigil's image.
func vigilContainer(c corev1.Container) bool {
	return strings.HasPrefix(c.Image, "ghcr.io/vigilml/vigil:")
}

func checkWorkload(t *testing.T, o *objects, w workload, external []string) {
	t.Helper()
	where := w.kind + "/" + w.name
	sel, err := metav1.LabelSelectorAsSelector(w.selector)
	require.NoError(t, err)
	require.False(t, sel.Empty(), "%s: empty selector", where)
	require.True(t, sel.Matches(labels.Set(w.template.Labels)), "%s: selector %s does not match the pod labels %v", where, sel, w.template.Labels)

	spec := w.template.Spec
	// Restricted Pod Security Standard, and a read-only root filesystem on top.
	psc := spec.SecurityContext
	require.NotNil(t, psc, where)
	require.True(t, psc.RunAsNonRoot != nil && *psc.RunAsNonRoot, "%s: runAsNonRoot", where)
	require.Equal(t, int64(65532), *psc.RunAsUser, where)
	require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type, where)
	require.False(t, spec.HostNetwork || spec.HostPID || spec.HostIPC, where)
	require.False(t, spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken, "%s: the service account token is mounted", where)
	require.True(t, o.serviceAccounts[spec.ServiceAccountName], "%s: no ServiceAccount %q", where, spec.ServiceAccountName)

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		require.Nil(t, v.HostPath, "%s: hostPath volume %s", where, v.Name)
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			require.Contains(t, o.configMaps, v.ConfigMap.Name, "%s: volume %s names a ConfigMap that is not rendered", where, v.Name)
		case v.Secret != nil:
			if !slices.Contains(external, v.Secret.SecretName) {
				require.Contains(t, o.secrets, v.Secret.SecretName, "%s: volume %s names a Secret that is not rendered", where, v.Name)
			}
		case v.PersistentVolumeClaim != nil:
			require.True(t, o.pvcs[v.PersistentVolumeClaim.ClaimName], "%s: no PersistentVolumeClaim %q", where, v.PersistentVolumeClaim.ClaimName)
		}
	}
	for _, c := range w.claims {
		volumes[c] = corev1.Volume{Name: c}
	}

	sawVigil := false
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		cw := where + " container " + c.Name
		name, tag, ok := strings.Cut(c.Image, ":")
		require.True(t, ok && tag != "" && tag != "latest" && !strings.Contains(tag, "/"), "%s: image %q is not pinned to a tag", cw, c.Image)
		require.NotEmpty(t, name)
		require.Equal(t, corev1.PullPolicy(""), c.ImagePullPolicy, "%s: leave imagePullPolicy to the pinned tag", cw)
		sc := c.SecurityContext
		require.NotNil(t, sc, cw)
		require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation", cw)
		require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", cw)
		require.True(t, sc.Privileged == nil || !*sc.Privileged, cw)
		require.NotNil(t, sc.Capabilities, cw)
		require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, cw)
		require.Empty(t, sc.Capabilities.Add, cw)
		require.NotNil(t, c.Resources.Requests.Memory(), cw)
		require.False(t, c.Resources.Limits.Memory().IsZero(), "%s: no memory limit", cw)
		for _, m := range c.VolumeMounts {
			require.Contains(t, volumes, m.Name, "%s: mount of undeclared volume", cw)
		}
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p != nil && p.HTTPGet != nil {
				requirePort(t, c, p.HTTPGet.Port, cw+" probe "+p.HTTPGet.Path)
			}
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				require.Contains(t, o.configMaps, e.ConfigMapRef.Name, cw)
			}
			if e.SecretRef != nil && !slices.Contains(external, e.SecretRef.Name) {
				require.Contains(t, o.secrets, e.SecretRef.Name, cw)
			}
		}
		if !vigilContainer(c) {
			continue
		}
		sawVigil = true
		require.NotNil(t, c.LivenessProbe, cw)
		require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path, cw)
		require.NotNil(t, c.ReadinessProbe, cw)
		require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, cw)
		require.Equal(t, "run", c.Args[0], cw)
		// The state directory is a mounted volume, as the root filesystem is read-only.
		var mountedState bool
		for _, m := range c.VolumeMounts {
			mountedState = mountedState || m.MountPath == "/var/lib/vigil"
		}
		require.True(t, mountedState, "%s: /var/lib/vigil is not a volume", cw)
	}
	require.True(t, sawVigil, "%s runs no vigil container", where)
	if w.kind == "Deployment" && w.replicas == 1 && slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.PersistentVolumeClaim != nil }) {
		require.Len(t, o.pvcs, 1)
	}
}

// requirePort checks that a probe's or Service's port names or numbers a container port.
func requirePort(t *testing.T, c corev1.Container, port intstr.IntOrString, where string) {
	t.Helper()
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return
		}
	}
	t.Fatalf("%s: port %s is not a port of container %s", where, port.String(), c.Name)
}

// checkSelectors checks that every Service, PodDisruptionBudget, NetworkPolicy and
// ServiceMonitor selects what it is meant to, on ports that exist.
func checkSelectors(t *testing.T, o *objects) {
	t.Helper()
	podsOf := func(sel labels.Selector) []workload {
		var ws []workload
		for _, w := range o.workloads {
			if sel.Matches(labels.Set(w.template.Labels)) {
				ws = append(ws, w)
			}
		}
		return ws
	}
	for _, s := range o.services {
		require.NotEmpty(t, s.Spec.Selector, "Service %s selects nothing", s.Name)
		ws := podsOf(labels.SelectorFromSet(s.Spec.Selector))
		require.NotEmpty(t, ws, "Service %s selects no pods", s.Name)
		for _, w := range ws {
			for _, p := range s.Spec.Ports {
				found := false
				for _, c := range w.template.Spec.Containers {
					for _, cp := range c.Ports {
						found = found || (p.TargetPort.Type == intstr.String && cp.Name == p.TargetPort.StrVal) ||
							(p.TargetPort.Type == intstr.Int && cp.ContainerPort == p.TargetPort.IntVal)
					}
				}
				require.True(t, found, "Service %s port %s: target %s is not a port of %s", s.Name, p.Name, p.TargetPort.String(), w.name)
			}
		}
	}
	for _, p := range o.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		require.NoError(t, err)
		require.False(t, sel.Empty())
		require.NotEmpty(t, podsOf(sel), "PodDisruptionBudget %s selects no pods", p.Name)
	}
	for _, np := range o.netpols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		require.NoError(t, err)
		require.False(t, sel.Empty(), "NetworkPolicy %s selects every pod in the namespace", np.Name)
		ws := podsOf(sel)
		require.NotEmpty(t, ws, "NetworkPolicy %s selects no pods", np.Name)
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				requirePort(t, ws[0].template.Spec.Containers[0], *p.Port, "NetworkPolicy "+np.Name)
			}
		}
	}
	for _, sm := range o.serviceMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		require.NoError(t, err)
		var matched int
		for _, s := range o.services {
			if !sel.Matches(labels.Set(s.Labels)) {
				continue
			}
			matched++
			require.Equal(t, "vigil", s.Labels[sm.Spec.JobLabel], "ServiceMonitor %s: job label", sm.Name)
			for _, e := range sm.Spec.Endpoints {
				require.True(t, slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }),
					"ServiceMonitor %s: Service %s has no port %s", sm.Name, s.Name, e.Port)
			}
		}
		// Two selected Services over the same pods (the ha overlay's headless one) would
		// scrape every pod twice and double every sum of the alerts and dashboards.
		require.Equal(t, 1, matched, "ServiceMonitor %s must select exactly one Service", sm.Name)
	}
}

// checkVigilConfigs loads every vigil.yaml the overlay ships with vigil's own config
// loader, with the secret files it names taken from the rendered Secret.
func checkVigilConfigs(t *testing.T, o *objects) {
	t.Helper()
	var n int
	for name, cm := range o.configMaps {
		data, ok := cm.Data["vigil.yaml"]
		if !ok {
			continue
		}
		n++
		root := t.TempDir()
		cfg := strings.ReplaceAll(data, "/etc/vigil/", root+"/")
		for _, sec := range o.secrets {
			for key, val := range sec.Data {
				p := filepath.Join(root, "secrets", key)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
				require.NoError(t, os.WriteFile(p, val, 0o600))
			}
		}
		if len(o.secrets) == 0 {
			// Secrets made outside git: the config's references still need files to load.
			for _, line := range strings.Split(data, "\n") {
				if _, after, ok := strings.Cut(line, "/etc/vigil/secrets/"); ok {
					p := filepath.Join(root, "secrets", strings.TrimSpace(after))
					require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
					require.NoError(t, os.WriteFile(p, []byte("https://placeholder.invalid/0123456789abcdef"), 0o600))
				}
			}
		}
		p := filepath.Join(root, "config", "vigil.yaml")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(cfg), 0o600))
		_, err := monitor.LoadFile(p)
		require.NoError(t, err, "ConfigMap %s: vigil.yaml", name)
		for _, w := range o.workloads {
			for _, c := range w.template.Spec.Containers {
				if vigilContainer(c) {
					require.Contains(t, c.Args, "--config.file=/etc/vigil/config/vigil.yaml")
				}
			}
		}
	}
	require.Equal(t, 1, n, "want one vigil.yaml")
}

// TestKServeExample checks that the KServe example's logger points at the Service and
// port the prod overlay renders. (KServe's types are not a dependency: the shape is read
// from YAML.)
func TestKServeExample(t *testing.T) {
	raw, err := os.ReadFile("examples/kserve-inferenceservice.yaml")
	require.NoError(t, err)
	var isvc struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Predictor struct {
				Logger struct{ Mode, URL string } `json:"logger"`
			} `json:"predictor"`
		} `json:"spec"`
	}
	require.NoError(t, sigsyaml.Unmarshal(raw, &isvc))
	require.Equal(t, "serving.kserve.io/v1beta1", isvc.APIVersion)
	require.Equal(t, "InferenceService", isvc.Kind)
	require.Equal(t, "all", isvc.Spec.Predictor.Logger.Mode, "vigil needs requests (features) and responses (predictions)")
	u, err := url.Parse(isvc.Spec.Predictor.Logger.URL)
	require.NoError(t, err)
	require.Equal(t, "/api/v1/cloudevents", u.Path)
	o := render(t, newDecoder(t), "prod")
	require.Len(t, o.services, 1)
	s := o.services[0]
	require.Equal(t, fmt.Sprintf("%s.%s.svc.cluster.local:%d", s.Name, s.Namespace, s.Spec.Ports[0].Port), u.Host)
}
