package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestEvery401CarriesAChallenge walks every way the example answers 401 and
// checks each carries a Bearer challenge with the realm (RFC 9110 §15.5.2: a
// 401 MUST carry at least one challenge).
func TestEvery401CarriesAChallenge(t *testing.T) {
	ts := newTestServer(t)
	good := ts.login("alice", "alice-password")
	tampered := good.access[:len(good.access)-4] + "AAAA"
	wrongPassword := map[string]string{"username": "alice", "password": "wrong"}
	unknownUser := map[string]string{"username": "mallory", "password": "wrong"}
	tests := []struct {
		name, method, path, bearer string
		body                       any
		hdr                        []string
	}{
		{"login wrong password", "POST", "/auth/login", "", wrongPassword, []string{"User-Agent", "c401-1"}},
		{"login unknown user", "POST", "/auth/login", "", unknownUser, []string{"User-Agent", "c401-2"}},
		{"logout no token", "POST", "/auth/logout", "", nil, nil},
		{"logout tampered token", "POST", "/auth/logout", tampered, nil, nil},
		{"me no token", "GET", "/api/me", "", nil, nil},
		{"me tampered token", "GET", "/api/me", tampered, nil, nil},
		{"me wrong scheme", "GET", "/api/me", "", nil, []string{"Authorization", "Basic YWxpY2U6eA=="}},
		{"admin no token", "GET", "/api/admin", "", nil, nil},
		{"admin tampered token", "GET", "/api/admin", tampered, nil, nil},
	}
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
			if !strings.HasPrefix(ch[0], "Bearer ") || !strings.Contains(ch[0], `realm="`+realm+`"`) {
				t.Fatalf("challenge %q lacks the Bearer scheme or the realm", ch[0])
			}
		})
	}
}
