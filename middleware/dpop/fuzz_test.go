package dpop

import (
	"net/http"
	"testing"

	"github.com/apiguard/apiguard/internal/dpoptest"
)

// FuzzVerifyProof sends arbitrary DPoP header values (one, or two when the
// second is not empty): Verify must never panic, refuse with an *Error, and
// accept only a proof that is well-formed and signed, that is one of the
// seeds signed here (no mutation of a signed proof keeps its signature).
func FuzzVerifyProof(f *testing.F) {
	k := testKeys()
	signed := map[string]bool{}
	for _, p := range []string{
		proof(),
		proof(dpoptest.Header("typ", `"application/dpop+jwt"`)),
		dpoptest.NewProof(k.Ed, "EdDSA", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken)),
		dpoptest.NewProof(k.RSA, "PS256", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken)),
	} {
		signed[p] = true
		f.Add(p, "")
	}
	f.Add(proof(dpoptest.Header("jwk", privateJWK(k.P256))), "")
	f.Add(proof(dpoptest.Claim("htu", `"https://api.example/v1/%2e%2E/me?x#y"`)), "")
	f.Add(proof(), proof())
	f.Add("e30.e30.AAAA", "")
	f.Add(noneProof(`{}`, dpoptest.JWK(k.P256.Public())), "")
	f.Fuzz(func(t *testing.T, a, b string) {
		v := newVerifier(t, Config{}, nil) // a fresh replay cache: each seed verifies
		r := request(http.MethodGet, testHTU, a)
		if b != "" {
			r.Header.Add("DPoP", b)
		}
		p, err := v.Verify(r, testToken)
		if err != nil {
			reasonOf(t, err)
			if p != nil {
				t.Fatal("a proof with an error")
			}
			return
		}
		if b != "" || !signed[a] {
			t.Fatalf("accepted %q (second header %q)", a, b)
		}
	})
}
