package middleware

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/idptest"
	"github.com/apiguard/apiguard/middleware/jose"
)

// BenchmarkGateIdP is BenchmarkGateVsRaw for tokens of the providers'
// shapes, keys found through discovery and claims read by the provider's
// profile: "one" is the one-issuer shorthand with Discovery, "static" the
// same with the provider's keys given as a static set, "multi" the same issuer among
// two in Config.Issuers (iss pre-read before the key lookup); "hit" is a
// validation-cache hit. No revocation list: Entra, Auth0 and Google
// tokens carry no jti. Misses report gate/raw against the raw RSA verify
// of the same token.
func BenchmarkGateIdP(b *testing.B) {
	for _, tc := range idpCases {
		b.Run(tc.name, func(b *testing.B) {
			p := idptest.New(b, tc.name)
			other := idptest.New(b, idptest.Okta)
			tok := p.AccessToken(b, nil)
			one := func(cache int) Config {
				return Config{Issuer: p.Issuer, Audience: p.Audience, Discovery: true, Profile: tc.profile(p), CacheSize: cache}
			}
			// The same token, profile and keys, the keys given as a static
			// set: what discovery costs on a miss is one minus the other.
			static := func() Config {
				keys, errs, err := jose.ParseJWKSWith(p.JWKS(), jose.ParseOptions{Algorithms: []string{jose.RS256}})
				if err != nil {
					b.Fatal(err)
				}
				sk, err := jose.NewStaticKeys(keys...)
				if err != nil || len(keys) == 0 {
					b.Fatal(err, errs)
				}
				return Config{Issuer: p.Issuer, Audience: p.Audience, Keys: sk, Profile: tc.profile(p), CacheSize: -1}
			}
			multi := func(cache int) Config {
				return Config{Issuers: []TrustedIssuer{
					{Issuer: other.Issuer, Audience: other.Audience, Discovery: true, Profile: ProfileOkta()},
					{Issuer: p.Issuer, Audience: p.Audience, Discovery: true, Profile: tc.profile(p)},
				}, CacheSize: cache}
			}
			for _, m := range []struct {
				name string
				cfg  Config
				hit  bool
			}{{"one", one(-1), false}, {"static", static(), false}, {"multi", multi(-1), false}, {"hit", one(0), true}} {
				b.Run(m.name, func(b *testing.B) {
					a, err := New(m.cfg)
					if err != nil {
						b.Fatal(err)
					}
					defer a.Close()
					serve := idpRequest(b, a, tok)
					if m.hit {
						b.ReportAllocs()
						for b.Loop() {
							if !serve() {
								b.Fatal("not authenticated")
							}
						}
						return
					}
					gateVsRaw(b, rawRSAVerifier(b, a, tok), serve)
				})
			}
		})
	}
}

// idpRequest returns a function serving one request with tok through
// a.Handler, reporting whether the claims reached the next handler. It
// serves once first (filling the cache when a has one), retrying while
// discovered keys are still on their way.
func idpRequest(b *testing.B, a *Authenticator, tok string) func() bool {
	ok := false
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = ClaimsFromContext(r.Context())
	}))
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := &nopWriter{h: http.Header{}}
	serve := func() bool {
		ok = false
		h.ServeHTTP(w, r)
		return ok
	}
	for i := 0; !serve(); i++ {
		if i == 50 {
			b.Fatal("not authenticated")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return serve
}

// rawRSAVerifier is SHA-256 then rsa.VerifyPKCS1v15 of tok with the key
// the gate verified it with.
func rawRSAVerifier(b *testing.B, a *Authenticator, tok string) func() bool {
	c, err := a.Verify(b.Context(), tok)
	if err != nil {
		b.Fatal(err)
	}
	key, err := c.trusted.keys.LookupKey(b.Context(), c.KID, c.Alg)
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public().(*rsa.PublicKey)
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	return func() bool {
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	}
}
