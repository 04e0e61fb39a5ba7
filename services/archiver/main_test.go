package main

import (
	"io"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/service/servicetest"
)

func TestUnknownCommandIsAUsageError(t *testing.T) {
	t.Setenv("RIVERWATCH_MODE", "development") // the defaults' empty ClickHouse password is refused in production
	var out strings.Builder
	if code := run([]string{"-config", "", "frobnicate"}, io.Discard, &out); code != 2 || !strings.Contains(out.String(), "usage: archiver") {
		t.Errorf("exit %d, output %q; want 2 and the usage", code, out.String())
	}
}

func TestCommonFlags(t *testing.T) { servicetest.CommonFlags(t, "archiver", run) }
