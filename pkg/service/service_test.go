package service

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/config"
)

func writeConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riverwatch.yaml")
	if err := os.WriteFile(path, []byte("log:\n  level: error\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMainExitCodes(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		args    []string
		start   func(context.Context, *Runtime) error
		check   func(cfg any) error
		code    int
		wantErr string
	}{
		{"a component that ends ends the run, 0", nil, func(_ context.Context, rt *Runtime) error {
			rt.Add("once", func(context.Context) error { return nil })
			return nil
		}, nil, ExitOK, ""},
		{"a component that fails, 1", nil, func(_ context.Context, rt *Runtime) error {
			rt.Add("failing", func(context.Context) error { return boom })
			return nil
		}, nil, ExitFailure, ""},
		{"a start that fails, 1", nil, func(context.Context, *Runtime) error { return boom }, nil, ExitFailure, ""},
		{"a usage error, 2", nil, func(context.Context, *Runtime) error { return UsageError{Err: errors.New("no such command")} },
			nil, ExitUsage, "no such command"},
		{"an unknown flag, 2", []string{"-frobnicate"}, nil, nil, ExitUsage, "flag provided but not defined"},
		{"-check runs the program's check", []string{"-check"}, nil, func(any) error { return errors.New("sites: line 3\nsites: line 9") },
			ExitFailure, "x: sites: line 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Program{Name: "x", Start: tt.start}
			if tt.check != nil {
				p.Check = func(c *config.Config) error { return tt.check(c) }
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"-config", writeConfig(t)}, tt.args...)
			if code := Main(p, args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q, want %q in it", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestRuntimeStopsComponentsInReverseOrder(t *testing.T) {
	var order []string
	p := Program{Name: "x", Start: func(_ context.Context, rt *Runtime) error {
		rt.Serve("127.0.0.1:0")
		rt.Add("first", func(ctx context.Context) error { <-ctx.Done(); order = append(order, "first"); return nil })
		rt.Add("second", func(ctx context.Context) error { order = append(order, "second"); return nil })
		return nil
	}}
	var stderr bytes.Buffer
	if code := Main(p, []string{"-config", writeConfig(t)}, &bytes.Buffer{}, &stderr); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("order %v", order)
	}
}
