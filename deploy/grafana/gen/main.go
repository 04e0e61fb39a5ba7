// Command gen writes riverwatch's Grafana dashboards (deploy/grafana/dashboards/*.json) from
// the definitions in dashboards.go, so that every panel has the same data source variable,
// units and layout, and the test can check each query against the metrics the code defines.
//
//	go run ./deploy/grafana/gen            (from the repository root)
//	go run ./deploy/grafana/gen -out DIR
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("out", "deploy/grafana/dashboards", "directory to write the dashboards into")
	rules := flag.String("rules", "", "instead, write every query as a recording rule into this file (for promtool check rules)")
	flag.Parse()
	var err error
	if *rules != "" {
		err = writeRules(*rules)
	} else {
		err = write(*out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// write renders every dashboard into dir as <uid>.json.
func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, d := range dashboards() {
		b, err := render(d)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, d.UID+".json"), b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", d.UID, err)
		}
	}
	return nil
}

// writeRules writes every dashboard query as a recording rule, so that promtool, which
// parses rule files but not single expressions, checks that each one is valid PromQL.
func writeRules(path string) error {
	var buf bytes.Buffer
	buf.WriteString("groups:\n")
	for _, d := range dashboards() {
		fmt.Fprintf(&buf, "  - name: %s\n    rules:\n", d.UID)
		for i, e := range d.exprs() {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			fmt.Fprintf(&buf, "      - record: dashboard:%s:query_%d\n        expr: %s\n", strings.ReplaceAll(d.UID, "-", "_"), i, b)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// exprs lists every query of the dashboard, in panel order.
func (d dashboard) exprs() []string {
	var out []string
	for _, r := range d.Rows {
		for _, p := range r.Panels {
			for _, qq := range p.Queries {
				out = append(out, qq.Expr)
			}
		}
	}
	return out
}

// render returns the dashboard's JSON model as Grafana stores it, indented, newline-ended.
func render(d dashboard) ([]byte, error) {
	m := d.model()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.UID, err)
	}
	return buf.Bytes(), nil
}
