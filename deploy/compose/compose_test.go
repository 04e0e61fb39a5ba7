package compose

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// placeholders for the variables compose.yaml requires (as env.example's); the secrets are
// the test's own files (TestComposeFileIsValid checks that each one exists).
var placeholders = []string{
	"RIVERWATCH_RESPONDER_WEBHOOK_SECRET=check", "RIVERWATCH_CONTACTS_FILE=../../configs/contacts.yaml",
	"RIVERWATCH_NETWORK_FILE=../../configs/sites.yaml",
}

func load(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"},
		cli.WithWorkingDirectory("."), cli.WithEnv(env), cli.WithName("riverwatch"))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// TestComposeFileIsValid loads compose.yaml as `docker compose config` does and checks the
// stack it describes.
func TestComposeFileIsValid(t *testing.T) {
	p, err := load(t, append(slices.Clone(placeholders), productionFiles(t)...))
	if err != nil {
		t.Fatalf("docker compose would reject compose.yaml: %v", err)
	}
	want := map[string]string{ // service → the host:port of its /readyz (ops ports on the container's address: production mode refuses them on all interfaces)
		"gateway": "127.0.0.1:8081", "assessor": "assessor:8082", "responder": "responder:8083", "archiver": "archiver:8084", "api": "127.0.0.1:8080",
	}
	names := p.ServiceNames()
	for _, s := range []string{"kafka", "kafka-init", "clickhouse", "migrate", "prometheus", "grafana"} {
		if !slices.Contains(names, s) {
			t.Errorf("no service %s; have %v", s, names)
		}
	}
	for name, port := range want {
		s, err := p.GetService(name)
		if err != nil {
			t.Errorf("no service %s", name)
			continue
		}
		if len(s.Command) == 0 || s.Command[0] != "riverwatch-"+name {
			t.Errorf("%s: command %q, want riverwatch-%s ...", name, s.Command, name)
		}
		if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), "//"+port+"/readyz") {
			t.Errorf("%s: health check %v, want /readyz on %s", name, s.HealthCheck, port)
		}
		for dep, cond := range map[string]string{"kafka-init": "service_completed_successfully", "clickhouse": "service_healthy", "migrate": "service_completed_successfully"} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != cond {
				t.Errorf("%s: want depends_on %s: %s, got %+v", name, dep, cond, s.DependsOn)
			}
		}
		for _, k := range []string{"RIVERWATCH_KAFKA_BROKERS", "RIVERWATCH_CLICKHOUSE_ADDR", "RIVERWATCH_KAFKA_SASL_USERNAME", "RIVERWATCH_AUTH_TOKENS_FILE", "RIVERWATCH_CONTACTS_FILE"} {
			if v := s.Environment[k]; v == nil || *v == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
	}
	gw, _ := p.GetService("gateway")
	var published []string
	for _, port := range gw.Ports {
		published = append(published, port.Published+"/"+port.Protocol)
	}
	if !slices.Contains(published, "9212/tcp") {
		t.Errorf("gateway publishes %v, want 9212/tcp for the stations", published)
	}
	for _, s := range []string{"kafka", "clickhouse", "prometheus", "grafana"} {
		if svc, err := p.GetService(s); err == nil && svc.HealthCheck == nil {
			t.Errorf("%s has no health check", s)
		}
	}
	prom, _ := p.GetService("prometheus")
	graf, _ := p.GetService("grafana")
	for _, v := range append(prom.Volumes, graf.Volumes...) {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if _, err := os.Stat(v.Source); err != nil {
			t.Errorf("bind mount %s → %s: %v", v.Source, v.Target, err)
		}
	}
	for name, s := range p.Secrets {
		if _, err := os.Stat(s.File); err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
	}
	// Only the archiver and migrate hold the account that may write and drop; the api reads
	// with its own read-only one.
	for _, name := range names {
		svc, _ := p.GetService(name)
		var secrets []string
		for _, sec := range svc.Secrets {
			secrets = append(secrets, sec.Source)
		}
		holds := slices.Contains(secrets, "clickhouse-archiver.password")
		if want := name == "archiver" || name == "migrate"; holds != want {
			t.Errorf("%s holds the archiver's ClickHouse password: %v, want %v (secrets %v)", name, holds, want, secrets)
		}
	}
	mig, _ := p.GetService("migrate")
	if c := strings.Join(mig.Command, " "); !strings.HasSuffix(c, " migrate") {
		t.Errorf("migrate runs %q", c)
	}
	if mig.Build == nil || filepath.Base(filepath.Join(mig.Build.Context, mig.Build.Dockerfile)) != "Dockerfile" {
		t.Errorf("migrate does not build the repository's Dockerfile: %+v", mig.Build)
	}
}

// TestComposeRefusesToStartWithoutSecrets: without the required variables the file must not
// load, so that nobody runs the stack with an empty webhook key or the development network.
func TestComposeRefusesToStartWithoutSecrets(t *testing.T) {
	for _, v := range []string{"RIVERWATCH_RESPONDER_WEBHOOK_SECRET", "RIVERWATCH_CONTACTS_FILE", "RIVERWATCH_NETWORK_FILE"} {
		var env []string
		for _, kv := range placeholders {
			if !strings.HasPrefix(kv, v+"=") {
				env = append(env, kv)
			}
		}
		if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("compose.yaml loaded without %s (err %v)", v, err)
		}
	}
}

// TestValidationCatchesMisspeltKeys proves the check is the schema's: a misspelt key fails.
func TestValidationCatchesMisspeltKeys(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := strings.Replace(string(b), "    healthcheck:\n", "    healthchek:\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnv(placeholders), cli.WithName("riverwatch"),
		cli.WithResolvedPaths(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.LoadProject(context.Background()); err == nil || !strings.Contains(err.Error(), "healthchek") {
		t.Errorf("a misspelt key loaded (err %v)", err)
	}
}
