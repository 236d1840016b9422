// JWT peer comparison: the same tokens and the same requests through
// apiguard's gate, go-chi/jwtauth and auth0/go-jwt-middleware v3 (both
// middleware), golang-jwt/jwt v5 with MicahParks/keyfunc v3, go-jose v4 and
// lestrrat-go/jwx v3's own jwt.Parse (parse only: a token string in, claims
// out) and a raw crypto/* verify (the floor).
//
// The table of ratios, from one run:
//
//	cd internal/peerbench && PEERBENCH_RATIOS=1 go test -run PrintPeerRatios -v
//
// (about 100 s on an idle 2-core machine, four minutes on a busy one;
// -benchtime=300ms makes it shorter, PEERBENCH_ROUNDS=N sets the
// number of interleaved rounds whose median is printed, 3 by default). The
// benchmarks one by one:
//
//	cd internal/peerbench && go test -run '^$' -bench Peers -benchmem -benchtime=300ms
//
// TestPeersAgree runs first in any `go test` (and `make peerbench` stops when
// it fails): every peer must accept the valid token and refuse a tampered,
// expired, not-yet-valid, future-iat, wrong-issuer, wrong-audience, exp-less
// or alg-none one, so a misconfigured peer cannot make a fast but broken
// benchmark. Each is configured as strictly as it allows (iss, aud, exp
// required, the one algorithm pinned, typ checked by hand where the library
// leaves it to the application); TestPeersAgree also pins down what each
// cannot check however it is configured (see jwtGaps).
package peerbench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/jose"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v3"
	"github.com/auth0/go-jwt-middleware/v3/validator"
	"github.com/go-chi/jwtauth/v5"
	gojose "github.com/go-jose/go-jose/v4"
	gojosejwt "github.com/go-jose/go-jose/v4/jwt"
	golangjwt "github.com/golang-jwt/jwt/v5"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	jwx3jws "github.com/lestrrat-go/jwx/v3/jws"
	jwx3jwt "github.com/lestrrat-go/jwx/v3/jwt"
)

// jwtPeer is one way of verifying a token. A middleware peer has chain (its
// handler in front of next, and roles reads the roles claim back in next the
// way its users do); a parse-only peer has verify (one prepared check of
// one token).
type jwtPeer struct {
	name   string
	chain  func(tb testing.TB, f *jwtFixture, next http.Handler) http.Handler
	roles  func(r *http.Request) []string
	verify func(tb testing.TB, f *jwtFixture, token string) func() error
}

func jwtPeers() []jwtPeer {
	return []jwtPeer{
		{name: "apiguard-miss", chain: apiguardChain(-1), roles: apiguardRoles},
		{name: "apiguard-hit", chain: apiguardChain(0), roles: apiguardRoles},
		{name: "jwtauth", chain: jwtauthChain, roles: jwtauthRoles},
		{name: "go-jwt-middleware", chain: auth0Chain, roles: auth0Roles},
		{name: "golang-jwt+keyfunc", verify: golangJWTVerify},
		{name: "go-jose", verify: goJoseVerify},
		{name: "jwx", verify: jwxVerify},
		{name: "raw-verify", verify: rawVerify},
	}
}

// apiguard: the gate as the example server runs it, with a revocation list
// (which the peers do not have, so it only adds to apiguard's cost) and the
// default typ profile, crit, duplicate-key and canonical-base64 checks.
// cacheSize -1 turns the validation cache off (every request a miss); 0 is
// the default cache (hits after the first request).
func apiguardChain(cacheSize int) func(testing.TB, *jwtFixture, http.Handler) http.Handler {
	return func(tb testing.TB, f *jwtFixture, next http.Handler) http.Handler {
		k, err := jose.NewKey(f.kid, f.alg, f.pub)
		if err != nil {
			tb.Fatal(err)
		}
		keys, err := jose.NewStaticKeys(k)
		if err != nil {
			tb.Fatal(err)
		}
		a, err := middleware.New(middleware.Config{
			Keys: keys, Algorithms: []string{f.alg}, Issuer: jwtIssuer, Audience: jwtAudience,
			Leeway: jwtLeeway, Revocation: middleware.NewMemoryRevocationList(nil), CacheSize: cacheSize,
		})
		if err != nil {
			tb.Fatal(err)
		}
		return a.Handler(next)
	}
}

