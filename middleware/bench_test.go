package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"github.com/apiguard/apiguard/internal/jwa"
	"github.com/apiguard/apiguard/internal/jwstest"
	"github.com/apiguard/apiguard/middleware/jose"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchTokens holds one token per algorithm, so that BenchmarkRawVerify and
// BenchmarkGate verify exactly the same signing input and signature.
var (
	benchMu     sync.Mutex
	benchTokens = map[string]string{}
	benchSource *jose.StaticKeys
)

// benchToken returns a realistic access token for alg (about 300 bytes of
// claims) and the key source that verifies it: one key per algorithm of
// benchAlgs, with the algorithm as kid.
func benchToken(b *testing.B, alg string) (token string, keys jose.KeySource) {
	benchMu.Lock()
	defer benchMu.Unlock()
	k := fixtureKeys(b)
	if benchSource == nil {
		var ks []*jose.Key
		for _, a := range benchAlgs {
			ks = append(ks, mustKey(b, a, a, benchPrivate(k, a)))
		}
		var err error
		if benchSource, err = jose.NewStaticKeys(ks...); err != nil {
			b.Fatal(err)
		}
	}
	if tok, ok := benchTokens[alg]; ok {
		return tok, benchSource
	}
	now := time.Now()
	claims := `{"iss":"https://issuer.example","sub":"user-4b9e7c2a-5d1f-4e8a-9c3b-2f6d8e1a7b4c","aud":"` + testAud +
		`","exp":` + strconv.FormatInt(now.Add(time.Hour).Unix(), 10) +
		`,"iat":` + strconv.FormatInt(now.Add(-time.Minute).Unix(), 10) +
		`,"nbf":` + strconv.FormatInt(now.Add(-time.Minute).Unix(), 10) +
		`,"jti":"8f14e45fceea167a5a36dedd4bea2543","roles":["user","admin"],"scope":"read:orders write:orders","client_id":"web-app-7"}`
	tok := signJSON(b, alg, benchPrivate(k, alg), `{"alg":"`+alg+`","kid":"`+alg+`","typ":"at+jwt"}`, claims)
	benchTokens[alg] = tok
	return tok, benchSource
}

// benchPrivate returns the fixture key that signs alg.
func benchPrivate(k *jwstest.Fixture, alg string) any {
	switch alg[:2] {
	case "RS", "PS":
		return k.RSA
	case "ES":
		return k.EC
	case "Ed":
		return k.Ed
	}
	return k.HMAC
}

var benchAlgs = []string{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.EdDSA, jose.HS256}

// BenchmarkRawVerify is the floor: crypto/* verifying the same signing input
// and signature as BenchmarkGate, hashing included (RS*: SHA-2 then
// rsa.VerifyPKCS1v15; PS*: SHA-2 then rsa.VerifyPSS, salt = hash length; jose.ES256: SHA-256 then ecdsa.VerifyASN1; jose.EdDSA:
// ed25519.Verify; jose.HS256: hmac.New, Write, Sum, hmac.Equal).
func BenchmarkRawVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			verify := rawVerifier(b, alg)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if !verify() {
					b.Fatal("signature does not verify")
				}
			}
		})
	}
}

// keyVerifier returns jose.Key.Verify of benchToken(alg)'s signature, with
// the key the gate looks up: apiguard's verify (internal/fastverify for RS*,
// PS* and EdDSA, crypto/ecdsa for ES*) without the gate around it.
func keyVerifier(b *testing.B, alg string) func() bool {
	tok, keys := benchToken(b, alg)
	key, err := keys.LookupKey(b.Context(), alg, alg)
	if err != nil {
		b.Fatal(err)
	}
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, err := b64.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	return func() bool { return key.Verify(input, sig) == nil }
}

// rawVerifier returns the crypto/* check of benchToken(alg)'s signature.
func rawVerifier(b *testing.B, alg string) func() bool {
	k := fixtureKeys(b)
	tok, _ := benchToken(b, alg)
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, err := b64.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512:
		h := jwa.Hash(alg)
		return func() bool {
			var d [64]byte
			return rsa.VerifyPKCS1v15(&k.RSA.PublicKey, h, jwa.Digest(h, input, &d), sig) == nil
		}
	case jose.PS256, jose.PS384, jose.PS512:
		h := jwa.Hash(alg)
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return func() bool {
			var d [64]byte
			return rsa.VerifyPSS(&k.RSA.PublicKey, h, jwa.Digest(h, input, &d), sig, opts) == nil
		}
	case jose.ES256:
		// The cheapest crypto/* path: VerifyASN1 on the DER form of r || s
		// (ecdsa.Verify with math/big costs 11 more allocations), without
		// even the cost of building it.
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		if err != nil {
			b.Fatal(err)
		}
		return func() bool {
			sum := sha256.Sum256(input)
			return ecdsa.VerifyASN1(&k.EC.PublicKey, sum[:], der)
		}
	case jose.EdDSA:
		pub := k.Ed.Public().(ed25519.PublicKey)
		return func() bool { return ed25519.Verify(pub, input, sig) }
	case jose.HS256:
		return func() bool {
			m := hmac.New(sha256.New, k.HMAC)
			m.Write(input)
			return hmac.Equal(m.Sum(nil), sig)
		}
	}
	b.Fatalf("rawVerifier: alg %s", alg)
	return nil
}

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkGate measures a request through Authenticator.Handler, from the
// Authorization header to the claims in the next handler's context: on a
// cache miss (cache off) for each algorithm, and on a cache hit for RS256.
func BenchmarkGate(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			modes := []string{"miss"}
			if alg == jose.RS256 {
				modes = append(modes, "hit")
			}
			for _, mode := range modes {
				b.Run(mode, func(b *testing.B) {
					serve := gateRequest(b, alg, mode == "hit")
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if !serve() {
							b.Fatal("not authenticated")
						}
					}
				})
			}
		})
	}
}

