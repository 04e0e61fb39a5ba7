package dashboard_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/services/api/internal/dashboard"
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
