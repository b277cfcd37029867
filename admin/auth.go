package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"

	"github.com/bidsieve/bidsieve/config"
)

// roleRank orders the roles: a token may do what its role and every weaker role may.
var roleRank = map[string]int{config.RoleViewer: 1, config.RoleManager: 2, config.RoleAdmin: 3}

// principal is the holder of a valid token.
type principal struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (p principal) may(role string) bool { return roleRank[p.Role] >= roleRank[role] }

type tokenEntry struct {
	hash [sha256.Size]byte
	who  principal
}

// tokens holds the parsed tokens of one configuration.
type tokens struct {
	cfg     *config.Config // the configuration they were parsed from
	entries []tokenEntry
}

// tokenCache re-parses the tokens only when the configuration in force changes.
type tokenCache struct {
	mu  sync.Mutex
	cur *tokens
}

func (c *tokenCache) get(cfg *config.Config) *tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.cur.cfg == cfg {
		return c.cur
	}
	t := &tokens{cfg: cfg}
	for _, tok := range cfg.Auth.Tokens {
		var e tokenEntry
		b, err := hex.DecodeString(tok.SHA256)
		if err != nil || len(b) != sha256.Size {
			continue // Validate refuses such a configuration; never match it
		}
		copy(e.hash[:], b)
		e.who = principal{Name: tok.Name, Role: tok.Role}
		t.entries = append(t.entries, e)
	}
	c.cur = t
	return t
}

// lookup finds the token's holder. It hashes the presented token and compares the hash
// with every configured one in constant time, without stopping at a match, so that the
// time taken says nothing about which hash, or how much of one, matched.
func (t *tokens) lookup(token string) (principal, bool) {
	sum := sha256.Sum256([]byte(token))
	var found principal
	ok := 0
	for i := range t.entries {
		m := subtle.ConstantTimeCompare(sum[:], t.entries[i].hash[:])
		if m == 1 && ok == 0 {
			found = t.entries[i].who
		}
		ok |= m
	}
	return found, ok == 1
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// HashToken returns the hex SHA-256 of a token: what auth.tokens[].sha256 holds.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