func apiguardRoles(r *http.Request) []string {
	c, ok := middleware.ClaimsFromContext(r.Context())
	if !ok {
		return nil
	}
	return c.Roles
}

// jwtauth: jwtauth.New(alg, nil, pub) + Verifier + Authenticator, as its
// README wires it, with every validation jwx v2 offers: exp required, iss,
// aud, 30 s skew (exp, nbf and iat are checked by jwt.Validate by default).
// It cannot check (jwtGaps pins these down): typ (no header validation),
// crit (jwx v2 ignores it), duplicate JSON keys (last wins), non-canonical
// base64 (unused bits ignored); it pins one algorithm per JWTAuth but
// ignores the kid. Verifier also reads a "jwt" cookie, always, with no CSRF
// rule.
func jwtauthChain(tb testing.TB, f *jwtFixture, next http.Handler) http.Handler {
	ja := jwtauth.New(f.alg, nil, f.pub,
		jwxjwt.WithIssuer(jwtIssuer), jwxjwt.WithAudience(jwtAudience),
		jwxjwt.WithRequiredClaim("exp"), jwxjwt.WithAcceptableSkew(jwtLeeway))
	return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(next))
}

// jwtauthRoles reads the token jwtauth put in the context. jwtauth's README
// calls jwtauth.FromContext, which copies every claim into a map (AsMap);
// Authenticator has already done that once per request, so the cheaper
// direct Get is used here.
func jwtauthRoles(r *http.Request) []string {
	t, _ := r.Context().Value(jwtauth.TokenCtxKey).(jwxjwt.Token)
	if t == nil {
		return nil
	}
	v, ok := t.Get("roles")
	if !ok {
		return nil
	}
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// auth0Claims carries the roles claim, where the application reads its roles
// from; exp is required through WithRegisteredClaimsValidator instead (its
// validator checks exp only when present).
type auth0Claims struct {
	Roles []string `json:"roles"`
}

func (c *auth0Claims) Validate(context.Context) error { return nil }

// go-jwt-middleware v3: validator.New with the key func, the one algorithm,
// issuer, audience, 30 s skew, exp required and the custom claims above;
// jwtmiddleware.New(WithValidator(v)).CheckJWT. v3 parses with jwx v3 (so
// exp, nbf and iat are checked) after its own jws.Parse, which refuses an
// unknown crit. It cannot check (jwtGaps): typ and kid (the key func sees
// no header: one key, given by the application), duplicate JSON keys (jwx
// keeps the last; v2, on go-jose v2, refused them), non-canonical base64
// (unused bits ignored).
func auth0Chain(tb testing.TB, f *jwtFixture, next http.Handler) http.Handler {
	v, err := validator.New(
		validator.WithKeyFunc(func(context.Context) (any, error) { return f.pub, nil }),
		validator.WithAlgorithm(validator.SignatureAlgorithm(f.alg)),
		validator.WithIssuer(jwtIssuer), validator.WithAudience(jwtAudience),
		validator.WithAllowedClockSkew(jwtLeeway),
		validator.WithRegisteredClaimsValidator(func(c validator.RegisteredClaims) error {
			if c.Expiry == 0 {
				return errors.New("exp required")
			}
			return nil
		}),
		validator.WithCustomClaims(func() *auth0Claims { return &auth0Claims{} }),
	)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := jwtmiddleware.New(jwtmiddleware.WithValidator(v))
	if err != nil {
		tb.Fatal(err)
	}
	return m.CheckJWT(next)
}

func auth0Roles(r *http.Request) []string {
	vc, err := jwtmiddleware.GetClaims[*validator.ValidatedClaims](r.Context())
	if err != nil || vc == nil {
		return nil
	}
	c, _ := vc.CustomClaims.(*auth0Claims)
	if c == nil {
		return nil
	}
	return c.Roles
}

type golangJWTClaims struct {
	golangjwt.RegisteredClaims
	Roles []string `json:"roles"`
}

// typAccessToken reports whether a typ header value is RFC 9068's, as the
// parse-only peers' users have to check it themselves.
func typAccessToken(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

// golang-jwt/jwt/v5 with MicahParks/keyfunc/v3, the usual pairing: keyfunc
// serves the JWK Set (static JSON here, NewJWKSetJSON; a URL in production)
// and picks the key by kid, refusing a JWK whose alg differs from the
// header's; ParseWithClaims with the one method, iss, aud, exp required, iat
// checked, 30 s leeway, WithStrictDecoding (canonical base64). The key func
// checks typ itself (neither library does). It cannot check (jwtGaps): crit
// (ignored), duplicate JSON keys (last wins).
func golangJWTVerify(tb testing.TB, f *jwtFixture, token string) func() error {
	p := golangjwt.NewParser(golangjwt.WithValidMethods([]string{f.alg}),
		golangjwt.WithIssuer(jwtIssuer), golangjwt.WithAudience(jwtAudience),
		golangjwt.WithExpirationRequired(), golangjwt.WithIssuedAt(),
		golangjwt.WithLeeway(jwtLeeway), golangjwt.WithStrictDecoding())
	k, err := keyfunc.NewJWKSetJSON(f.jwks(tb))
	if err != nil {
		tb.Fatal(err)
	}
	keyFunc := func(t *golangjwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); !typAccessToken(typ) {
			return nil, errors.New("typ is not at+jwt")
		}
		return k.Keyfunc(t)
	}
	return func() error {
		var c golangJWTClaims
		_, err := p.ParseWithClaims(token, &c, keyFunc)
		if err == nil && !slices.Contains(c.Roles, "admin") {
			err = errors.New("roles not decoded")
		}
		return err
	}
}

// go-jose v4: jwt.ParseSigned with the one algorithm, Claims verified with a
// JSONWebKeySet (the key picked by kid), ValidateWithLeeway for iss, aud,
// exp, nbf and iat with 30 s leeway; exp required and typ checked by hand
// (go-jose checks exp only when present and reads typ without judging it).
// It cannot check (jwtGaps): non-canonical base64 (unused bits ignored).
func goJoseVerify(tb testing.TB, f *jwtFixture, token string) func() error {
	var set gojose.JSONWebKeySet
	if err := json.Unmarshal(f.jwks(tb), &set); err != nil {
		tb.Fatal(err)
	}
	algs := []gojose.SignatureAlgorithm{gojose.SignatureAlgorithm(f.alg)}
	return func() error {
		t, err := gojosejwt.ParseSigned(token, algs)
		if err != nil {
			return err
		}
		if typ, _ := t.Headers[0].ExtraHeaders[gojose.HeaderType].(string); !typAccessToken(typ) {
			return errors.New("typ is not at+jwt")
		}
		var c gojosejwt.Claims
		var extra struct {
			Roles []string `json:"roles"`
		}
		if err := t.Claims(&set, &c, &extra); err != nil {
			return err
		}
		if c.Expiry == nil {
			return errors.New("exp required")
		}
		if err := c.ValidateWithLeeway(gojosejwt.Expected{
			Issuer: jwtIssuer, AnyAudience: gojosejwt.Audience{jwtAudience}, Time: time.Now(),
		}, jwtLeeway); err != nil {
			return err
		}
		if !slices.Contains(extra.Roles, "admin") {
			return errors.New("roles not decoded")
		}
		return nil
	}
}

// jwx v3's own parser: jwt.Parse with the JWK Set (key by kid, its alg
// pinned to the key's), iss, aud, exp required, 30 s skew (exp, nbf and iat
// are validated by default), roles read with Get. jwx checks no header
// member but alg and kid, so typ is checked by hand from the JWS headers
// (jws.Parse, a second parse, as an application must). It cannot check
// (jwtGaps): crit (ignored), duplicate JSON keys (last wins), non-canonical
// base64 (unused bits ignored).
func jwxVerify(tb testing.TB, f *jwtFixture, token string) func() error {
	set := f.jwxSet(tb)
	return func() error {
		msg, err := jwx3jws.ParseString(token)
		if err != nil {
			return err
		}
		if typ, _ := msg.Signatures()[0].ProtectedHeaders().Type(); !typAccessToken(typ) {
			return errors.New("typ is not at+jwt")
		}
		t, err := jwx3jwt.ParseString(token, jwx3jwt.WithKeySet(set),
			jwx3jwt.WithIssuer(jwtIssuer), jwx3jwt.WithAudience(jwtAudience),
			jwx3jwt.WithRequiredClaim("exp"), jwx3jwt.WithAcceptableSkew(jwtLeeway))
		if err != nil {
			return err
		}
		var roles []any // as jwx decodes a claim it has no type for
		if err := t.Get("roles", &roles); err != nil || !slices.Contains(roles, any("admin")) {
			return errors.New("roles not decoded")
		}
		return nil
	}
}

// rawVerify is the floor: crypto/* verifying the signing input, hashing
// included, as middleware.BenchmarkRawVerify does; splitting and decoding
// happen once, outside the measured function.
func rawVerify(tb testing.TB, f *jwtFixture, token string) func() error {
	i := strings.LastIndexByte(token, '.')
	input := []byte(token[:i])
	sig, err := b64url.DecodeString(token[i+1:])
	if err != nil {
		tb.Fatal(err)
	}
	bad := errors.New("invalid signature")
	return func() error {
		ok := false
		switch f.alg {
		case "RS256":
			sum := sha256.Sum256(input)
			ok = rsa.VerifyPKCS1v15(f.pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig) == nil
		case "ES256":
			sum := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			ok = ecdsa.Verify(f.pub.(*ecdsa.PublicKey), sum[:], r, s)
		case "EdDSA":
			ok = ed25519.Verify(f.pub.(ed25519.PublicKey), input, sig)
		case "HS256":
			m := hmac.New(sha256.New, f.pub.([]byte))
			m.Write(input)
			ok = hmac.Equal(m.Sum(nil), sig)
		}
		if !ok {
			return bad
		}
		return nil
	}
}

// jwtCase is a token that TestPeersAgree puts through every peer.
type jwtCase struct {
	name  string
	token func(tb testing.TB, f *jwtFixture) string
	valid bool // what a strict gate answers
	// sigOnly: only the signature is wrong, so raw-verify refuses it too;
	// raw-verify is not asked about the other cases.
	sigOnly bool
}

func jwtCases() []jwtCase {
	claims := func(change map[string]string) func(testing.TB, *jwtFixture) string {
		return func(tb testing.TB, f *jwtFixture) string { return f.sign(tb, f.header(""), f.claims(change)) }
	}
	unix := func(f *jwtFixture, s int64) string { return strconv.FormatInt(f.now.Unix()+s, 10) }
	return []jwtCase{
		{name: "valid", token: func(_ testing.TB, f *jwtFixture) string { return f.token }, valid: true},
		{name: "tampered", token: func(_ testing.TB, f *jwtFixture) string { return f.tampered() }, sigOnly: true},
		{name: "expired", token: func(tb testing.TB, f *jwtFixture) string {
			return claims(map[string]string{"exp": unix(f, -3600)})(tb, f)
		}},
		{name: "nbf-future", token: func(tb testing.TB, f *jwtFixture) string {
			return claims(map[string]string{"nbf": unix(f, 3600)})(tb, f)
		}},
		{name: "iat-future", token: func(tb testing.TB, f *jwtFixture) string {
			return claims(map[string]string{"iat": unix(f, 3600)})(tb, f)
		}},
		{name: "wrong-iss", token: claims(map[string]string{"iss": `"https://evil.example"`})},
		{name: "wrong-aud", token: claims(map[string]string{"aud": `"https://other.example"`})},
		{name: "no-exp", token: claims(map[string]string{"exp": ""})},
		{name: "typ-JWT", token: func(tb testing.TB, f *jwtFixture) string {
			return f.sign(tb, strings.Replace(f.header(""), "at+jwt", "JWT", 1), f.claims(nil))
		}},
		{name: "crit-unknown", token: func(tb testing.TB, f *jwtFixture) string {
			return f.sign(tb, f.header(`,"crit":["urn:example:must-understand"],"urn:example:must-understand":true`), f.claims(nil))
		}},
		{name: "sig-unused-bits", token: func(_ testing.TB, f *jwtFixture) string {
			// The signature's last character with its lowest (unused) bit
			// flipped: the same signature bytes under another text, a
			// malleable token (a different token ID, cache key, jti-less
			// replay check...).
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, f.token[len(f.token)-1])
			return f.token[:len(f.token)-1] + string(alphabet[last^1])
		}},
		{name: "alg-none", token: func(_ testing.TB, f *jwtFixture) string {
			// The algorithm each peer is pinned to, replaced by none, and
			// no signature: a peer that trusts the header's alg accepts it.
			h := strings.Replace(f.header(""), `"alg":"`+f.alg+`"`, `"alg":"none"`, 1)
			return b64url.EncodeToString([]byte(h)) + "." + b64url.EncodeToString([]byte(f.claims(nil))) + "."
		}},
		{name: "duplicate-iss", token: func(tb testing.TB, f *jwtFixture) string {
			// Two iss members, the expected one last: readers that keep the
			// last one accept it, while another reader of the same token (a
			// proxy, a log pipeline) may take the first.
			c := strings.Replace(f.claims(nil), `{"iss":`, `{"iss":"https://evil.example","iss":`, 1)
			return f.sign(tb, f.header(""), c)
		}},
	}
}

