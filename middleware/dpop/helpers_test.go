package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/middleware/jose"
)

// t0 is the tests' fixed clock.
var t0 = time.Unix(1_800_000_000, 0)

var testKeys = sync.OnceValue(dpoptest.NewKeys)

const (
	testHTU   = "https://api.example/v1/me"
	testToken = "the-access-token"
)

// newVerifier returns a Verifier on a clock stopped at t0 (or at *now when
// now is not nil), with cfg's other fields.
func newVerifier(tb testing.TB, cfg Config, now *time.Time) *Verifier {
	tb.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0 }
		if now != nil {
			cfg.Now = func() time.Time { return *now }
		}
	}
	v, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// request is a request to target carrying each proof as one DPoP header.
func request(method, target string, proofs ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// proof is an ES256 proof of the default key for GET testHTU at t0, sent
// with testToken.
func proof(opts ...dpoptest.Option) string {
	opts = append([]dpoptest.Option{dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken)}, opts...)
	return dpoptest.NewProof(testKeys().P256, "ES256", http.MethodGet, testHTU, opts...)
}

// reasonOf returns the Reason of err, "" for nil; it fails the test when
// err is not an *Error.
func reasonOf(tb testing.TB, err error) string {
	tb.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v is not an *Error", err)
	}
	return e.Reason
}

func thumbprint(tb testing.TB, k crypto.Signer) string {
	tb.Helper()
	tp, err := jose.Thumbprint(k.Public())
	if err != nil {
		tb.Fatal(err)
	}
	return tp
}

// countingCache is a ReplayCache that counts its calls and answers err.
type countingCache struct {
	calls atomic.Int64
	err   error
}

func (c *countingCache) Use(context.Context, string, string, time.Time) error {
	c.calls.Add(1)
	return c.err
}

var b64raw = base64.RawURLEncoding

// noneProof is an unsigned proof (alg none) with a dummy signature segment.
func noneProof(claims, jwk string) string {
	return b64raw.EncodeToString([]byte(`{"typ":"dpop+jwt","alg":"none","jwk":`+jwk+`}`)) + "." + b64raw.EncodeToString([]byte(claims)) + ".AAAA"
}

// hs256Proof is a proof MACed with HS256 keyed by the jwk's text: the
// confusion a verifier that let the header choose would fall for.
func hs256Proof(claims, jwk string) string {
	input := b64raw.EncodeToString([]byte(`{"typ":"dpop+jwt","alg":"HS256","jwk":`+jwk+`}`)) + "." + b64raw.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(jwk))
	m.Write([]byte(input))
	return input + "." + b64raw.EncodeToString(m.Sum(nil))
}

// privateJWK is k's JWK with its private member d.
func privateJWK(k *ecdsa.PrivateKey) string {
	d, err := k.Bytes()
	if err != nil {
		panic(err)
	}
	pub := dpoptest.JWK(k.Public())
	return pub[:len(pub)-1] + `,"d":"` + b64raw.EncodeToString(d) + `"}`
}

// alterSignature flips a bit of the signature's first byte.
func alterSignature(p string) string {
	i := strings.LastIndexByte(p, '.')
	sig, _ := b64raw.DecodeString(p[i+1:])
	sig[0] ^= 1
	return p[:i+1] + b64raw.EncodeToString(sig)
}

// swapPayload puts b's payload under a's header and signature.
func swapPayload(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}
