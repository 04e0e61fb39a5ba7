// Package auth authenticates API callers by bearer token against the tokens file
// (auth.tokens_file: a YAML list of {token, name, role, jurisdictions}) and answers what a
// caller may do.
package auth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Roles, from least to most powerful.
const (
	RoleViewer    = "viewer"
	RoleResponder = "responder"
	RoleAdmin     = "admin"
)

// AllJurisdictions in a token's list grants every jurisdiction.
const AllJurisdictions = "*"

// Principal is an authenticated caller.
type Principal struct {
	Token         string   `yaml:"token" json:"-"`
	Name          string   `yaml:"name" json:"name"`
	Role          string   `yaml:"role" json:"role"`
	Jurisdictions []string `yaml:"jurisdictions" json:"jurisdictions"`
}

// Can reports whether the principal's role includes the given role.
func (p *Principal) Can(role string) bool { return rank(p.Role) >= rank(role) }

// Sees reports whether the principal may see a jurisdiction.
func (p *Principal) Sees(jurisdiction string) bool {
	return slices.Contains(p.Jurisdictions, AllJurisdictions) || slices.Contains(p.Jurisdictions, jurisdiction)
}

// SeesAny reports whether the principal sees at least one of the jurisdictions.
func (p *Principal) SeesAny(jurisdictions []string) bool {
	return slices.ContainsFunc(jurisdictions, p.Sees)
}

func rank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleResponder:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Errors returned by Authenticate.
var (
	ErrNoToken  = errors.New("missing bearer token")
	ErrBadToken = errors.New("unknown token")
)

// Tokens is the loaded tokens file.
type Tokens struct{ list []Principal }

// Load reads and validates a tokens file.
func Load(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	var list []Principal
	if err := yaml.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, p := range list {
		switch {
		case p.Token == "":
			return nil, fmt.Errorf("tokens file %s: entry %d: token is empty", path, i+1)
		case rank(p.Role) == 0:
			return nil, fmt.Errorf("tokens file %s: entry %d (%s): role %q is not viewer, responder or admin", path, i+1, p.Name, p.Role)
		case seen[p.Token]:
			return nil, fmt.Errorf("tokens file %s: entry %d (%s): duplicate token", path, i+1, p.Name)
		}
		seen[p.Token] = true
	}
	return &Tokens{list: list}, nil
}

// New returns Tokens from a list, for tests and tools.
func New(list []Principal) *Tokens { return &Tokens{list: list} }

// Lookup returns the principal for a token, comparing in constant time.
func (t *Tokens) Lookup(token string) (*Principal, bool) {
	for i := range t.list {
		if subtle.ConstantTimeCompare([]byte(t.list[i].Token), []byte(token)) == 1 {
			return &t.list[i], true
		}
	}
	return nil, false
}

// Authenticate returns the principal of a request's bearer token.
func (t *Tokens) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if tok := r.URL.Query().Get("access_token"); tok != "" { // EventSource cannot set headers
			token = tok
		} else {
			return nil, ErrNoToken
		}
	}
	p, found := t.Lookup(strings.TrimSpace(token))
	if !found {
		return nil, ErrBadToken
	}
	return p, nil
}