// jwtGaps lists, per peer, the invalid tokens it accepts (answers 200 to)
// however strictly it is configured: what it cannot check. TestPeersAgree
// fails if a peer accepts anything else, or stops accepting one of these
// (then the list, and the README, must be updated).
var jwtGaps = map[string][]string{
	"jwtauth":            {"typ-JWT", "crit-unknown", "duplicate-iss", "sig-unused-bits"},
	"go-jwt-middleware":  {"typ-JWT", "duplicate-iss", "sig-unused-bits"},
	"golang-jwt+keyfunc": {"crit-unknown", "duplicate-iss"},
	"go-jose":            {"sig-unused-bits"},
	"jwx":                {"crit-unknown", "duplicate-iss", "sig-unused-bits"},
}

// jwtServe sends one request with token through h and returns the status.
func jwtServe(h http.Handler, token string) (status int) {
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// TestPeersAgree checks every peer's configuration before any figure is
// trusted: 200 (and the roles read back in next) for the valid token, 401
// for every invalid one except the documented gaps.
func TestPeersAgree(t *testing.T) {
	for _, alg := range jwtAlgs {
		t.Run(alg, func(t *testing.T) {
			f := newJWTFixture(t, alg)
			for _, p := range jwtPeers() {
				t.Run(p.name, func(t *testing.T) {
					var roles []string
					var h http.Handler
					if p.chain != nil {
						h = p.chain(t, f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							roles = p.roles(r)
						}))
					}
					for _, c := range jwtCases() {
						if p.name == "raw-verify" && !c.valid && !c.sigOnly {
							continue // the floor checks the signature only
						}
						t.Run(c.name, func(t *testing.T) {
							tok := c.token(t, f)
							want := c.valid || slices.Contains(jwtGaps[p.name], c.name)
							if p.chain == nil {
								err := p.verify(t, f, tok)()
								if got := err == nil; got != want {
									t.Fatalf("accepted = %v, want %v (err %v)", got, want, err)
								}
								return
							}
							roles = nil
							wantStatus := http.StatusUnauthorized
							if want {
								wantStatus = http.StatusOK
							}
							if got := jwtServe(h, tok); got != wantStatus {
								t.Fatalf("status %d, want %d", got, wantStatus)
							}
							if want != slices.Contains(roles, "admin") {
								t.Fatalf("next saw roles %v; reached = %v, want %v", roles, roles != nil, want)
							}
						})
					}
				})
			}
		})
	}
}

