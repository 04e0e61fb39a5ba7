// Package auth authenticates API callers by bearer token against the tokens file
// (auth.tokens_file: a YAML list of {token, name, role, jurisdictions}) and answers what a
// caller may do.
//
// A token is stored either as given or as its SHA-256 digest, "sha256:<64 hex digits>"
// (`printf %s "$TOKEN" | sha256sum`); either way only the digest is kept in memory, and a
// presented token is hashed and compared with every entry in constant time, so the
// comparison leaks neither the token's length nor which entry matched.
//
// Every entry must name a unique actor (its name is the audit identity of what it does) and
// list the jurisdictions it sees ("*" for all): a missing list is refused at load, never
// read as "everything".
//
// The token is read from the Authorization header only. The access_token query parameter
// (for EventSource, which cannot set headers) is honoured only on routes wrapped in
// AllowQueryToken.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"

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

// HashPrefix marks a token stored as its SHA-256 digest in hex.
const HashPrefix = "sha256:"

// Principal is an authenticated caller.
type Principal struct {
	// Token is the entry's token as the file gives it: the token itself or
	// HashPrefix + its hex digest. Never serialised.
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

// Tokens is the loaded tokens file. Its content can be replaced while it is in use
// (Replace: a reload on SIGHUP); a request authenticates against one version or the other,
// never a mix.
type Tokens struct {
	set atomic.Pointer[tokenSet]
}

// tokenSet is one loaded tokens file.
type tokenSet struct {
	list    []Principal
	digests [][sha256.Size]byte // digests[i] is list[i]'s token digest
}

func newTokens(s *tokenSet) *Tokens {
	t := &Tokens{}
	t.set.Store(s)
	return t
}

// Replace makes t authenticate with n's tokens from now on (a reload validated by Load,
// and by whatever else must hold, before it is swapped in). Principals already handed out
// stay valid.
func (t *Tokens) Replace(n *Tokens) { t.set.Store(n.set.Load()) }

// Len returns the number of entries.
func (t *Tokens) Len() int { return len(t.set.Load().list) }

// Load reads and validates a tokens file: every entry has a token (or a well-formed
// digest), a known role, at least one jurisdiction, and a token and a name of its own.
func Load(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	var list []Principal
	if err := yaml.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	digests := make([][sha256.Size]byte, len(list))
	seen := map[[sha256.Size]byte]bool{}
	names := map[string]int{}
	var errs []error
	for i, p := range list {
		refuse := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("tokens file %s: entry %d (%s): %s", path, i+1, p.Name, fmt.Sprintf(format, args...)))
		}
		d, derr := digestOf(p.Token)
		switch {
		case p.Token == "":
			refuse("token is empty")
		case derr != nil:
			refuse("%v", derr)
		case seen[d]:
			refuse("duplicate token")
		}
		seen[d] = true
		digests[i] = d
		switch {
		case strings.TrimSpace(p.Name) == "":
			refuse("name is empty (it is the audit identity of what the token does)")
		case names[p.Name] != 0:
			refuse("name %q is already entry %d's: names must be unique, they are the audit identity", p.Name, names[p.Name])
		default:
			names[p.Name] = i + 1
		}
		if rank(p.Role) == 0 {
			refuse("role %q is not viewer, responder or admin", p.Role)
		}
		if len(p.Jurisdictions) == 0 || slices.ContainsFunc(p.Jurisdictions, func(j string) bool { return strings.TrimSpace(j) == "" }) {
			refuse(`jurisdictions must list what the token sees ("*" for all), none empty`)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newTokens(&tokenSet{list: list, digests: digests}), nil
}

// New returns Tokens from a list, for tests and tools; it does not validate (Load does).
// An entry whose token is a malformed digest never matches.
func New(list []Principal) *Tokens {
	s := &tokenSet{list: list, digests: make([][sha256.Size]byte, len(list))}
	for i, p := range list {
		s.digests[i], _ = digestOf(p.Token)
	}
	return newTokens(s)
}

// Digest returns the SHA-256 digest of a token as the tokens file may store it
// (HashPrefix + hex).
func Digest(token string) string {
	d := sha256.Sum256([]byte(token))
	return HashPrefix + hex.EncodeToString(d[:])
}

// digestOf returns the digest of a file entry's token: decoded when it is stored hashed,
// computed when it is stored as given.
func digestOf(token string) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	h, hashed := strings.CutPrefix(token, HashPrefix)
	if !hashed {
		return sha256.Sum256([]byte(token)), nil
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return d, fmt.Errorf("token %s… is not %s followed by 64 hex digits", HashPrefix, HashPrefix)
	}
	copy(d[:], b)
	return d, nil
}

// Lookup returns the principal for a token. The token is hashed and its digest compared
// with every entry's, always all of them, each comparison over the same 32 bytes: the time
// taken depends on neither the token's length nor the position of the matching entry.
func (t *Tokens) Lookup(token string) (*Principal, bool) {
	s := t.set.Load()
	d := sha256.Sum256([]byte(token))
	match := -1
	for i := range s.digests {
		eq := subtle.ConstantTimeCompare(s.digests[i][:], d[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return nil, false
	}
	return &s.list[match], true
}

// Names returns the names of the entries whose token digest is among digests (for the
// production check: which entries hold a development token).
func (t *Tokens) Names(digests []string) []string {
	var out []string
	set := t.set.Load()
	for i := range set.digests {
		for _, s := range digests {
			want, err := digestOf(s)
			if err == nil && subtle.ConstantTimeCompare(set.digests[i][:], want[:]) == 1 {
				out = append(out, set.list[i].Name)
				break
			}
		}
	}
	return out
}

type queryTokenKey struct{}

// AllowQueryToken lets the requests of one route carry their token in the access_token
// query parameter (EventSource cannot set headers). Query strings end up in proxy and
// access logs, so only the event stream, which reads and carries no data, should opt in.
func AllowQueryToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		next(w, r.WithContext(context.WithValue(r.Context(), queryTokenKey{}, true)))
	}
}

// Authenticate returns the principal of a request's bearer token, read from the
// Authorization header, or from the access_token query parameter on a route wrapped in
// AllowQueryToken.
func (t *Tokens) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok := ""
		if allowed, _ := r.Context().Value(queryTokenKey{}).(bool); allowed {
			tok = r.URL.Query().Get("access_token")
		}
		if tok == "" {
			return nil, ErrNoToken
		}
		token = tok
	}
	p, found := t.Lookup(strings.TrimSpace(token))
	if !found {
		return nil, ErrBadToken
	}
	return p, nil
}
