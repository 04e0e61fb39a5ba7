package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// root is the repository, seen from this directory.
const root = "../.."

// operatorSecrets are the Secrets the production overlay expects the operator to create
// (docs/operations.md#kubernetes has the same table as kubectl commands): Secret → key →
// the file of deploy/secrets.sh's directory (or the test's network and contacts) it holds.
var operatorSecrets = map[string]map[string]string{
	"riverwatch-tokens":          {"tokens.yaml": "tokens.yaml"},
	"riverwatch-contacts":        {"contacts.yaml": "contacts.yaml"},
	"riverwatch-sites":           {"sites.yaml": "sites.yaml"},
	"riverwatch-clickhouse":      {"password": "clickhouse-archiver.password"},
	"riverwatch-clickhouse-api":  {"password": "clickhouse-api.password"},
	"riverwatch-webhook":         {"secret": "webhook.secret"},
	"riverwatch-commands-key":    {"commands.key": "commands.key"},
	"riverwatch-kafka-ca":        {"ca.crt": "kafka-ca.crt"},
	"riverwatch-kafka-gateway":   {"password": "kafka-gateway.password"},
	"riverwatch-kafka-assessor":  {"password": "kafka-assessor.password"},
	"riverwatch-kafka-responder": {"password": "kafka-responder.password"},
	"riverwatch-kafka-archiver":  {"password": "kafka-archiver.password"},
	"riverwatch-kafka-api":       {"password": "kafka-api.password"},
}

// operatorFiles makes what an operator puts into those Secrets: deploy/secrets.sh's files, a
// network whose stations each have their own password and a contact directory, in one
// directory.
func operatorFiles(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: deploy/secrets.sh needs it (apt-get install openssl)")
	}
	dir := filepath.Join(t.TempDir(), "secrets")
	if out, err := exec.Command("bash", filepath.Join(root, "deploy/secrets.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("deploy/secrets.sh: %v\n%s", err, out)
	}
	sites, err := os.ReadFile(filepath.Join(root, "configs/sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sites = regexp.MustCompile(`password: "123456"`).ReplaceAllFunc(sites, func([]byte) []byte {
		n++
		return fmt.Appendf(nil, `password: "station-%02d-own-password"`, n)
	})
	contacts, err := os.ReadFile(filepath.Join(root, "configs/contacts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"sites.yaml": sites, "contacts.yaml": contacts} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// secretData returns each Secret's data: the rendered ones (the single overlay's
// placeholders), or, where the overlay renders none, the operator's.
func secretData(t *testing.T, objs []object, files string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, o := range objs {
		if s, ok := o.obj.(*corev1.Secret); ok {
			out[s.Name] = s.StringData
		}
	}
	if len(out) > 0 {
		return out
	}
	for name, keys := range operatorSecrets {
		out[name] = map[string]string{}
		for key, file := range keys {
			b, err := os.ReadFile(filepath.Join(files, file))
			if err != nil {
				t.Fatal(err)
			}
			out[name][key] = string(b)
		}
	}
	return out
}

// pod is one container of a rendered pod as the kubelet would start it, with the files it
// mounts written to a directory of this host.
type pod struct {
	what string
	args []string
	env  []string
	// principal is the Kafka user the pod's environment names.
	principal string
}

func podOf(t *testing.T, what string, spec corev1.PodSpec, configMaps map[string]map[string]string, secrets map[string]map[string]string) pod {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(spec.Containers))
	}
	c := spec.Containers[0]
	// Volumes: each a directory of its files.
	dirs := map[string]string{}
	write := func(dir string, data map[string]string, items []corev1.KeyToPath, from string) {
		if len(items) == 0 {
			for k := range data {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
		}
		for _, it := range items {
			v, ok := data[it.Key]
			if !ok {
				t.Errorf("%s: %s has no key %s", what, from, it.Key)
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, it.Path), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, v := range spec.Volumes {
		dir := t.TempDir()
		dirs[v.Name] = dir
		switch {
		case v.ConfigMap != nil:
			data, ok := configMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("%s: volume %s: no ConfigMap %s", what, v.Name, v.ConfigMap.Name)
			}
			write(dir, data, v.ConfigMap.Items, "ConfigMap "+v.ConfigMap.Name)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret == nil {
					t.Fatalf("%s: volume %s: a projected source other than a Secret", what, v.Name)
				}
				data, ok := secrets[src.Secret.Name]
				if !ok {
					t.Errorf("%s: volume %s: no Secret %s (neither rendered nor in the operator's list)", what, v.Name, src.Secret.Name)
				}
				write(dir, data, src.Secret.Items, "Secret "+src.Secret.Name)
			}
		case v.Secret != nil:
			write(dir, secrets[v.Secret.SecretName], v.Secret.Items, "Secret "+v.Secret.SecretName)
		}
	}
	type mount struct{ path, dir string }
	var mounts []mount
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, mount{m.MountPath, dirs[m.Name]})
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].path) > len(mounts[j].path) })
	host := func(v string) string {
		for _, m := range mounts {
			if rest, ok := strings.CutPrefix(v, m.path+"/"); ok {
				return filepath.Join(m.dir, rest)
			}
		}
		return v
	}
	// The environment: the image's, then envFrom, then env ($(VAR) expanded as the kubelet does).
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for k, v := range imageEnv(t) {
		set(k, v)
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Fatalf("%s: envFrom other than a ConfigMap", what)
		}
		for k, v := range configMaps[ef.ConfigMapRef.Name] {
			set(k, v)
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			set(e.Name, ref.ReplaceAllStringFunc(e.Value, func(m string) string { return vars[m[2:len(m)-1]] }))
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP":
			set(e.Name, "10.42.0.17")
		case e.ValueFrom.SecretKeyRef != nil:
			v, ok := secrets[e.ValueFrom.SecretKeyRef.Name][e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				t.Errorf("%s: env %s: no Secret %s key %s", what, e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			set(e.Name, v)
		default:
			t.Fatalf("%s: env %s: a valueFrom the test does not know", what, e.Name)
		}
	}
	p := pod{what: what, principal: vars["RIVERWATCH_KAFKA_SASL_USERNAME"]}
	for _, k := range order {
		p.env = append(p.env, k+"="+host(vars[k]))
	}
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		p.args = append(p.args, host(a))
	}
	return p
}

