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

// TestSessionID: sid is read by the claims decoder's one pass, escapes
// decoded, and anything but a string refuses the token.
func TestSessionID(t *testing.T) {
	k := fixtureKeys(t)
	g := newTestGate(t, func(c *Config) { c.Now = func() time.Time { return t0 } })
	tests := []struct {
		sid    string // raw JSON, "" for none
		want   string
		reason Reason
	}{
		{`"abc"`, "abc", ""},
		{"", "", ""},
		{`"a\"b"`, `a"b`, ""},
		{`null`, "", ReasonClaimInvalid},
		{`["a"]`, "", ReasonClaimInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.sid, func(t *testing.T) {
			var over []string
			if tc.sid != "" {
				over = []string{"sid", tc.sid}
			}
			c, err := g.Verify(context.Background(), signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON(over...)))
			if got := reasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
			if err == nil && c.SessionID != tc.want {
				t.Fatalf("SessionID %q, want %q", c.SessionID, tc.want)
			}
		})
	}
}