// BenchmarkGateVsRaw alternates, call by call, the raw crypto/* verify of a
// token (the floor), apiguard's own verify of it (jose.Key.Verify:
// internal/fastverify for RS*, PS* and EdDSA), and a gate miss on it, and
// reports the median of each and the ratios fast/raw and gate/raw: on a busy
// machine, separate benchmarks drift apart by more than the gate's own cost,
// while alternating calls share the same noise and medians drop the calls
// another process preempted.
func BenchmarkGateVsRaw(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			gateFastRaw(b, rawVerifier(b, alg), keyVerifier(b, alg), gateRequest(b, alg, false))
		})
	}
}

// gateVsRaw alternates verify and serve call by call and reports the median
// of each and their ratio (see BenchmarkGateVsRaw).
func gateVsRaw(b *testing.B, verify, serve func() bool) { gateFastRaw(b, verify, nil, serve) }

// gateFastRaw alternates verify, fast (when not nil) and serve call by call
// and reports the median of each and their ratios to verify.
func gateFastRaw(b *testing.B, verify, fast, serve func() bool) {
	const samples = 1 << 12
	var raw, key, gate [samples]time.Duration
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		ok := verify()
		t1 := time.Now()
		if fast != nil {
			ok = fast() && ok
		}
		t2 := time.Now()
		ok = serve() && ok
		raw[n%samples], key[n%samples], gate[n%samples] = t1.Sub(t0), t2.Sub(t1), time.Since(t2)
		n++
		if !ok {
			b.Fatal("not verified")
		}
	}
	n = min(n, samples)
	r, f, g := median(raw[:n]), median(key[:n]), median(gate[:n])
	b.ReportMetric(float64(r.Nanoseconds()), "raw-ns/op")
	b.ReportMetric(float64(g.Nanoseconds()), "gate-ns/op")
	b.ReportMetric(float64(g)/float64(r), "gate/raw")
	if fast != nil {
		b.ReportMetric(float64(f.Nanoseconds()), "fast-ns/op")
		b.ReportMetric(float64(f)/float64(r), "fast/raw")
	}
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// gateRequest returns a function serving one request with benchToken(alg)
// through Authenticator.Handler (with a revocation list, which only adds to
// the cost), reporting whether the claims reached the next handler. hit
// turns the validation cache on and fills it.
func gateRequest(b *testing.B, alg string, hit bool) func() bool {
	tok, keys := benchToken(b, alg)
	cacheSize := -1
	if hit {
		cacheSize = 0
	}
	a, err := New(Config{
		Keys: keys, Algorithms: []string{alg}, Issuer: "https://issuer.example", Audience: testAud,
		Revocation: NewMemoryRevocationList(nil), CacheSize: cacheSize,
	})
	if err != nil {
		b.Fatal(err)
	}
	return idpRequest(b, a, tok)
}

// BenchmarkGateHostile measures refusals of hostile inputs: 1 MB of dots
// (over the size cap) and a maximal garbage token under it.
func BenchmarkGateHostile(b *testing.B) {
	g, err := New(Config{Keys: testKeySource(b), Algorithms: []string{jose.RS256}, Issuer: "i", Audience: "a"})
	if err != nil {
		b.Fatal(err)
	}
	for name, tok := range map[string]string{
		"dots1MB":   strings.Repeat(".", 1<<20),
		"dots8KB":   strings.Repeat(".", DefaultMaxTokenSize),
		"noDots8KB": strings.Repeat("A", DefaultMaxTokenSize),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Verify(b.Context(), tok); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkVerifyHit is a validation-cache hit through Verify alone: the
// clock, the cache lookup and the revocation check, without the request copy
// Handler makes to carry the claims.
func BenchmarkVerifyHit(b *testing.B) {
	tok, keys := benchToken(b, jose.RS256)
	a, err := New(Config{
		Keys: keys, Issuer: "https://issuer.example", Audience: testAud,
		Revocation: NewMemoryRevocationList(nil),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
