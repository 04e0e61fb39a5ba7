// Package systemd holds the tests of deploy/systemd's units (systemd-analyze verify runs in
// deploy/check-artefacts.sh).
package systemd

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository, seen from this directory.
const root = "../.."

// units and the Kafka principal each runs as (migrate is the archiver's).
var units = map[string]string{
	"gateway": "gateway", "assessor": "assessor", "responder": "responder",
	"archiver": "archiver", "api": "api", "migrate": "archiver",
}

// unit is what systemd would run of a unit file: ExecStart and the environment
// (Environment= in order, then EnvironmentFile=, which systemd applies after).
type unit struct {
	exec []string
	env  []string
}

func parseUnit(t *testing.T, path, envFile string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var u unit
	var files []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "Environment":
			u.env = append(u.env, v)
		case "EnvironmentFile":
			files = append(files, strings.TrimPrefix(v, "-"))
		case "ExecStart":
			u.exec = strings.Fields(v)
		}
	}
	for _, f := range files {
		if f != "/etc/riverwatch/riverwatch.env" {
			t.Fatalf("%s: EnvironmentFile %s, want /etc/riverwatch/riverwatch.env", path, f)
		}
		b, err := os.ReadFile(envFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				u.env = append(u.env, line)
			}
		}
	}
	return u
}

// installed lays out what docs/operations.md#systemd-vms installs: configs/ in
// /etc/riverwatch, deploy/secrets.sh's files plus the operator's network and contacts in
// /etc/riverwatch/secrets, riverwatch.env from the example with the webhook key of
// secrets.sh. It returns a function from a path of the VM to the file here.
func installed(t *testing.T) (host func(string) string, envFile string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: deploy/secrets.sh needs it (apt-get install openssl)")
	}
	etc := t.TempDir()
	secrets := filepath.Join(etc, "secrets")
	if out, err := exec.Command("bash", filepath.Join(root, "deploy/secrets.sh"), secrets).CombinedOutput(); err != nil {
		t.Fatalf("deploy/secrets.sh: %v\n%s", err, out)
	}
	for _, f := range []string{"riverwatch.yaml", "playbooks.yaml", "commands.key"} {
		copyFile(t, filepath.Join(root, "configs", f), filepath.Join(etc, f), nil)
	}
	n := 0
	copyFile(t, filepath.Join(root, "configs/sites.yaml"), filepath.Join(secrets, "sites.yaml"), func(b []byte) []byte {
		return regexp.MustCompile(`password: "123456"`).ReplaceAllFunc(b, func([]byte) []byte {
			n++
			return fmt.Appendf(nil, `password: "station-%02d-own-password"`, n)
		})
	})
	copyFile(t, filepath.Join(root, "configs/contacts.yaml"), filepath.Join(secrets, "contacts.yaml"), nil)
	webhook, err := os.ReadFile(filepath.Join(secrets, "webhook.secret"))
	if err != nil {
		t.Fatal(err)
	}
	envFile = filepath.Join(etc, "riverwatch.env")
	copyFile(t, "riverwatch.env.example", envFile, func(b []byte) []byte {
		return regexp.MustCompile(`(?m)^RIVERWATCH_RESPONDER_WEBHOOK_SECRET=.*$`).ReplaceAll(b,
			[]byte("RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+strings.TrimSpace(string(webhook))))
	})
	return func(v string) string {
		if rest, ok := strings.CutPrefix(v, "/etc/riverwatch/"); ok {
			return filepath.Join(etc, rest)
		}
		return v
	}, envFile
}

func copyFile(t *testing.T, from, to string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		b = edit(b)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
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

// check runs the unit's ExecStart with -check, with the unit's environment only.
func (u unit) check(bin string, host func(string) string) (string, error) {
	args := []string{"-check"}
	for _, a := range u.exec[1:] {
		args = append(args, host(a))
	}
	cmd := exec.Command(filepath.Join(bin, filepath.Base(u.exec[0])), args...)
	cmd.Env = []string{"HOME=" + os.TempDir()}
	for _, kv := range u.env {
		k, v, _ := strings.Cut(kv, "=")
		cmd.Env = append(cmd.Env, k+"="+host(v))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (u unit) get(key string) string {
	v := ""
	for _, kv := range u.env {
		if rest, ok := strings.CutPrefix(kv, key+"="); ok {
			v = rest
		}
	}
	return v
}

// TestEveryUnitPassesCheckInProductionMode runs each unit's ExecStart, with the unit's
// environment and riverwatch.env.example's, through the binary's -check in production mode,
// on the files docs/operations.md#systemd-vms installs: Kafka over SASL_SSL as the service's
// own user.
func TestEveryUnitPassesCheckInProductionMode(t *testing.T) {
	host, envFile := installed(t)
	bin := buildServices(t)
	for name, principal := range units {
		t.Run(name, func(t *testing.T) {
			u := parseUnit(t, "riverwatch-"+name+".service", envFile)
			out, err := u.check(bin, host)
			if err != nil || !strings.Contains(out, ": OK") {
				t.Errorf("%s -check: %v\n%s", strings.Join(u.exec, " "), err, out)
			}
			if got := u.get("RIVERWATCH_KAFKA_SASL_USERNAME"); got != principal {
				t.Errorf("Kafka user %q, want %s", got, principal)
			}
			if got, want := u.get("RIVERWATCH_KAFKA_SASL_PASSWORD_FILE"), "/etc/riverwatch/secrets/kafka-"+principal+".password"; got != want {
				t.Errorf("Kafka password file %q, want %s", got, want)
			}
		})
	}
}

// TestCheckRefusesAUnitWithoutTLS proves the check above can fail: the gateway's unit
// with Kafka's TLS turned off in riverwatch.env is refused, naming the key.
func TestCheckRefusesAUnitWithoutTLS(t *testing.T) {
	host, envFile := installed(t)
	u := parseUnit(t, "riverwatch-gateway.service", envFile)
	u.env = append(u.env, "RIVERWATCH_KAFKA_TLS_ENABLED=false", "RIVERWATCH_KAFKA_TLS_CA_FILE=")
	out, err := u.check(buildServices(t), host)
	if err == nil || !strings.Contains(out, "kafka.tls.enabled") {
		t.Errorf("the gateway without TLS passed -check (err %v):\n%s", err, out)
	}
}