// imageEnv is the ENV of the Dockerfile's last stage, which every container starts with.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "FROM ") {
			env, in = map[string]string{}, false
		}
		if strings.HasPrefix(line, "ENV ") {
			in, line = true, strings.TrimPrefix(line, "ENV ")
		}
		if !in {
			continue
		}
		in = strings.HasSuffix(line, `\`)
		for _, kv := range strings.Fields(strings.TrimSuffix(line, `\`)) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	if len(env) == 0 {
		t.Fatal("Dockerfile: no ENV in the last stage")
	}
	return env
}

// check runs the pod's binary with -check; nothing of this process's environment reaches it.
func (p pod) check(bin string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, p.args[0]), append([]string{"-check"}, p.args[1:]...)...)
	cmd.Env = append([]string{"HOME=" + os.TempDir()}, p.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func buildServices(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	for _, s := range []string{"gateway", "assessor", "responder", "archiver", "api"} {
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", filepath.Join(bin, "riverwatch-"+s), "./services/"+s)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./services/%s: %v\n%s", s, err, out)
		}
	}
	return bin
}

// renderedPods renders an overlay and returns its Deployments' and the Job's pods.
func renderedPods(t *testing.T, overlay, files string) []pod {
	t.Helper()
	objs, err := decodeAll(overlay, render(t, filepath.Join("overlays", overlay)))
	if err != nil {
		t.Fatal(err)
	}
	configMaps := map[string]map[string]string{}
	for _, o := range objs {
		if cm, ok := o.obj.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm.Data
		}
	}
	secrets := secretData(t, objs, files)
	var pods []pod
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			pods = append(pods, podOf(t, "Deployment "+v.Name, v.Spec.Template.Spec, configMaps, secrets))
		case *batchv1.Job:
			pods = append(pods, podOf(t, "Job "+v.Name, v.Spec.Template.Spec, configMaps, secrets))
		}
	}
	if len(pods) != 6 {
		t.Fatalf("%s: %d pods, want 5 Deployments and the Job", overlay, len(pods))
	}
	return pods
}

// TestEveryPodPassesCheck renders each overlay and runs every pod's command — the image's
// environment, the ConfigMap's, the pod's own, the files of its ConfigMap and Secret volumes —
// through the binary's -check. The production overlay, in production mode, with the Secrets
// docs/operations.md tells the operator to create: Kafka over SASL_SSL as the service's own
// user. The single overlay with its placeholder Secrets, in the development mode it sets.
func TestEveryPodPassesCheck(t *testing.T) {
	files := operatorFiles(t)
	bin := buildServices(t)
	for _, overlay := range []string{"production", "single"} {
		t.Run(overlay, func(t *testing.T) {
			for _, p := range renderedPods(t, overlay, files) {
				out, err := p.check(bin)
				if err != nil || !strings.Contains(out, ": OK") {
					t.Errorf("%s: %s -check: %v\n%s", p.what, strings.Join(p.args, " "), err, out)
				}
				mode := "production"
				for _, kv := range p.env {
					if v, ok := strings.CutPrefix(kv, "RIVERWATCH_MODE="); ok {
						mode = v
					}
				}
				want := strings.TrimPrefix(strings.TrimPrefix(p.what, "Deployment riverwatch-"), "Job riverwatch-")
				if want == "migrate" {
					want = "archiver"
				}
				switch overlay {
				case "production":
					if mode != "production" || p.principal != want {
						t.Errorf("%s: mode %s, Kafka user %q; want production, %s", p.what, mode, p.principal, want)
					}
				case "single":
					if mode != "development" {
						t.Errorf("%s: the trial with placeholder secrets runs in mode %s, want development", p.what, mode)
					}
				}
			}
		})
	}
}

// TestCheckRefusesTheProductionPodsWithoutTheirKafkaUser proves the check above can fail: the
// production overlay's gateway without its SCRAM user is refused, naming the key.
func TestCheckRefusesTheProductionPodsWithoutTheirKafkaUser(t *testing.T) {
	files := operatorFiles(t)
	bin := buildServices(t)
	for _, p := range renderedPods(t, "production", files) {
		if p.what != "Deployment riverwatch-gateway" {
			continue
		}
		var env []string
		for _, kv := range p.env {
			if !strings.HasPrefix(kv, "RIVERWATCH_KAFKA_SASL_") {
				env = append(env, kv)
			}
		}
		p.env = env
		if out, err := p.check(bin); err == nil || !strings.Contains(out, "kafka.sasl.mechanism") {
			t.Errorf("the gateway without a Kafka user passed -check (err %v):\n%s", err, out)
		}
		return
	}
	t.Fatal("no gateway in the production overlay")
}
