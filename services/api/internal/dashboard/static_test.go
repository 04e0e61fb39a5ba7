package dashboard_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/api/internal/dashboard"
	"gopkg.in/yaml.v3"
)

// The dashboard is served with a Content-Security-Policy that allows no inline script or
// style (M10), and every server string must reach markup through esc() (L8). These checks
// read the files themselves, so a regression is caught without a browser.
func TestDashboardFilesHoldNoInlineScriptOrStyle(t *testing.T) {
	rules := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"an inline style attribute", regexp.MustCompile(`style\s*=\s*["'$]`)},
		{"a <style> element", regexp.MustCompile(`<style[\s>]`)},
		{"a <script> without src", regexp.MustCompile(`<script(\s+type="[^"]*")?\s*>`)},
		{"an inline event handler", regexp.MustCompile(`\son[a-z]+\s*=\s*["'$]`)},
		{"a javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
		{"an interpolation into an attribute without esc()", regexp.MustCompile(`(?:data-[a-z]+|title|href|src|class|value)="\$\{(?:[^}]*\?)?\s*(?:[a-zA-Z_.]+)\s*(?:\|\|[^}]*)?\}"`)},
	}
	assets := dashboard.Assets()
	for _, name := range []string{"index.html", "app.js"} {
		data, err := fs.ReadFile(assets, name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, r := range rules {
				if m := r.re.FindString(line); m != "" {
					t.Errorf("%s:%d: %s: %q", name, i+1, r.name, m)
				}
			}
		}
	}
}

// Steps carry role ids; the incident page shows the Chinese names of configs/contacts.yaml
// (its roles:), so the dashboard's names must be the same, and English ones must exist.
func TestTheDashboardNamesEveryRoleAsTheContactsFileDoes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testinfra.ModuleRoot(t), "configs", "contacts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Roles map[string]string `yaml:"roles"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	js, err := fs.ReadFile(dashboard.Assets(), "app.js")
	if err != nil {
		t.Fatal(err)
	}
	zh, en, ok := strings.Cut(string(js), "\n  en: {")
	if !ok || len(f.Roles) == 0 {
		t.Fatalf("no English section in app.js, or no roles in contacts.yaml (%d)", len(f.Roles))
	}
	for id, name := range f.Roles {
		t.Run(id, func(t *testing.T) {
			if want := fmt.Sprintf("'role.%s': '%s'", id, name); !strings.Contains(zh, want) {
				t.Errorf("app.js's Chinese names lack %s", want)
			}
			if !strings.Contains(en, fmt.Sprintf("'role.%s': '", id)) {
				t.Errorf("app.js has no English name of role %s", id)
			}
		})
	}
}