// jwtBench measures p on f's valid token: a middleware peer serves the same
// *http.Request each time (no-op next handler that reads the roles); a
// parse-only peer runs its prepared check. Before the timer, it checks that
// the token is accepted and that next was reached; after, that it still is.
func jwtBench(b *testing.B, p jwtPeer, f *jwtFixture) float64 {
	if p.chain == nil {
		check := p.verify(b, f, f.token)
		if err := check(); err != nil {
			b.Fatalf("%s refuses the valid token: %v", p.name, err)
		}
		return jwtLoop(b, func() {
			if check() != nil {
				b.Fatal("refused")
			}
		})
	}
	reached := false
	h := p.chain(b, f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = len(p.roles(r)) == 2
	}))
	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+f.token)
	w := &jwtWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // fills apiguard's cache in hit mode
	if !reached || (w.code != 0 && w.code != http.StatusOK) {
		b.Fatalf("%s: next not reached (status %d)", p.name, w.code)
	}
	reached = false
	cpu := jwtLoop(b, func() { h.ServeHTTP(w, r) })
	if !reached {
		b.Fatalf("%s: next not reached during the loop", p.name)
	}
	return cpu
}

// BenchmarkPeers is BenchmarkPeers/<alg>/<peer> for every algorithm and
// peer, on the same token and request.
func BenchmarkPeers(b *testing.B) {
	for _, alg := range jwtAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newJWTFixture(b, alg)
			for _, p := range jwtPeers() {
				b.Run(p.name, func(b *testing.B) { jwtBench(b, p, f) })
			}
		})
	}
}

