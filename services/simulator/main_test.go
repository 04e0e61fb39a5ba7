package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/service/servicetest"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no command", nil, 2, "", "usage: simulator <command>"},
		{"unknown command", []string{"fly"}, 2, "", `unknown command "fly"`},
		{"bad flag", []string{"run", "-warp", "9"}, 2, "", "flag provided but not defined: -warp"},
		{"sites", []string{"sites", "-n", "3"}, 0, "LOAD-00002", ""},
		{"load beyond the network", []string{"load", "-config", "../../configs/riverwatch.yaml", "-stations", "500"}, 2, "", "simulator sites -n 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RIVERWATCH_SITES_FILE", "../../configs/sites.yaml")
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errb.String(), tt.inStderr) {
				t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
			}
		})
	}
}

func TestSitesCommandWritesALoadableNetwork(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"sites", "-n", "30"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	net, err := network.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Sites()) != 30 {
		t.Errorf("%d sites", len(net.Sites()))
	}
}

func TestCommonFlags(t *testing.T) { servicetest.CommonFlags(t, "simulator", run) }
