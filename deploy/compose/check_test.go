package compose

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// root is the repository, seen from this directory.
const root = "../.."

// principals: the Kafka user of each riverwatch container (migrate is the archiver's).
var principals = map[string]string{
	"gateway": "gateway", "assessor": "assessor", "responder": "responder",
	"archiver": "archiver", "api": "api", "migrate": "archiver",
}

// productionFiles makes what an operator brings to the stack, the way docs/operations.md
// says: deploy/secrets.sh's secrets, a network whose stations each have their own password,
// and a contact directory. It returns the variables of .env that point at them.
func productionFiles(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: deploy/secrets.sh needs it (apt-get install openssl)")
	}
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	if out, err := exec.Command("bash", filepath.Join(root, "deploy/secrets.sh"), secrets).CombinedOutput(); err != nil {
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
	if n == 0 {
		t.Fatal("configs/sites.yaml has no station password to replace")
	}
	writeFile(t, filepath.Join(dir, "sites.yaml"), sites)
	contacts, err := os.ReadFile(filepath.Join(root, "configs/contacts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "contacts.yaml"), contacts)
	webhook, err := os.ReadFile(filepath.Join(secrets, "webhook.secret"))
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"RIVERWATCH_SECRETS_DIR=" + secrets,
		"RIVERWATCH_NETWORK_FILE=" + filepath.Join(dir, "sites.yaml"),
		"RIVERWATCH_CONTACTS_FILE=" + filepath.Join(dir, "contacts.yaml"),
		"RIVERWATCH_RESPONDER_WEBHOOK_SECRET=" + strings.TrimSpace(string(webhook)),
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// buildServices builds the binaries the image holds, named as in the image.
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

// imageEnv is the ENV of the Dockerfile's last stage: what every container starts with.
func imageEnv(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "FROM ") {
			env, in = nil, false
		}
		if strings.HasPrefix(line, "ENV ") {
			in, line = true, strings.TrimPrefix(line, "ENV ")
		}
		if !in {
			continue
		}
		cont := strings.HasSuffix(line, `\`)
		env = append(env, strings.Fields(strings.TrimSuffix(line, `\`))...)
		in = cont
	}
	if len(env) == 0 {
		t.Fatal("Dockerfile: no ENV in the last stage")
	}
	return env
}

// container is what one riverwatch service of the project runs: its command line and its
// environment, with the paths inside the container turned into the files they are on this
// host (the image's /etc/riverwatch is configs/, /run/secrets/X the secret mounted as X).
type container struct {
	args []string
	env  []string
}

func containerOf(t *testing.T, p *types.Project, s types.ServiceConfig, image []string) container {
	t.Helper()
	configs, err := filepath.Abs(filepath.Join(root, "configs"))
	if err != nil {
		t.Fatal(err)
	}
	mounted := map[string]string{} // path in the container → file on the host
	for _, sec := range s.Secrets {
		target := sec.Target
		if target == "" {
			target = sec.Source
		}
		if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		mounted[target] = p.Secrets[sec.Source].File
	}
	host := func(v string) string {
		if f, ok := mounted[v]; ok {
			return f
		}
		if rest, ok := strings.CutPrefix(v, "/etc/riverwatch/"); ok {
			return filepath.Join(configs, rest)
		}
		if strings.HasPrefix(v, "/run/secrets/") {
			return filepath.Join(t.TempDir(), "not-mounted", filepath.Base(v)) // a secret the service was not given
		}
		return v
	}
	var c container
	for _, kv := range image {
		k, v, _ := strings.Cut(kv, "=")
		c.env = append(c.env, k+"="+host(v))
	}
	for k, v := range s.Environment {
		if v != nil {
			c.env = append(c.env, k+"="+host(*v))
		}
	}
	for _, a := range s.Command {
		c.args = append(c.args, host(a))
	}
	return c
}

// check runs the container's binary with -check, in production mode (the default: nothing
// of this process's environment reaches it).
func (c container) check(bin string) (string, error) {
	args := append([]string{"-check"}, c.args[1:]...)
	cmd := exec.Command(filepath.Join(bin, c.args[0]), args...)
	cmd.Env = append([]string{"HOME=" + os.TempDir()}, c.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func riverwatchServices(p *types.Project) []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, name := range p.ServiceNames() {
		if _, ok := principals[name]; ok {
			s, _ := p.GetService(name)
			out = append(out, s)
		}
	}
	return out
}

// TestEveryServicePassesCheckInProductionMode runs each riverwatch container of compose.yaml
// — its command, the image's environment and the file's, its secrets — through the binary's
// own -check in production mode, with the files an operator makes as docs/operations.md says.
// Kafka must be SASL_SSL as the service's own principal, with only its own password mounted.
func TestEveryServicePassesCheckInProductionMode(t *testing.T) {
	env := productionFiles(t)
	p, err := load(t, env)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	bin := buildServices(t)
	image := imageEnv(t)
	services := riverwatchServices(p)
	if len(services) != len(principals) {
		t.Fatalf("riverwatch services %d, want %d", len(services), len(principals))
	}
	for _, s := range services {
		t.Run(s.Name, func(t *testing.T) {
			c := containerOf(t, p, s, image)
			out, err := c.check(bin)
			if err != nil || !strings.Contains(out, ": OK") {
				t.Errorf("%s -check in production mode: %v\n%s", strings.Join(c.args, " "), err, out)
			}
			want := principals[s.Name]
			if v := s.Environment["RIVERWATCH_KAFKA_SASL_USERNAME"]; v == nil || *v != want {
				t.Errorf("Kafka user %v, want %s", v, want)
			}
			var kafkaSecrets []string
			for _, sec := range s.Secrets {
				if strings.HasPrefix(sec.Source, "kafka-") && strings.HasSuffix(sec.Source, ".password") {
					kafkaSecrets = append(kafkaSecrets, sec.Source+"→"+sec.Target)
				}
			}
			if !slices.Equal(kafkaSecrets, []string{"kafka-" + want + ".password→kafka.password"}) {
				t.Errorf("Kafka password secrets %v, want only its own (kafka-%s.password as kafka.password)", kafkaSecrets, want)
			}
		})
	}
}

// TestCheckRefusesAServiceWithoutItsKafkaUser proves the check above can fail: the gateway of
// the same file without its SCRAM user is refused, naming the key.
func TestCheckRefusesAServiceWithoutItsKafkaUser(t *testing.T) {
	p, err := load(t, productionFiles(t))
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	gw, err := p.GetService("gateway")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"RIVERWATCH_KAFKA_SASL_MECHANISM", "RIVERWATCH_KAFKA_SASL_USERNAME", "RIVERWATCH_KAFKA_SASL_PASSWORD_FILE"} {
		delete(gw.Environment, k)
	}
	out, err := containerOf(t, p, gw, imageEnv(t)).check(buildServices(t))
	if err == nil || !strings.Contains(out, "kafka.sasl.mechanism") {
		t.Errorf("the gateway without a Kafka user passed -check (err %v):\n%s", err, out)
	}
}
