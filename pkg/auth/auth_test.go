package auth

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuthenticateReadsTheBearerToken(t *testing.T) {
	tokens := New([]Principal{{Token: "t-resp", Name: "duty", Role: RoleResponder, Jurisdictions: []string{"changji"}}})
	tests := []struct {
		name, header, query string
		want                error
	}{
		{"bearer header", "Bearer t-resp", "", nil},
		{"access_token query for EventSource", "", "t-resp", nil},
		{"no token", "", "", ErrNoToken},
		{"basic auth is not a bearer token", "Basic dC1yZXNw", "", ErrNoToken},
		{"unknown token", "Bearer nope", "", ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/sites?access_token="+tt.query, nil)
			if tt.query == "" {
				r = httptest.NewRequest("GET", "/api/v1/sites", nil)
			}
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			p, err := tokens.Authenticate(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && p.Name != "duty" {
				t.Fatalf("principal = %+v", p)
			}
		})
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
		{"unknown role", "- {token: a, name: x, role: boss}", `role "boss"`},
		{"empty token", "- {token: '', name: x, role: viewer}", "token is empty"},
		{"duplicate token", "- {token: a, name: x, role: viewer}\n- {token: a, name: y, role: admin}", "duplicate token"},
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
	if _, err := Load(filepath.Join("..", "..", "configs", "tokens.yaml")); err != nil {
		t.Fatalf("repository tokens file: %v", err)
	}
}
