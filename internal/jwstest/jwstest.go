// Package jwstest holds what the tests of middleware, middleware/jose and
// middleware/token share: test keys generated once per test binary, a
// settable clock, and signing of hand-built (possibly malformed) compact
// tokens. It depends on nothing of apiguard's, so every one of those test
// packages can import it. It is for tests only.
package jwstest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // RS384/512, PS384/512 through crypto.Hash.New
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixture is a set of test keys.
type Fixture struct {
	RSA, RSAOther *rsa.PrivateKey
	EC            *ecdsa.PrivateKey
	Ed            ed25519.PrivateKey
	HMAC          []byte
	RSAPEM        []byte // the RSA public key as PEM, for the confusion attack
}

var fixture = sync.OnceValue(func() *Fixture {
	k := &Fixture{HMAC: []byte("0123456789abcdef0123456789abcdef-hmac-secret")}
	var err error
	if k.RSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.RSAOther, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.EC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.Ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.RSA.PublicKey)
	if err != nil {
		panic(err)
	}
	k.RSAPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return k
})

// Keys returns the test keys, generated on first use (RSA generation is
// slow).
func Keys(tb testing.TB) *Fixture {
	tb.Helper()
	return fixture()
}

var signers = sync.OnceValue(func() map[string]crypto.Signer {
	must := func(k crypto.Signer, err error) crypto.Signer {
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	_, ed2, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return map[string]crypto.Signer{
		"rsa":   must(rsa.GenerateKey(rand.Reader, 2048)),
		"rsa2":  must(rsa.GenerateKey(rand.Reader, 2048)),
		"p256":  must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		"p256b": must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		"p384":  must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)),
		"p521":  must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)),
		"ed":    ed,
		"ed2":   ed2,
	}
})

// Signer returns the named signing key: "rsa", "rsa2", "p256", "p256b",
// "p384", "p521", "ed" or "ed2".
func Signer(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	k, ok := signers()[name]
	if !ok {
		tb.Fatalf("no test key %q", name)
	}
	return k
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at 1,800,000,000 (2027-01-15).
func NewClock() *Clock { return &Clock{t: time.Unix(1_800_000_000, 0)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var b64 = base64.RawURLEncoding

// SignSegments signs "hseg.pseg" (already encoded, possibly malformed) with
// priv under alg (RS256/384/512, PS256/384/512, ES256, EdDSA or HS256) and returns the whole
// token.
func SignSegments(tb testing.TB, alg string, priv any, hseg, pseg string) string {
	tb.Helper()
	input := hseg + "." + pseg
	return input + "." + b64.EncodeToString(SignBytes(tb, alg, priv, []byte(input)))
}

// SignBytes returns the JWS signature of input.
func SignBytes(tb testing.TB, alg string, priv any, input []byte) []byte {
	tb.Helper()
	sum := sha256.Sum256(input)
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		h := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}[alg[2:]]
		hh := h.New()
		hh.Write(input)
		digest := hh.Sum(nil)
		var sig []byte
		var err error
		if alg[0] == 'P' {
			sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), h, digest)
		}
		if err != nil {
			tb.Fatal(err)
		}
		return sig
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			tb.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	case "EdDSA":
		return ed25519.Sign(priv.(ed25519.PrivateKey), input)
	case "HS256":
		m := hmac.New(sha256.New, priv.([]byte))
		m.Write(input)
		return m.Sum(nil)
	}
	tb.Fatalf("SignBytes: alg %s", alg)
	return nil
}

// SignJSON builds a compact token from header and claims JSON texts.
func SignJSON(tb testing.TB, alg string, priv any, header, claims string) string {
	tb.Helper()
	return SignSegments(tb, alg, priv, b64.EncodeToString([]byte(header)), b64.EncodeToString([]byte(claims)))
}

// Parsed is a compact JWS taken apart by hand, without the gate.
type Parsed struct {
	HeaderJSON, ClaimsJSON []byte
	Header                 map[string]any
	Claims                 map[string]any // numbers as json.Number
	SigningInput, Sig      []byte
}

// Parse takes tok apart, failing the test unless it has three canonical
// base64url segments holding JSON objects.
func Parse(tb testing.TB, tok string) Parsed {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d segments, want 3", len(parts))
	}
	var p Parsed
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			tb.Fatalf("segment %q: %v", s, err)
		}
		if base64.RawURLEncoding.EncodeToString(b) != s {
			tb.Fatalf("segment %q is not canonical base64url", s)
		}
		return b
	}
	p.HeaderJSON, p.ClaimsJSON, p.Sig = dec(parts[0]), dec(parts[1]), dec(parts[2])
	p.SigningInput = []byte(parts[0] + "." + parts[1])
	if err := json.Unmarshal(p.HeaderJSON, &p.Header); err != nil {
		tb.Fatalf("header: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(p.ClaimsJSON))
	d.UseNumber()
	if err := d.Decode(&p.Claims); err != nil {
		tb.Fatalf("claims: %v", err)
	}
	return p
}

// GetJWKS GETs a JWKS handler's set, failing the test unless it answers 200.
func GetJWKS(tb testing.TB, h http.Handler) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET jwks: %d %s", rec.Code, rec.Body)
	}
	return rec
}
