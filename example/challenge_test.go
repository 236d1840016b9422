package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/dpoptest"
)

// TestEvery401CarriesAChallenge walks every way the example answers 401 and
// checks each carries a challenge with the realm (RFC 9110 §15.5.2: a 401
// MUST carry at least one challenge): Bearer first for Bearer requests, the
// DPoP challenge (with algs, RFC 9449 §7.1) first for refused DPoP requests,
// and under -dpop required the DPoP challenge alone. Every challenge names
// the metadata document (RFC 9728 §5.1).
func TestEvery401CarriesAChallenge(t *testing.T) {
	type req struct {
		name, method, path, bearer string
		body                       any
		hdr                        []string
		first                      string // scheme of the first challenge
	}
	run := func(t *testing.T, ts *testServer, tests []req, dpopOnly bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := ts.do(tt.method, tt.path, tt.bearer, tt.body, tt.hdr...)
				if res.status != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401: %s", res.status, res.raw)
				}
				ch := res.header.Values("WWW-Authenticate")
				if len(ch) == 0 {
					t.Fatalf("401 without WWW-Authenticate: %s", res.raw)
				}
				if !strings.HasPrefix(ch[0], tt.first+" ") || !strings.Contains(ch[0], `realm="`+realm+`"`) {
					t.Fatalf("challenge %q lacks the %s scheme first or the realm", ch[0], tt.first)
				}
				var bearer, dpop int
				for _, c := range ch {
					switch {
					case strings.HasPrefix(c, "Bearer "):
						bearer++
					case strings.HasPrefix(c, "DPoP ") && strings.Contains(c, `algs="`):
						dpop++
					default:
						t.Errorf("unexpected challenge %q", c)
					}
					if !strings.Contains(c, `resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"`) {
						t.Errorf("challenge %q does not name the metadata", c)
					}
				}
				if dpop != 1 || (dpopOnly && bearer != 0) || (!dpopOnly && bearer != 1) {
					t.Errorf("challenges %q: want one DPoP (with algs) and, unless DPoP is required, one Bearer", ch)
				}
			})
		}
	}

	ts := newTestServer(t)
	good := ts.login("alice", "alice-password")
	tampered := good.access[:len(good.access)-4] + "AAAA"
	wrongPassword := map[string]string{"username": "alice", "password": "wrong"}
	unknownUser := map[string]string{"username": "mallory", "password": "wrong"}
	c, thief := newDPoPClient(t), newDPoPClient(t)
	bound := c.mustLogin(ts)
	used := c.proof(ts, "GET", "/api/me", dpoptest.AccessToken(bound.access))
	if res := ts.do("GET", "/api/me", "", nil, "Authorization", "DPoP "+bound.access, "DPoP", used); res.status != http.StatusOK {
		t.Fatalf("DPoP call: %d %s", res.status, res.raw)
	}
	admin := ts.login("admin", "admin-password")
	run(t, ts, []req{
		{"login wrong password", "POST", "/auth/login", "", wrongPassword, []string{"User-Agent", "c401-1"}, "Bearer"},
		{"login unknown user", "POST", "/auth/login", "", unknownUser, []string{"User-Agent", "c401-2"}, "Bearer"},
		{"logout no token", "POST", "/auth/logout", "", nil, nil, "Bearer"},
		{"logout tampered token", "POST", "/auth/logout", tampered, nil, nil, "Bearer"},
		{"me no token", "GET", "/api/me", "", nil, nil, "Bearer"},
		{"me tampered token", "GET", "/api/me", tampered, nil, nil, "Bearer"},
		{"me wrong scheme", "GET", "/api/me", "", nil, []string{"Authorization", "Basic YWxpY2U6eA=="}, "Bearer"},
		{"admin no token", "GET", "/api/admin", "", nil, nil, "Bearer"},
		{"admin tampered token", "GET", "/api/admin", tampered, nil, nil, "Bearer"},
		{"me replayed proof", "GET", "/api/me", "", nil, []string{"Authorization", "DPoP " + bound.access, "DPoP", used}, "DPoP"},
		{"me bound token as Bearer", "GET", "/api/me", bound.access, nil, nil, "Bearer"},
		{"me proof from another key", "GET", "/api/me", "", nil, []string{"Authorization", "DPoP " + bound.access, "DPoP", thief.proof(ts, "GET", "/api/me", dpoptest.AccessToken(bound.access))}, "DPoP"},
		{"me DPoP without a proof", "GET", "/api/me", "", nil, []string{"Authorization", "DPoP " + bound.access}, "DPoP"},
		{"stepup without a recent login", "GET", "/api/admin/stepup", admin.access, nil, nil, "Bearer"},
	}, false)

	t.Run("dpop required", func(t *testing.T) {
		ts := newTestServer(t, "-dpop", "required")
		run(t, ts, []req{
			{"login wrong password", "POST", "/auth/login", "", wrongPassword, []string{"User-Agent", "c401-3", "DPoP", c.proof(ts, "POST", "/auth/login")}, "DPoP"},
			{"me no token", "GET", "/api/me", "", nil, nil, "DPoP"},
			{"me Bearer token", "GET", "/api/me", tampered, nil, nil, "DPoP"},
		}, true)
	})
}
