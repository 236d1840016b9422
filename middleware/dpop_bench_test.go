package middleware

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/jose"
)

// BenchmarkDPoPVsRaw alternates a DPoP request through Handler on a
// validation-cache hit (the token's checks cached; the ES256 proof parsed,
// its jwk read, its signature verified, its claims and the memory replay
// cache checked, cnf.jkt compared) and the raw crypto/* check of a proof's
// signature (SHA-256 then ecdsa.VerifyASN1, the DER built beforehand), and
// reports the median of each and their ratio (see BenchmarkGateVsRaw).
// Every request carries a fresh proof, signed before the timed calls.
func BenchmarkDPoPVsRaw(b *testing.B) {
	key := dpopKeys().P256
	jkt, err := jose.Thumbprint(&key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	tok, keys := benchToken(b, jose.RS256)
	// The bench token with cnf.jkt: the same claims, re-signed.
	k := fixtureKeys(b)
	claims, err := b64.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		b.Fatal(err)
	}
	bound := signJSON(b, jose.RS256, benchPrivate(k, jose.RS256), `{"alg":"RS256","kid":"RS256","typ":"at+jwt"}`,
		strings.TrimSuffix(string(claims), "}")+`,"cnf":{"jkt":"`+jkt+`"}}`)
	v, err := dpop.New(dpop.Config{PublicURL: dpopOrigin})
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{
		Keys: keys, Algorithms: []string{jose.RS256}, Issuer: "https://issuer.example", Audience: testAud,
		Revocation: NewMemoryRevocationList(nil), DPoP: v,
	})
	if err != nil {
		b.Fatal(err)
	}
	proofs := make([]string, 0, 16384)
	refill := func() {
		proofs = proofs[:0]
		now := time.Now()
		for range cap(proofs) {
			proofs = append(proofs, dpoptest.NewProof(key, "ES256", "GET", dpopURL, dpoptest.AccessToken(bound), dpoptest.IssuedAt(now)))
		}
	}
	refill()

	// The raw check of one proof's signature.
	p := proofs[0]
	i := strings.LastIndexByte(p, '.')
	input := []byte(p[:i])
	sig, err := b64.DecodeString(p[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		b.Fatal(err)
	}
	verify := func() bool {
		sum := sha256.Sum256(input)
		return ecdsa.VerifyASN1(&key.PublicKey, sum[:], der)
	}

	ok := false
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = ClaimsFromContext(r.Context())
	}))
	r := httptest.NewRequest("GET", dpopURL, nil)
	r.Header.Set("Authorization", "DPoP "+bound)
	w := &nopWriter{h: http.Header{}}
	hdr := []string{""}
	r.Header["Dpop"] = hdr
	n := 0
	serve := func() bool {
		if n == len(proofs) {
			refill() // one slow sample in thousands: the median ignores it
			n = 0
		}
		hdr[0] = proofs[n]
		n++
		ok = false
		h.ServeHTTP(w, r)
		return ok
	}
	if !serve() {
		b.Fatal("not authenticated")
	}
	gateVsRaw(b, verify, serve)
}
