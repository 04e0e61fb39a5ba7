package service

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// maxMainLines is the architecture's bound on a service's main.go: flags, config and
// wiring go through Main, a service's logic lives in its packages.
const maxMainLines = 60

func TestEveryServiceMainIsAtMostSixtyLines(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join("..", "..", "services", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mains) < 7 {
		t.Fatalf("found %d services/*/main.go, want every service's (7): %v", len(mains), mains)
	}
	for _, path := range mains {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(src, []byte("\n")); n > maxMainLines {
			t.Errorf("%s has %d lines, more than %d: move its logic into the service's packages", path, n, maxMainLines)
		}
	}
}