// TestPrintPeerRatios runs every benchmark with testing.Benchmark, in
// rounds (PEERBENCH_ROUNDS, default 3) that interleave the peers so that a
// burst of load from elsewhere on the machine hits one round of every peer
// rather than all rounds of one, and prints, per algorithm, the median CPU
// and wall time per request, allocs/op and B/op of each peer, its ratio to
// apiguard-miss, and apiguard-miss against the raw-verify floor. Set
// PEERBENCH_RATIOS=1 to run it.
func TestPrintPeerRatios(t *testing.T) {
	if os.Getenv("PEERBENCH_RATIOS") != "1" {
		t.Skip("set PEERBENCH_RATIOS=1 to print the peer ratios")
	}
	rounds := 3
	if v := os.Getenv("PEERBENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PEERBENCH_ROUNDS=%q: want a positive integer", v)
		}
		rounds = n
	}
	type result struct {
		name       string
		ns, cpu    float64
		allocs, by int64
	}
	median := func(x []float64) float64 {
		slices.Sort(x)
		return x[len(x)/2]
	}
	var sb strings.Builder
	sb.WriteString("\nJWT verification, one valid token per algorithm, same request through each peer\n")
	fmt.Fprintf(&sb, "median of %d interleaved rounds; cpu-ns/op: this process's CPU time, every thread (GC included); ns/op: wall time\n", rounds)
	sb.WriteString("ratio = peer / apiguard-miss, in CPU time and in wall time (> 1: apiguard-miss is ahead)\n")
	for _, alg := range jwtAlgs {
		f := newJWTFixture(t, alg)
		peers := jwtPeers()
		cpus := make([][]float64, len(peers))
		walls := make([][]float64, len(peers))
		res := make([]result, len(peers))
		for range rounds {
			for i, p := range peers {
				var cpu float64
				r := testing.Benchmark(func(b *testing.B) { cpu = jwtBench(b, p, f) })
				if r.N == 0 { // a failed benchmark returns an empty result
					t.Fatalf("%s/%s: benchmark failed", alg, p.name)
				}
				cpus[i] = append(cpus[i], cpu)
				walls[i] = append(walls[i], float64(r.T.Nanoseconds())/float64(r.N))
				res[i] = result{name: p.name, allocs: r.AllocsPerOp(), by: r.AllocedBytesPerOp()}
			}
		}
		for i := range res {
			res[i].cpu, res[i].ns = median(cpus[i]), median(walls[i])
		}
		idx := func(name string) result {
			i := slices.IndexFunc(res, func(r result) bool { return r.name == name })
			return res[i]
		}
		miss, raw := idx("apiguard-miss"), idx("raw-verify")
		fmt.Fprintf(&sb, "\n%s   apiguard-miss / raw-verify = %.2fx CPU, %.2fx wall\n", alg, miss.cpu/raw.cpu, miss.ns/raw.ns)
		fmt.Fprintf(&sb, "  %-18s %10s %10s %9s %8s %9s %9s\n", "peer", "cpu-ns/op", "ns/op", "allocs/op", "B/op", "cpu ratio", "wall ratio")
		for _, r := range res {
			fmt.Fprintf(&sb, "  %-18s %10.0f %10.0f %9d %8d %8.2fx %9.2fx\n", r.name, r.cpu, r.ns, r.allocs, r.by, r.cpu/miss.cpu, r.ns/miss.ns)
		}
	}
	fmt.Print(sb.String()) // shown with -v; t.Log would indent every line
}
