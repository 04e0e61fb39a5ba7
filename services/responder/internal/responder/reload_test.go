package responder

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// A new rota reaches the responder without a restart: ReloadContacts swaps in a valid
// contacts file, and keeps the directory in use when the new file does not load or drops a
// role the playbooks name.
func TestReloadContactsSwapsInAValidRotaAndKeepsTheOldOneOtherwise(t *testing.T) {
	root := testinfra.ModuleRoot(t)
	orig, err := os.ReadFile(filepath.Join(root, "configs", "contacts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "contacts.yaml")
	write := func(b string) {
		if err := os.WriteFile(path, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(string(orig))
	cfg, err := config.Load(filepath.Join(root, "configs", "riverwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContactsFile = path
	r, err := New(cfg, Deps{Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	const old, renamed = "乌鲁木齐市头屯河区河长办值班室", "乌鲁木齐市头屯河区河长办新值班室"
	desk := func() string {
		cs := r.contacts.For("urumqi", "river_chief_office")
		if len(cs) == 0 {
			return ""
		}
		return cs[0].Name
	}
	if desk() != old {
		t.Fatalf("contact before the reload %q, want %q", desk(), old)
	}
	for _, c := range []struct {
		name, file, wantErr, want string
	}{
		{"not YAML", "roles: [", "contacts_file", old},
		{"a role the playbooks name removed", strings.Replace(string(orig), "  emergency: 应急管理局\n", "", 1), "contacts_file", old},
		{"the new rota", strings.Replace(string(orig), old, renamed, 1), "", renamed},
	} {
		write(c.file)
		err := r.ReloadContacts()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
		}
		if got := desk(); got != c.want {
			t.Errorf("%s: contact %q, want %q", c.name, got, c.want)
		}
	}
}
