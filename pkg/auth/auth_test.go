package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAuthenticateReadsTheBearerToken(t *testing.T) {
	tokens := New([]Principal{{Token: "t-resp", Name: "duty", Role: RoleResponder, Jurisdictions: []string{"changji"}}})
	tests := []struct {
		name, header, query string
		queryAllowed        bool
		want                error
	}{
		{"bearer header", "Bearer t-resp", "", false, nil},
		{"access_token query on a route that allows it", "", "t-resp", true, nil},
		{"access_token query on any other route is no token", "", "t-resp", false, ErrNoToken},
		{"no token", "", "", true, ErrNoToken},
		{"basic auth is not a bearer token", "Basic dC1yZXNw", "", false, ErrNoToken},
		{"unknown token", "Bearer nope", "", false, ErrBadToken},
		{"a prefix of a token is unknown", "Bearer t-res", "", false, ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/api/v1/sites"
			if tt.query != "" {
				target += "?access_token=" + tt.query
			}
			r := httptest.NewRequest("GET", target, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			var p *Principal
			var err error
			h := func(_ http.ResponseWriter, r *http.Request) { p, err = tokens.Authenticate(r) }
			if tt.queryAllowed {
				h = AllowQueryToken(h)
			}
			h(httptest.NewRecorder(), r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && p.Name != "duty" {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
}

func TestLookupFindsEveryEntryWhetherStoredPlainOrHashed(t *testing.T) {
	tokens := New([]Principal{
		{Token: "first", Name: "a", Role: RoleViewer, Jurisdictions: []string{"*"}},
		{Token: Digest("second-token"), Name: "b", Role: RoleViewer, Jurisdictions: []string{"*"}},
		{Token: "third", Name: "c", Role: RoleViewer, Jurisdictions: []string{"*"}},
	})
	for token, want := range map[string]string{"first": "a", "second-token": "b", "third": "c"} {
		p, ok := tokens.Lookup(token)
		if !ok || p.Name != want {
			t.Errorf("Lookup(%q) = %+v, %v; want %s", token, p, ok, want)
		}
	}
	for _, bad := range []string{"", "firs", "first ", Digest("second-token"), "sha256:"} {
		if p, ok := tokens.Lookup(bad); ok {
			t.Errorf("Lookup(%q) = %s, want no match (a stored digest is not itself a token)", bad, p.Name)
		}
	}
}

func TestRolesAndJurisdictions(t *testing.T) {
	viewer := Principal{Role: RoleViewer, Jurisdictions: []string{"changji"}}
	admin := Principal{Role: RoleAdmin, Jurisdictions: []string{AllJurisdictions}}
	if viewer.Can(RoleResponder) || !viewer.Can(RoleViewer) {
		t.Error("a viewer may read and nothing more")
	}
	if !admin.Can(RoleResponder) || !admin.Can(RoleAdmin) {
		t.Error("an admin may do everything")
	}
	if !viewer.Sees("changji") || viewer.Sees("urumqi") {
		t.Error("a viewer sees its own jurisdiction only")
	}
	if !viewer.SeesAny([]string{"urumqi", "changji"}) || viewer.SeesAny([]string{"xpcc6"}) {
		t.Error("SeesAny must match any listed jurisdiction")
	}
	if !admin.Sees("xpcc6") {
		t.Error(`"*" grants every jurisdiction`)
	}
}

func TestLoadRefusesBadTokenFiles(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"unknown role", "- {token: a, name: x, role: boss, jurisdictions: ['*']}", `role "boss"`},
		{"empty token", "- {token: '', name: x, role: viewer, jurisdictions: ['*']}", "token is empty"},
		{"duplicate token", "- {token: a, name: x, role: viewer, jurisdictions: ['*']}\n- {token: a, name: y, role: admin, jurisdictions: ['*']}", "duplicate token"},
		{"a token and its digest are one token", "- {token: a, name: x, role: viewer, jurisdictions: ['*']}\n- {token: '" + Digest("a") + "', name: y, role: admin, jurisdictions: ['*']}", "duplicate token"},
		{"malformed digest", "- {token: 'sha256:abc', name: x, role: viewer, jurisdictions: ['*']}", "64 hex digits"},
		{"token without jurisdictions (M1)", "- {token: a, name: contractor, role: viewer}", "jurisdictions must list"},
		{"token with an empty jurisdiction list", "- {token: a, name: contractor, role: viewer, jurisdictions: []}", "jurisdictions must list"},
		{"token with an empty jurisdiction", "- {token: a, name: contractor, role: viewer, jurisdictions: ['']}", "jurisdictions must list"},
		{"two tokens with one name (L10)", "- {token: a, name: duty, role: viewer, jurisdictions: ['*']}\n- {token: b, name: duty, role: admin, jurisdictions: ['*']}", `name "duty" is already entry 1's`},
		{"token without a name", "- {token: a, role: viewer, jurisdictions: ['*']}", "name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.yaml")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadAcceptsHashedTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	body := "- {token: '" + Digest("s3cret-token") + "', name: duty, role: responder, jurisdictions: [changji]}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tokens.Lookup("s3cret-token"); !ok || p.Name != "duty" {
		t.Fatalf("Lookup = %+v, %v", p, ok)
	}
	if dev := tokens.Development(); len(dev) != 0 {
		t.Errorf("Development() = %v, want none", dev)
	}
}

func TestDevelopmentNamesTheExamplesPlaceholders(t *testing.T) {
	tokens := New([]Principal{
		{Token: "REPLACE-ME-admin-token", Name: "管理员"},
		{Token: "a-real-token", Name: "duty"},
	})
	if got := tokens.Development(); !slices.Equal(got, []string{"管理员"}) {
		t.Fatalf("Development() = %v, want the placeholder's entry", got)
	}
}

func TestDevelopmentTokenDigestsMatchTheRepositoryFile(t *testing.T) {
	tokens, err := Load(filepath.Join("..", "..", "configs", "tokens.yaml"))
	if err != nil {
		t.Fatalf("repository tokens file: %v", err)
	}
	var want []string
	for _, p := range tokens.set.Load().list {
		want = append(want, Digest(p.Token))
	}
	if got := DevelopmentTokenDigests(); !slices.Equal(got, want) {
		t.Fatalf("DevelopmentTokenDigests() = %v\nwant (from configs/tokens.yaml) %v", got, want)
	}
	if dev := tokens.Development(); len(dev) != len(tokens.set.Load().list) {
		t.Errorf("Development() names %d of the file's %d entries", len(dev), len(tokens.set.Load().list))
	}
}
