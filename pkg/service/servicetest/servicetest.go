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

// CommonFlags tests -version, -check of the repository's configuration (OK, exit 0), and
// -check of configurations with a misspelt key or gateway.max_connections: -1 (exit 1,
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if name == "archiver" && strings.Contains(tt.name, "missing") {
				t.Skip("the archiver reads no file besides its configuration")
			}
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
