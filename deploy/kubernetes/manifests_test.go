package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// object is one decoded manifest.
type object struct {
	kind, name string
	obj        any
}

// newTyped returns the Go type of apiVersion/kind; an unknown kind is an error, so that
// nothing escapes the strict decoding.
func newTyped(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "batch/v1/Job":
		return &batchv1.Job{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("no typed object for %s %s", apiVersion, kind)
}

// decodeAll splits a multi-document YAML stream and decodes each document strictly (unknown
// or duplicate fields fail) into its typed object.
func decodeAll(src string, data []byte) ([]object, error) {
	var out []object
	r := utilyaml.NewYAMLReader(bufioReader(data))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", src, i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", src, i, err)
		}
		obj, err := newTyped(meta.APIVersion, meta.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): %w", src, i, meta.Metadata.Name, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", src, meta.Kind, meta.Metadata.Name, err)
		}
		out = append(out, object{kind: meta.Kind, name: meta.Metadata.Name, obj: obj})
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// render runs kustomize (the library kubectl embeds) on dir, as `kubectl kustomize dir` does.
func render(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEveryManifestFileDecodesStrictly decodes each YAML file of the manifests as written
// (before kustomize), so that a typo in a file fails here with the file's name.
func TestEveryManifestFileDecodesStrictly(t *testing.T) {
	var files []string
	for _, dir := range []string{"base", "secrets-example", "components/kafka-sasl"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeAll(f, data)
		if err != nil {
			t.Error(err)
			continue
		}
		n += len(objs)
	}
	if n < 20 {
		t.Errorf("decoded %d objects from %d files, want the whole base", n, len(files))
	}
}

// TestDecodingRejectsMisspeltFields proves that the decoding is strict: the same Deployment
// with one field misspelt, or put at the wrong level, must fail.
func TestDecodingRejectsMisspeltFields(t *testing.T) {
	good, err := os.ReadFile("base/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeAll("gateway.yaml", good); err != nil {
		t.Fatalf("the file itself: %v", err)
	}
	for _, tt := range []struct{ name, from, to string }{
		{"misspelt probe field", "readinessProbe:", "readynessProbe:"},
		{"misspelt nested field", "periodSeconds: 5", "periodSecond: 5"},
		{"wrong type", "containerPort: 8081", "containerPort: http"},
		{"duplicate key", "  replicas: 1\n", "  replicas: 1\n  replicas: 2\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tt.from, tt.to, 1)
			if bad == string(good) {
				t.Fatalf("%q not found in base/gateway.yaml", tt.from)
			}
			if _, err := decodeAll("gateway.yaml", []byte(bad)); err == nil {
				t.Errorf("decoding accepted the manifest with %s", tt.name)
			}
		})
	}
}

// service is what DESIGN.md and configs/riverwatch.yaml say of each service.
type service struct {
	port int32
	args []string
}

var services = map[string]service{
	"gateway":   {8081, []string{"riverwatch-gateway", "-config", "/etc/riverwatch/riverwatch.yaml"}},
	"assessor":  {8082, []string{"riverwatch-assessor", "-config", "/etc/riverwatch/riverwatch.yaml"}},
	"responder": {8083, []string{"riverwatch-responder", "-config", "/etc/riverwatch/riverwatch.yaml"}},
	"archiver":  {8084, []string{"riverwatch-archiver", "-config", "/etc/riverwatch/riverwatch.yaml", "run"}},
	"api":       {8080, []string{"riverwatch-api", "-config", "/etc/riverwatch/riverwatch.yaml"}},
}

// TestOverlaysRenderToWhatOperationsPromise renders each overlay with kustomize, decodes
// the result strictly and checks it.
func TestOverlaysRenderToWhatOperationsPromise(t *testing.T) {
	for _, overlay := range []string{"single", "production"} {
		t.Run(overlay, func(t *testing.T) {
			out := render(t, filepath.Join("overlays", overlay))
			objs, err := decodeAll(overlay, out)
			if err != nil {
				t.Fatal(err)
			}
			checkRendered(t, overlay, objs)
		})
	}
}

