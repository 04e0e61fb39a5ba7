package main

import (
	"bytes"
	"strings"
	"testing"
)

const input = `site,parameter,value,unit,time,below_dl,dl
S1,nh3n,0.5,mg/L,2025-06-01 08:00,,
S1,cod,0.01L,mg/L,2025-06-01,,
S2,do,7,mg/L,20250601080000,,
`

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name            string
		args            []string
		stdin           string
		code            int
		inStdout, inErr string
	}{
		{"-version", []string{"-version"}, "", 0, "wqeval version ", ""},
		{"a report", nil, input, 0, "S1: ", ""},
		{"below the detection limit", nil, input, 0, "below DL, counted as DL/2", ""},
		{"-check of a good input", []string{"-check"}, input, 0, "3 rows: OK", ""},
		{"-check lists every rejected row", []string{"-check"}, input + "S3,tp,abc,mg/L,2025-06-01,,\nS3,xx,1,mg/L,2025-06-01,,\n", 1, "",
			"line 5 rejected: value \"abc\": not a number"},
		{"a bad header", nil, "site,value\n", 1, "", `column "parameter" missing`},
		{"a bad body", []string{"-body", "sea"}, input, 2, "", "wqeval:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, strings.NewReader(tt.stdin), &out, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errb.String(), tt.inErr) {
				t.Errorf("stdout %q\nstderr %q", out.String(), errb.String())
			}
		})
	}
}
