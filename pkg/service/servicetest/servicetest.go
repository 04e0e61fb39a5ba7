// Package servicetest checks that a binary built on pkg/service answers the flags every
// riverwatch binary has: -version, and -check on a good and a bad configuration.
package servicetest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// Run is a binary's run(args, stdout, stderr) exit code.
type Run func(args []string, stdout, stderr io.Writer) int

// productionRefusals are the keys each binary's -check names in production mode for the
// repository's configuration (its development defaults) with RIVERWATCH_ASSESSOR_LISTEN=:8082.
func productionRefusals(name string) []string {
	switch name {
	case "gateway":
		return []string{"gateway.metrics_listen", "auth.tokens_file", "sites_file"}
	case "assessor":
		return []string{"assessor.listen"}
	case "responder":
		return []string{"responder.webhook_secret", "responder.clickhouse_username"}
	case "archiver":
		return []string{"clickhouse.password"}
	case "api":
		return []string{"api.metrics_listen", "api.clickhouse_username", "auth.tokens_file"}
	}
	return nil // the simulator is a development tool
}

// CommonFlags tests -version, -check of the repository's configuration in development mode
// (OK, exit 0) and in production mode (its development defaults refused, each key named),
// and -check of configurations with a misspelt key or gateway.max_connections: -1 (exit 1,
// naming the key). args, when given, come before the flags (a subcommand).
func CommonFlags(t *testing.T, name string, run Run, args ...string) {
	t.Helper()
	repoConfig := filepath.Join(testinfra.ModuleRoot(t), "configs", "riverwatch.yaml")
	misspelt := filepath.Join(t.TempDir(), "riverwatch.yaml")
	if err := os.WriteFile(misspelt, []byte("log:\n  level: info\nsimulatr:\n  gateway: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		flags    []string
		env      map[string]string
		code     int
		wantOut  string
		wantErrs []string
	}{
		{"-version prints the version, the commit and the Go version", []string{"-version"}, nil, 0, name + " version ", nil},
		{"-check of the repository's configuration is OK", []string{"-check", "-config", repoConfig}, nil, 0, "OK", nil},
		{"-check honours RIVERWATCH_CONFIG", []string{"-check"}, map[string]string{"RIVERWATCH_CONFIG": repoConfig}, 0, repoConfig + ": OK", nil},
		{"-check refuses a misspelt key, naming it and the file", []string{"-check", "-config", misspelt}, nil, 1, "",
			[]string{"unknown key simulatr.gateway", misspelt}},
		{"-check refuses gateway.max_connections: -1, naming the key", []string{"-check", "-config", repoConfig},
			map[string]string{"RIVERWATCH_GATEWAY_MAX_CONNECTIONS": "-1"}, 1, "", []string{"gateway.max_connections"}},
		{"-check reports a referenced file that is missing", []string{"-check", "-config", repoConfig},
			map[string]string{"RIVERWATCH_SITES_FILE": "/nonexistent/sites.yaml"}, 1, "", []string{"/nonexistent/sites.yaml"}},
	}
	production := struct {
		name     string
		flags    []string
		env      map[string]string
		code     int
		wantOut  string
		wantErrs []string
	}{"-check in production mode refuses the repository's development defaults, naming each key", []string{"-check", "-config", repoConfig},
		map[string]string{"RIVERWATCH_MODE": "production", "RIVERWATCH_ASSESSOR_LISTEN": ":8082"}, 1, "", nil}
	for _, key := range productionRefusals(name) {
		production.wantErrs = append(production.wantErrs, "config key "+key+" ")
	}
	if production.wantErrs == nil {
		production.name, production.code, production.wantOut = "-check in production mode: nothing to refuse", 0, "OK"
	}
	tests = append(tests, production)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if name == "archiver" && strings.Contains(tt.name, "missing") {
				t.Skip("the archiver reads no file besides its configuration")
			}
			t.Setenv("RIVERWATCH_MODE", "development") // as the local scripts and the tests run
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(append(append([]string{}, args...), tt.flags...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout %q, want %q in it", stdout.String(), tt.wantOut)
			}
			for _, w := range tt.wantErrs {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q, want %q in it", stderr.String(), w)
				}
			}
		})
	}
}