func checkRendered(t *testing.T, overlay string, objs []object) {
	byKind := map[string]map[string]any{}
	for _, o := range objs {
		if byKind[o.kind] == nil {
			byKind[o.kind] = map[string]any{}
		}
		if _, dup := byKind[o.kind][o.name]; dup {
			t.Errorf("%s %s twice", o.kind, o.name)
		}
		byKind[o.kind][o.name] = o.obj
		if ns := namespaceOf(o.obj); ns != "riverwatch" {
			t.Errorf("%s %s in namespace %q, want riverwatch", o.kind, o.name, ns)
		}
	}
	configMaps := byKind["ConfigMap"]
	secrets := byKind["Secret"]
	var cfgName string
	for name, o := range configMaps {
		if strings.HasPrefix(name, "riverwatch-config-") {
			cfgName = name
			data := o.(*corev1.ConfigMap).Data
			for _, f := range []string{"riverwatch.yaml", "sites.yaml", "playbooks.yaml"} {
				want, err := os.ReadFile(filepath.Join("..", "..", "configs", f))
				if err != nil {
					t.Fatal(err)
				}
				if data[f] != string(want) {
					t.Errorf("ConfigMap %s: %s differs from configs/%s", name, f, f)
				}
			}
			for _, secret := range []string{"tokens.yaml", "contacts.yaml"} {
				if _, ok := data[secret]; ok {
					t.Errorf("ConfigMap %s holds %s, which belongs in a Secret", name, secret)
				}
			}
		}
	}
	if cfgName == "" {
		t.Fatalf("no riverwatch-config ConfigMap; have %v", keys(configMaps))
	}

	// Every pod's references must resolve within the rendered set (Secrets: only where the
	// overlay ships them; production expects the operator's own).
	checkPod := func(what string, spec corev1.PodSpec) {
		if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: runAsNonRoot is not set", what)
		}
		if spec.ServiceAccountName != "riverwatch" {
			t.Errorf("%s: service account %q", what, spec.ServiceAccountName)
		}
		for _, v := range spec.Volumes {
			if v.ConfigMap != nil {
				if _, ok := configMaps[v.ConfigMap.Name]; !ok {
					t.Errorf("%s: volume %s names ConfigMap %s, which is not rendered", what, v.Name, v.ConfigMap.Name)
				}
			}
			if v.Projected != nil && overlay == "single" {
				for _, s := range v.Projected.Sources {
					if s.Secret != nil {
						if _, ok := secrets[s.Secret.Name]; !ok {
							t.Errorf("%s: Secret %s is not rendered", what, s.Secret.Name)
						}
					}
				}
			}
		}
		for _, c := range spec.Containers {
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
				t.Errorf("%s: container %s has no cpu and memory requests", what, c.Name)
			}
			if c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: container %s has no memory limit", what, c.Name)
			}
			if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				t.Errorf("%s: container %s may escalate privileges", what, c.Name)
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					if _, ok := configMaps[ef.ConfigMapRef.Name]; !ok {
						t.Errorf("%s: envFrom ConfigMap %s is not rendered", what, ef.ConfigMapRef.Name)
					}
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && overlay == "single" {
					s, ok := secrets[e.ValueFrom.SecretKeyRef.Name]
					if !ok {
						t.Errorf("%s: env %s: Secret %s is not rendered", what, e.Name, e.ValueFrom.SecretKeyRef.Name)
						continue
					}
					if _, ok := s.(*corev1.Secret).StringData[e.ValueFrom.SecretKeyRef.Key]; !ok {
						t.Errorf("%s: env %s: Secret %s has no key %s", what, e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
					}
				}
			}
		}
	}

	deployments := byKind["Deployment"]
	for name, svc := range services {
		o, ok := deployments["riverwatch-"+name]
		if !ok {
			t.Errorf("no Deployment riverwatch-%s", name)
			continue
		}
		d := o.(*appsv1.Deployment)
		checkPod("Deployment "+d.Name, d.Spec.Template.Spec)
		sel, err := metav1LabelSelector(d)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: selector does not match its pods (%v)", d.Name, err)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if strings.Join(c.Args, " ") != strings.Join(svc.args, " ") {
			t.Errorf("Deployment %s: args %q, want %q", d.Name, c.Args, svc.args)
		}
		var httpPort int32
		for _, p := range c.Ports {
			if p.Name == "http" {
				httpPort = p.ContainerPort
			}
		}
		if httpPort != svc.port {
			t.Errorf("Deployment %s: http port %d, want %d (DESIGN.md)", d.Name, httpPort, svc.port)
		}
		for probe, want := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
			if want == nil || want.HTTPGet == nil || want.HTTPGet.Path != probe || want.HTTPGet.Port.String() != "http" {
				t.Errorf("Deployment %s: want an HTTP probe on %s at port http, got %+v", d.Name, probe, want)
			}
		}
		if d.Spec.Template.Spec.Containers[0].Image == "riverwatch" {
			t.Errorf("Deployment %s: image not set by the overlay", d.Name)
		}
		pdb, ok := byKind["PodDisruptionBudget"]["riverwatch-"+name]
		if !ok {
			t.Errorf("no PodDisruptionBudget for %s", name)
		} else {
			p := pdb.(*policyv1.PodDisruptionBudget)
			s, err := metav1Selector(p.Spec.Selector)
			if err != nil || !s.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("PodDisruptionBudget %s selects no pod of %s", p.Name, d.Name)
			}
			replicas := int32(1)
			if d.Spec.Replicas != nil {
				replicas = *d.Spec.Replicas
			}
			if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntValue() >= int(replicas) {
				t.Errorf("PodDisruptionBudget %s: minAvailable %s with %d replica(s) blocks every drain", p.Name, p.Spec.MinAvailable, replicas)
			}
		}
		svcObj, ok := byKind["Service"]["riverwatch-"+name]
		if !ok {
			t.Errorf("no Service riverwatch-%s", name)
		} else if s := svcObj.(*corev1.Service); len(s.Spec.Ports) == 0 || s.Spec.Ports[0].Name != "http" || s.Spec.Ports[0].Port != svc.port {
			t.Errorf("Service %s: want port http %d, got %+v", s.Name, svc.port, s.Spec.Ports)
		} else if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Service %s selects no pod of %s", s.Name, d.Name)
		}
	}
	if overlay == "production" {
		for _, name := range []string{"riverwatch-gateway", "riverwatch-api", "riverwatch-assessor", "riverwatch-archiver", "riverwatch-responder"} {
			if d := deployments[name].(*appsv1.Deployment); d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
				t.Errorf("production: %s should run at least 2 replicas", name)
			}
		}
		if _, ok := configMaps["riverwatch-dashboards"]; !ok {
			t.Errorf("production: no dashboards ConfigMap; have %v", keys(configMaps))
		} else if len(configMaps["riverwatch-dashboards"].(*corev1.ConfigMap).Data) != 6 {
			t.Errorf("production: want the 6 dashboards")
		}
		if len(secrets) != 0 {
			t.Errorf("production ships Secrets %v: the operator creates them", keys(secrets))
		}
	} else if len(secrets) != 7 {
		t.Errorf("%s: want the 7 placeholder Secrets, got %v", overlay, keys(secrets))
	}
	for name, s := range secrets {
		for k, v := range s.(*corev1.Secret).StringData {
			if !strings.Contains(v, "REPLACE-ME") && !strings.Contains(v, "Placeholder") {
				t.Errorf("Secret %s key %s does not look like a placeholder", name, k)
			}
		}
	}

	// The stations' entry point.
	hj, ok := byKind["Service"]["riverwatch-gateway-hj212"].(*corev1.Service)
	if !ok {
		t.Fatal("no Service riverwatch-gateway-hj212")
	}
	if hj.Spec.Type != corev1.ServiceTypeLoadBalancer && hj.Spec.Type != corev1.ServiceTypeNodePort {
		t.Errorf("HJ 212 Service type %s, want LoadBalancer or NodePort", hj.Spec.Type)
	}
	if len(hj.Spec.Ports) != 1 || hj.Spec.Ports[0].Port != 9212 || hj.Spec.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("HJ 212 Service ports %+v, want TCP 9212", hj.Spec.Ports)
	}
	gw := deployments["riverwatch-gateway"].(*appsv1.Deployment)
	found := false
	for _, p := range gw.Spec.Template.Spec.Containers[0].Ports {
		found = found || (p.Name == hj.Spec.Ports[0].TargetPort.String() && p.ContainerPort == 9212)
	}
	if !found {
		t.Errorf("the gateway has no container port %s = 9212", hj.Spec.Ports[0].TargetPort.String())
	}

	job, ok := byKind["Job"]["riverwatch-migrate"].(*batchv1.Job)
	if !ok {
		t.Fatal("no Job riverwatch-migrate")
	}
	checkPod("Job riverwatch-migrate", job.Spec.Template.Spec)
	if args := job.Spec.Template.Spec.Containers[0].Args; len(args) == 0 || args[0] != "riverwatch-archiver" || args[len(args)-1] != "migrate" {
		t.Errorf("Job riverwatch-migrate runs %q, want riverwatch-archiver ... migrate", args)
	}

	sm, ok := byKind["ServiceMonitor"]["riverwatch"].(*monitoringv1.ServiceMonitor)
	if !ok {
		t.Fatal("no ServiceMonitor riverwatch")
	}
	smSel, err := metav1Selector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	var scraped []string
	for name, o := range byKind["Service"] {
		s := o.(*corev1.Service)
		if smSel.Matches(labels.Set(s.Labels)) {
			for _, p := range s.Spec.Ports {
				for _, ep := range sm.Spec.Endpoints {
					if ep.Port == p.Name {
						scraped = append(scraped, name)
					}
				}
			}
		}
	}
	sort.Strings(scraped)
	if len(scraped) != len(services) {
		t.Errorf("the ServiceMonitor scrapes %v, want the %d services' http ports", scraped, len(services))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
