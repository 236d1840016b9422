package dpoptest_test

import (
	"crypto"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/compact"
	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/internal/strictjson"
	"github.com/apiguard/apiguard/middleware/jose"
)

// TestNewProof checks each algorithm's proof is signed by the key in its
// header, and that the options set and remove members.
func TestNewProof(t *testing.T) {
	k := dpoptest.NewKeys()
	for _, tt := range []struct {
		alg string
		key crypto.Signer
	}{{"ES256", k.P256}, {"ES384", k.P384}, {"ES512", k.P521}, {"RS256", k.RSA}, {"PS384", k.RSA}, {"RS512", k.RSA}, {"EdDSA", k.Ed}, {"Ed25519", k.Ed}} {
		p := dpoptest.NewProof(tt.key, tt.alg, "POST", "https://a/b", dpoptest.JTI("j"), dpoptest.Nonce("n"), dpoptest.Header("kid", `"x"`), dpoptest.Claim("htm", ""))
		parts, fault := compact.Parse(p, 1<<16, base64.RawURLEncoding.Strict())
		if fault != compact.OK {
			t.Fatalf("%s: fault %d", tt.alg, fault)
		}
		var h strictjson.Header
		var c strictjson.ProofClaims
		if err := strictjson.ParseHeader(parts.Header, &h); err != nil || h.Typ != "dpop+jwt" || h.Alg != tt.alg || h.Kid != "x" {
			t.Fatalf("%s: header %s: %v", tt.alg, parts.Header, err)
		}
		if err := strictjson.ParseProofClaims(parts.Payload, &c); err != nil || c.Jti != "j" || c.Nonce != "n" || c.Htm != "" || c.Htu != "https://a/b" || !c.Iat.Set {
			t.Fatalf("%s: claims %s: %v", tt.alg, parts.Payload, err)
		}
		key, err := jose.ParseHeaderJWK(h.JWK, tt.alg)
		if err != nil {
			t.Fatalf("%s: %v", tt.alg, err)
		}
		if err := key.Verify(parts.SigningInput, parts.Sig); err != nil {
			t.Fatalf("%s: %v", tt.alg, err)
		}
	}
	if ath := dpoptest.ATH("tok"); len(ath) != 43 || strings.ContainsAny(ath, "+/=") {
		t.Fatalf("ATH %q", ath)
	}
}
