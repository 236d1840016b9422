package token

import (
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"strings"
	"testing"
)

// rfc7638JKT is the thumbprint of RFC 7638 §3.1's example key.
const rfc7638JKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

// A bound token carries exactly the confirmation asked for, and an unbound
// one no cnf at all (the gate reads a cnf as "proof required").
func TestIssuerConfirmation(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
	certHash := sha256.Sum256([]byte("a client certificate's DER"))
	x5t := base64.RawURLEncoding.EncodeToString(certHash[:])
	tests := []struct {
		name string
		opts TokenOptions
		want map[string]any // nil: no cnf claim
	}{
		{"unbound", TokenOptions{}, nil},
		{"DPoP", TokenOptions{JKT: rfc7638JKT}, map[string]any{"jkt": rfc7638JKT}},
		{"mTLS", TokenOptions{X5TS256: x5t}, map[string]any{"x5t#S256": x5t}},
		{"DPoP with sid and scope", TokenOptions{JKT: rfc7638JKT, SessionID: "fam", Scope: []string{"read"}}, map[string]any{"jkt": rfc7638JKT}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := iss.Issue("alice", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			p := issParse(t, tok) // strict: one object, no duplicate keys
			cnf, ok := p.claims["cnf"]
			if tt.want == nil {
				if ok {
					t.Fatalf("unbound token has cnf %v", cnf)
				}
				return
			}
			m, _ := cnf.(map[string]any)
			if !maps.Equal(m, tt.want) {
				t.Fatalf("cnf = %#v, want %#v (claims %s)", cnf, tt.want, p.claimsJSON)
			}
			if tt.opts.SessionID != "" && p.claims["sid"] != tt.opts.SessionID {
				t.Fatalf("sid lost beside cnf: %s", p.claimsJSON)
			}
		})
	}
}

func TestIssuerConfirmationErrors(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
	tests := []struct {
		name  string
		opts  TokenOptions
		field string // named by the error
	}{
		{"JKT too short", TokenOptions{JKT: rfc7638JKT[:42]}, "JKT"},
		{"JKT too long", TokenOptions{JKT: rfc7638JKT + "A"}, "JKT"},
		{"JKT padded", TokenOptions{JKT: rfc7638JKT[:42] + "="}, "JKT"},
		{"JKT std alphabet", TokenOptions{JKT: "+" + rfc7638JKT[1:]}, "JKT"},
		{"JKT quote", TokenOptions{JKT: `"` + rfc7638JKT[1:]}, "JKT"},
		{"JKT spare bits set", TokenOptions{JKT: rfc7638JKT[:42] + "t"}, "JKT"},
		{"JKT hex SHA-256", TokenOptions{JKT: strings.Repeat("ab", 32)}, "JKT"},
		{"X5TS256 too short", TokenOptions{X5TS256: "abc"}, "X5TS256"},
		{"X5TS256 spare bits set", TokenOptions{X5TS256: rfc7638JKT[:42] + "B"}, "X5TS256"},
		{"X5TS256 escape", TokenOptions{X5TS256: `\` + rfc7638JKT[1:]}, "X5TS256"},
		{"both", TokenOptions{JKT: rfc7638JKT, X5TS256: rfc7638JKT}, "X5TS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := iss.Issue("alice", tt.opts)
			if err == nil || tok != "" {
				t.Fatalf("Issue = %q, %v; want an error", tok, err)
			}
			if !strings.Contains(err.Error(), "TokenOptions."+tt.field) {
				t.Fatalf("error %q does not name TokenOptions.%s", err, tt.field)
			}
		})
	}
}
