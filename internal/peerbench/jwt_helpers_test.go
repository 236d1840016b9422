package peerbench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	jwx3jwa "github.com/lestrrat-go/jwx/v3/jwa"
	jwx3jwk "github.com/lestrrat-go/jwx/v3/jwk"
)

// The issuer and audience every token names and every peer requires.
const (
	jwtIssuer   = "https://issuer.example"
	jwtAudience = "https://api.example"
	jwtSubject  = "user-4b9e7c2a-5d1f-4e8a-9c3b-2f6d8e1a7b4c"
	jwtLeeway   = 30 * time.Second
)

// jwtAlgs are the algorithms compared; every peer supports all four.
var jwtAlgs = []string{"RS256", "ES256", "EdDSA", "HS256"}

var b64url = base64.RawURLEncoding

// jwtFixture is one algorithm's key pair and the tokens made with it. The
// tokens are built with crypto/* directly, so every library sees the same
// bytes.
type jwtFixture struct {
	alg, kid string
	priv     any // *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or []byte
	pub      any // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte
	now      time.Time
	token    string // the valid access token
}

func newJWTFixture(tb testing.TB, alg string) *jwtFixture {
	tb.Helper()
	f := &jwtFixture{alg: alg, now: time.Now()}
	switch alg {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		f.kid, f.priv, f.pub = "rsa1", k, &k.PublicKey
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		f.kid, f.priv, f.pub = "ec1", k, &k.PublicKey
	case "EdDSA":
		pub, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		f.kid, f.priv, f.pub = "ed1", k, pub
	case "HS256":
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			tb.Fatal(err)
		}
		f.kid, f.priv, f.pub = "hs1", k, k
	default:
		tb.Fatalf("unknown alg %q", alg)
	}
	f.token = f.sign(tb, f.header(""), f.claims(nil))
	return f
}

// jwxSet is f's public key (for HS256, the secret) as a JWK Set of one key
// with f's kid and alg, as an issuer publishes it.
func (f *jwtFixture) jwxSet(tb testing.TB) jwx3jwk.Set {
	tb.Helper()
	k, err := jwx3jwk.Import(f.pub)
	if err != nil {
		tb.Fatal(err)
	}
	alg, ok := jwx3jwa.LookupSignatureAlgorithm(f.alg)
	if !ok {
		tb.Fatalf("jwx knows no %s", f.alg)
	}
	if err := k.Set(jwx3jwk.KeyIDKey, f.kid); err != nil {
		tb.Fatal(err)
	}
	if err := k.Set(jwx3jwk.AlgorithmKey, alg); err != nil {
		tb.Fatal(err)
	}
	set := jwx3jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		tb.Fatal(err)
	}
	return set
}

// jwks is jwxSet as JSON, the document a JWKS endpoint serves.
func (f *jwtFixture) jwks(tb testing.TB) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(f.jwxSet(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// header is the RFC 9068 header {"alg","kid","typ":"at+jwt"}, with extra
// members appended (extra starts with a comma).
func (f *jwtFixture) header(extra string) string {
	return `{"alg":"` + f.alg + `","kid":"` + f.kid + `","typ":"at+jwt"` + extra + `}`
}

// claims returns the access token's claims: iss, sub, aud, exp (ten years
// ahead), iat, nbf, jti, roles. change replaces (or, with "", removes) a
// member's raw JSON value.
func (f *jwtFixture) claims(change map[string]string) string {
	unix := func(d time.Duration) string { return strconv.FormatInt(f.now.Add(d).Unix(), 10) }
	members := [][2]string{
		{"iss", `"` + jwtIssuer + `"`},
		{"sub", `"` + jwtSubject + `"`},
		{"aud", `"` + jwtAudience + `"`},
		{"exp", unix(10 * 365 * 24 * time.Hour)},
		{"iat", unix(-time.Minute)},
		{"nbf", unix(-time.Minute)},
		{"jti", `"8f14e45fceea167a5a36dedd4bea2543"`},
		{"roles", `["user","admin"]`},
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for _, m := range members {
		v, changed := change[m[0]]
		if !changed {
			v = m[1]
		}
		if v == "" {
			continue
		}
		if sb.Len() > 1 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"` + m[0] + `":` + v)
	}
	sb.WriteByte('}')
	return sb.String()
}

// sign makes a compact JWS of header and claims with f's private key.
func (f *jwtFixture) sign(tb testing.TB, header, claims string) string {
	tb.Helper()
	input := b64url.EncodeToString([]byte(header)) + "." + b64url.EncodeToString([]byte(claims))
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch k := f.priv.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	case *ecdsa.PrivateKey:
		r, s, e := ecdsa.Sign(rand.Reader, k, sum[:])
		err = e
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + b64url.EncodeToString(sig)
}

// tampered is the valid token with another sub in its payload and the
// original signature: well formed, canonical base64url, wrong signature.
// (Flipping a signature character instead could alter only unused bits,
// which some peers accept: that is another test, not a tampering test.)
func (f *jwtFixture) tampered() string {
	parts := strings.Split(f.token, ".")
	claims := strings.Replace(f.claims(nil), jwtSubject, "user-00000000-0000-0000-0000-000000000000", 1)
	return parts[0] + "." + b64url.EncodeToString([]byte(claims)) + "." + parts[2]
}

// jwtWriter is a ResponseWriter that records the status and allocates
// nothing.
type jwtWriter struct {
	h    http.Header
	code int
}

func (w *jwtWriter) Header() http.Header { return w.h }
func (w *jwtWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
func (w *jwtWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// jwtProcessCPU is this process's CPU time, all threads: the machine is
// shared, so CPU time is steadier than wall time, and counting every thread
// keeps the garbage collector's background work (on the other core) in the
// figure of the peers that allocate a lot.
func jwtProcessCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// jwtLoop runs op b.N times, reporting allocations and the process's CPU
// time per operation (cpu-ns/op), which it returns.
func jwtLoop(b *testing.B, op func()) float64 {
	b.ReportAllocs()
	b.ResetTimer()
	start := jwtProcessCPU()
	for i := 0; i < b.N; i++ {
		op()
	}
	cpu := float64(jwtProcessCPU()-start) / float64(b.N)
	b.ReportMetric(cpu, "cpu-ns/op")
	return cpu
}
