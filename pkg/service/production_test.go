package service

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/auth"
)

func repoConfig(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "configs", "riverwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeFile writes body into a file of the test's own and returns its path.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// productionEnv is what a production deployment of the repository's configuration sets:
// every development default replaced, so that one change at a time can be refused.
func productionEnv(t *testing.T) map[string]string {
	return map[string]string{
		"RIVERWATCH_MODE":                         "production",
		"RIVERWATCH_CLICKHOUSE_PASSWORD":          "ch-secret",
		"RIVERWATCH_RESPONDER_WEBHOOK_SECRET":     "a-long-random-secret",
		"RIVERWATCH_API_METRICS_LISTEN":           "127.0.0.1:9180",
		"RIVERWATCH_GATEWAY_METRICS_LISTEN":       "127.0.0.1:9181",
		"RIVERWATCH_API_CLICKHOUSE_USERNAME":      "riverwatch_api",
		"RIVERWATCH_API_CLICKHOUSE_PASSWORD_FILE": writeFile(t, "ch-api-password", "api-secret\n"),
		// The responder's source ranking reads with the same read-only account.
		"RIVERWATCH_RESPONDER_CLICKHOUSE_USERNAME":      "riverwatch_api",
		"RIVERWATCH_RESPONDER_CLICKHOUSE_PASSWORD_FILE": writeFile(t, "ch-responder-password", "api-secret\n"),
		"RIVERWATCH_KAFKA_COMMANDS_KEY_FILE":            writeFile(t, "commands.key", "b3f1c0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1\n"),
		"RIVERWATCH_KAFKA_TLS_ENABLED":                  "true", // the system's roots verify the brokers
		"RIVERWATCH_KAFKA_SASL_MECHANISM":               "SCRAM-SHA-512",
		"RIVERWATCH_KAFKA_SASL_USERNAME":                "riverwatch",
		"RIVERWATCH_KAFKA_SASL_PASSWORD_FILE":           writeFile(t, "kafka-password", "kafka-secret\n"),
		"RIVERWATCH_AUTH_TOKENS_FILE": writeFile(t, "tokens.yaml",
			"- {token: '"+auth.Digest("a-real-token")+"', name: duty, role: admin, jurisdictions: ['*']}\n"),
		"RIVERWATCH_SITES_FILE": writeFile(t, "sites.yaml", `timezone: Asia/Shanghai
jurisdictions: [{id: changji, name: 昌吉市}]
rivers: [{id: santun, name: 三屯河, velocity_mps: 0.8, flow_m3s: 5}]
sites:
  - {id: A, name: a, kind: section, river: santun, km: 1, jurisdiction: changji, target_class: III, station: {mn: "1", password: "k9x!2q"}}
  - {id: B, name: b, kind: section, river: santun, km: 2, jurisdiction: changji, target_class: III, station: {mn: "2", password: "z7y#4w"}}
`),
	}
}

const sharedPasswords = `timezone: Asia/Shanghai
jurisdictions: [{id: changji, name: 昌吉市}]
rivers: [{id: santun, name: 三屯河, velocity_mps: 0.8, flow_m3s: 5}]
sites:
  - {id: A, name: a, kind: section, river: santun, km: 1, jurisdiction: changji, target_class: III, station: {mn: "1", password: "k9x!2q"}}
  - {id: B, name: b, kind: section, river: santun, km: 2, jurisdiction: changji, target_class: III, station: {mn: "2", password: "k9x!2q"}}
  - {id: C, name: c, kind: section, river: santun, km: 3, jurisdiction: changji, target_class: III, station: {mn: "3", password: ""}}
  - {id: D, name: d, kind: section, river: santun, km: 4, jurisdiction: changji, target_class: III, station: {mn: "4", password: "p4!xz", sm4_keys: ["8f3ae1c9027b44d5a6e0193c7d2b5f18", "30303030303030303030303030303030"]}}
`

// In production a service refuses to start with each kind of development default, naming
// the key, and -check reports the same refusal; development mode runs with all of them.
func TestProductionRefusesEachDevelopmentDefaultNamingTheKey(t *testing.T) {
	tests := []struct {
		name    string
		service string
		env     map[string]string // on top of productionEnv
		want    []string
	}{
		{"the repository's development tokens", "api",
			map[string]string{"RIVERWATCH_AUTH_TOKENS_FILE": filepath.Join("..", "..", "configs", "tokens.yaml")},
			[]string{"config key auth.tokens_file ", "RIVERWATCH_AUTH_TOKENS_FILE", "市生态环境局管理员"}},
		{"a development token stored hashed", "gateway",
			map[string]string{"RIVERWATCH_AUTH_TOKENS_FILE": "HASHED_DEV"},
			[]string{"config key auth.tokens_file ", "lab"}},
		{"the default webhook secret", "responder",
			map[string]string{"RIVERWATCH_RESPONDER_WEBHOOK_SECRET": ""},
			[]string{"config key responder.webhook_secret ", "public development secret"}},
		{"the factory station passwords of the repository's sites.yaml", "gateway",
			map[string]string{"RIVERWATCH_SITES_FILE": filepath.Join("..", "..", "configs", "sites.yaml")},
			[]string{"config key sites_file ", "STH-S2", "factory default 123456"}},
		{"a station password shared by several stations, and an empty one", "gateway",
			map[string]string{"RIVERWATCH_SITES_FILE": "SHARED"},
			[]string{"config key sites_file ", "sites A, B share one station password", "site C (MN 3): the station password is empty", "site D (MN 4): sm4_keys[1] is one byte repeated"}},
		{"an empty ClickHouse password", "archiver",
			map[string]string{"RIVERWATCH_CLICKHOUSE_PASSWORD": ""},
			[]string{"config key clickhouse.password "}},
		{"an ops port on all interfaces", "assessor",
			map[string]string{"RIVERWATCH_ASSESSOR_LISTEN": ":8082"},
			[]string{"config key assessor.listen ", "all interfaces"}},
		{"the api's metrics on its public port", "api",
			map[string]string{"RIVERWATCH_API_METRICS_LISTEN": ""},
			[]string{"config key api.metrics_listen "}},
		{"the repository's command key, for the api", "api",
			map[string]string{"RIVERWATCH_KAFKA_COMMANDS_KEY_FILE": filepath.Join("..", "..", "configs", "commands.key")},
			[]string{"config key kafka.commands_key_file ", "public development key"}},
		{"the repository's command key, for the responder", "responder",
			map[string]string{"RIVERWATCH_KAFKA_COMMANDS_KEY_FILE": filepath.Join("..", "..", "configs", "commands.key")},
			[]string{"config key kafka.commands_key_file ", "public development key"}},
		{"the api reading with the archiver's ClickHouse account", "api",
			map[string]string{"RIVERWATCH_API_CLICKHOUSE_USERNAME": ""},
			[]string{"config key api.clickhouse_username ", "read-only user"}},
		{"the responder ranking sources with the archiver's ClickHouse account", "responder",
			map[string]string{"RIVERWATCH_RESPONDER_CLICKHOUSE_USERNAME": ""},
			[]string{"config key responder.clickhouse_username ", "read-only user"}},
		{"Kafka without a SASL user", "archiver",
			map[string]string{"RIVERWATCH_KAFKA_SASL_MECHANISM": "", "RIVERWATCH_KAFKA_SASL_USERNAME": "", "RIVERWATCH_KAFKA_SASL_PASSWORD_FILE": ""},
			[]string{"config key kafka.sasl.mechanism ", "kafka.unauthenticated"}},
		{"Kafka without TLS", "gateway",
			map[string]string{"RIVERWATCH_KAFKA_TLS_ENABLED": "false"},
			[]string{"config key kafka.tls.enabled ", "in clear"}},
		{"the gateway's metrics on all interfaces", "gateway",
			map[string]string{"RIVERWATCH_GATEWAY_METRICS_LISTEN": "0.0.0.0:9181"},
			[]string{"config key gateway.metrics_listen "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := productionEnv(t)
			for k, v := range tt.env {
				switch v {
				case "HASHED_DEV":
					v = writeFile(t, "tokens.yaml", "- {token: '"+auth.Digest("dev-gateway-lab")+"', name: lab, role: responder, jurisdictions: ['*']}\n")
				case "SHARED":
					v = writeFile(t, "sites.yaml", sharedPasswords)
				}
				env[k] = v
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			started := false
			p := Program{Name: tt.service, Start: func(context.Context, *Runtime) error { started = true; return nil }}
			for _, flags := range [][]string{nil, {"-check"}} {
				var stdout, stderr bytes.Buffer
				code := Main(p, append([]string{"-config", repoConfig(t)}, flags...), &stdout, &stderr)
				if code != ExitFailure || started {
					t.Fatalf("%v: exit %d, started %v, want 1 and not started; stderr %s", flags, code, started, stderr.String())
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr.String(), w) {
						t.Errorf("%v: stderr %q, want %q in it", flags, stderr.String(), w)
					}
				}
			}
			t.Setenv("RIVERWATCH_MODE", "development")
			var stderr bytes.Buffer
			if code := Main(p, []string{"-config", repoConfig(t)}, &bytes.Buffer{}, &stderr); code != ExitOK || !started {
				t.Fatalf("development mode: exit %d, started %v; stderr %s", code, started, stderr.String())
			}
		})
	}
}

func TestAProductionDeploymentStarts(t *testing.T) {
	for k, v := range productionEnv(t) {
		t.Setenv(k, v)
	}
	for _, svc := range []string{"gateway", "assessor", "responder", "archiver", "api"} {
		var stdout, stderr bytes.Buffer
		p := Program{Name: svc, Start: func(context.Context, *Runtime) error { return nil }}
		if code := Main(p, []string{"-check", "-config", repoConfig(t)}, &stdout, &stderr); code != ExitOK {
			t.Errorf("%s -check: exit %d: %s", svc, code, stderr.String())
		}
	}
}
