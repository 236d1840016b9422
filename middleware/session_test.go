package middleware

import (
	"context"
	"testing"
	"time"

	"github.com/apiguard/apiguard/middleware/jose"
)

// TestGateSessionRevocation: a revoked session (iss, sid) refuses every
// access token carrying that sid, cache hits included, and nothing else.
func TestGateSessionRevocation(t *testing.T) {
	k := fixtureKeys(t)
	rev := NewMemoryRevocationList(func() time.Time { return t0 })
	g := newTestGate(t, func(c *Config) {
		c.Revocation = rev
		c.Now = func() time.Time { return t0 }
	})
	ctx := context.Background()
	tok := func(over ...string) string { return signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON(over...)) }
	famTok := tok("jti", `"a-1"`, "sid", `"fam-1"`)
	if c, err := g.Verify(ctx, famTok); err != nil || c.SessionID != "fam-1" {
		t.Fatalf("before the revocation: %v, %+v", err, c)
	}
	if err := rev.RevokeSession(ctx, testIss, "fam-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := rev.RevokeSession(ctx, "https://other.example", "fam-2", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		want  Reason
	}{
		{"revoked session, cache hit", famTok, ReasonRevoked},
		{"revoked session, another jti", tok("jti", `"a-2"`, "sid", `"fam-1"`), ReasonRevoked},
		{"revoked session, escaped sid", tok("jti", `"a-3"`, "sid", `"fam\u002d1"`), ReasonRevoked},
		{"another session", tok("jti", `"b-1"`, "sid", `"fam-3"`), ""},
		{"no sid", tok("jti", `"c-1"`), ""},
		{"the sid of another issuer's session", tok("jti", `"d-1"`, "sid", `"fam-2"`), ""},
		{"sid is not a string", tok("jti", `"e-1"`, "sid", `42`), ReasonClaimInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Verify(ctx, tc.token)
			if got := reasonOf(err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestSessionID(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		ok   bool
	}{
		{`{"sid":"abc"}`, "abc", true},
		{`{"sub":"x"}`, "", true},
		{`{"sid":"a\"b"}`, `a"b`, true},
		{`{"sid":null}`, "", false},
		{`{"sid":["a"]}`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, ok := sessionID(tc.raw)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("sessionID(%s) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = sessionID(`{"iss":"i","sid":"fam-1"}`) }); n != 0 {
		t.Fatalf("sessionID allocates %v times for an unescaped sid", n)
	}
}
