package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// FuzzVerifyProof sends arbitrary DPoP header values (one, or two when the
// second is not empty): Verify must never panic, must refuse with an *Error,
// and may accept only one header that an independent reader (encoding/json
// and jwx, which share no code with Verify's path) finds well-formed and
// signed by its own public jwk, with the claims the request needs.
func FuzzVerifyProof(f *testing.F) {
	k := testKeys()
	f.Add(proof(), "")
	f.Add(proof(dpoptest.Header("typ", `"application/dpop+jwt"`)), "")
	f.Add(dpoptest.NewProof(k.Ed, "EdDSA", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken)), "")
	f.Add(dpoptest.NewProof(k.RSA, "PS256", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken)), "")
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
		if b != "" {
			t.Fatalf("accepted two headers %q, %q", a, b)
		}
		if why := independentCheck(a); why != "" {
			t.Fatalf("accepted %q: %s", a, why)
		}
	})
}

// independentCheck judges a proof with encoding/json and jwx: "" when it is
// a compact JWS with typ dpop+jwt, signed by its header's jwk, whose claims
// are for GET testHTU with testToken.
func independentCheck(p string) string {
	parts := strings.Split(p, ".")
	if len(parts) != 3 {
		return "not three segments"
	}
	dec := func(s string) []byte {
		b, err := b64raw.Strict().DecodeString(s)
		if err != nil || b64raw.EncodeToString(b) != s {
			return nil
		}
		return b
	}
	hb, cb := dec(parts[0]), dec(parts[1])
	if hb == nil || cb == nil || dec(parts[2]) == nil {
		return "not canonical base64url"
	}
	var h struct {
		Typ, Alg string
		JWK      json.RawMessage
	}
	if err := json.Unmarshal(hb, &h); err != nil || !strings.EqualFold(strings.TrimPrefix(strings.ToLower(h.Typ), "application/"), "dpop+jwt") {
		return "header"
	}
	key, err := jwk.ParseKey(h.JWK)
	if err != nil {
		return "jwk: " + err.Error()
	}
	if _, private := key.(interface{ D() ([]byte, bool) }); private {
		return "private jwk"
	}
	var pub any
	if err := jwk.Export(key, &pub); err != nil {
		return "jwk export: " + err.Error()
	}
	if !verifySignature(h.Alg, pub, []byte(parts[0]+"."+parts[1]), dec(parts[2])) {
		return "signature"
	}
	var c struct{ Htm, Htu, Jti, Ath string }
	if err := json.Unmarshal(cb, &c); err != nil || c.Htm != "GET" || c.Jti == "" || c.Ath != dpoptest.ATH(testToken) {
		return "claims"
	}
	if i := strings.IndexAny(c.Htu, "?#"); i >= 0 {
		c.Htu = c.Htu[:i]
	}
	if !strings.HasPrefix(strings.ToLower(c.Htu), "https://api.example") {
		return "htu " + c.Htu
	}
	return ""
}

// verifySignature checks a JWS signature with crypto/* directly.
func verifySignature(alg string, pub any, input, sig []byte) bool {
	if alg == "EdDSA" || alg == "Ed25519" {
		k, ok := pub.(ed25519.PublicKey)
		return ok && ed25519.Verify(k, input, sig)
	}
	if len(alg) != 5 {
		return false
	}
	var h crypto.Hash
	var digest []byte
	switch alg[2:] {
	case "256":
		s := sha256.Sum256(input)
		h, digest = crypto.SHA256, s[:]
	case "384":
		s := sha512.Sum384(input)
		h, digest = crypto.SHA384, s[:]
	case "512":
		s := sha512.Sum512(input)
		h, digest = crypto.SHA512, s[:]
	default:
		return false
	}
	switch alg[:2] {
	case "RS":
		k, ok := pub.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
	case "PS":
		k, ok := pub.(*rsa.PublicKey)
		return ok && rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case "ES":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		return len(sig) == 2*size && ecdsa.Verify(k, digest, new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]))
	}
	return false
}
