package kubernetes

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "write base/prometheusrule.yaml from deploy/prometheus/riverwatch.rules.yml")

const (
	rulesFile          = "../prometheus/riverwatch.rules.yml"
	prometheusRuleFile = "base/prometheusrule.yaml"
)

// prometheusRule wraps the rules file, as written, in a PrometheusRule: the rules have one
// source, checked by promtool (deploy/check-artefacts.sh), and the operator gets the same.
func prometheusRule(rules []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`# prometheus-operator: riverwatch's recording rules and alerts. GENERATED from
# deploy/prometheus/riverwatch.rules.yml (edit that file, then:
#   cd deploy/kubernetes && go test -run TestPrometheusRule -update).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: riverwatch
  labels:
    app.kubernetes.io/name: riverwatch
spec:
`)
	for _, line := range strings.SplitAfter(string(rules), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue // the file's header comment is about the file
		}
		if line != "\n" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

// TestPrometheusRuleIsTheRulesFile keeps the PrometheusRule in step with the rules file that
// promtool checks and tests: the generated manifest must be what is checked in, and its
// groups, decoded strictly as the operator's type, must equal the file's.
func TestPrometheusRuleIsTheRulesFile(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	want := prometheusRule(rules)
	if *update {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not generated from %s: run `go test -run TestPrometheusRule -update` in deploy/kubernetes", prometheusRuleFile, rulesFile)
	}
	objs, err := decodeAll(prometheusRuleFile, got)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode %s: %d objects, %v", prometheusRuleFile, len(objs), err)
	}
	pr := objs[0].obj.(*monitoringv1.PrometheusRule)
	var spec monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(rules, &spec); err != nil {
		t.Fatalf("%s as a PrometheusRule spec: %v", rulesFile, err)
	}
	if len(spec.Groups) < 2 || !reflect.DeepEqual(pr.Spec, spec) {
		t.Errorf("the PrometheusRule's %d groups differ from the rules file's %d", len(pr.Spec.Groups), len(spec.Groups))
	}
	alerts := 0
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts++
				if !strings.Contains(r.Annotations["runbook_url"], "operations.md#") {
					t.Errorf("alert %s has no runbook link", r.Alert)
				}
			}
		}
	}
	if alerts == 0 {
		t.Error("the PrometheusRule carries no alerts")
	}
}
