package dpop

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/dpoptest"
)

// TestVerify is the table of every check of Verify: each refused case names
// the reason of the one check that must refuse it.
func TestVerify(t *testing.T) {
	k := testKeys()
	jwk := dpoptest.JWK(k.P256.Public())
	sign := func(header, claims string) string { return dpoptest.Sign(k.P256, "ES256", header, claims) }
	claims := `{"jti":"j1","htm":"GET","htu":"` + testHTU + `","iat":1800000000,"ath":"` + dpoptest.ATH(testToken) + `"}`
	tests := []struct {
		name   string
		method string // default GET
		target string // default testHTU
		token  string // default testToken; "-" for none
		proofs []string
		want   string
	}{
		{name: "ES256", proofs: []string{proof()}},
		{name: "ES384", proofs: []string{dpoptest.NewProof(k.P384, "ES384", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken))}},
		{name: "ES512", proofs: []string{dpoptest.NewProof(k.P521, "ES512", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken))}},
		{name: "RS256", proofs: []string{dpoptest.NewProof(k.RSA, "RS256", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken))}},
		{name: "PS256", proofs: []string{dpoptest.NewProof(k.RSA, "PS256", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken))}},
		{name: "EdDSA", proofs: []string{dpoptest.NewProof(k.Ed, "EdDSA", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken))}},
		{name: "Ed25519", proofs: []string{dpoptest.NewProof(k.Ed, "Ed25519", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken))}},
		{name: "token endpoint: no token, no ath", method: "POST", target: "https://as.example/token", token: "-",
			proofs: []string{dpoptest.NewProof(k.P256, "ES256", "POST", "https://as.example/token", dpoptest.IssuedAt(t0))}},
		{name: "typ application/dpop+jwt, any case", proofs: []string{proof(dpoptest.Header("typ", `"Application/DPoP+JWT"`))}},
		{name: "kid ignored", proofs: []string{proof(dpoptest.Header("kid", `"whatever"`))}},
		{name: "unknown claims ignored", proofs: []string{proof(dpoptest.Claim("exp", `1`), dpoptest.Claim("x", `{"y":[1]}`))}},
		{name: "htu query and fragment ignored", target: testHTU + "?page=2", proofs: []string{proof(dpoptest.Claim("htu", `"`+testHTU+`?page=1#top"`))}},
		{name: "htu normalised", target: "https://api.example/v1/me", proofs: []string{proof(dpoptest.Claim("htu", `"HTTPS://API.Example:443/v1/./x/../%6De"`))}},
		{name: "request path normalised", target: "https://api.example/v1/%6d%65", proofs: []string{proof()}},
		{name: "iat at now-MaxAge", proofs: []string{proof(dpoptest.IssuedAt(t0.Add(-DefaultMaxAge)))}},
		{name: "iat at now+Leeway", proofs: []string{proof(dpoptest.IssuedAt(t0.Add(DefaultLeeway)))}},

		{name: "no DPoP header", want: ReasonProofMissing},
		{name: "two DPoP headers", proofs: []string{proof(), proof()}, want: ReasonProofMultiple},
		{name: "over MaxProofSize", proofs: []string{proof(dpoptest.Claim("pad", `"`+strings.Repeat("a", DefaultMaxProofSize)+`"`))}, want: ReasonProofTooLarge},
		{name: "not compact", proofs: []string{"a.b"}, want: ReasonMalformed},
		{name: "padded base64", proofs: []string{strings.Replace(proof(), ".", "=.", 1)}, want: ReasonMalformed},
		{name: "JSON serialization", proofs: []string{`{"payload":"e30","signatures":[]}`}, want: ReasonMalformed},
		{name: "header duplicate member", proofs: []string{sign(`{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":`+jwk+`}`, claims)}, want: ReasonHeaderInvalid},
		{name: "header alg not a string", proofs: []string{proof(dpoptest.Header("alg", `1`))}, want: ReasonHeaderInvalid},
		{name: "cty", proofs: []string{proof(dpoptest.Header("cty", `"JWT"`))}, want: ReasonHeaderInvalid},
		{name: "no typ", proofs: []string{proof(dpoptest.Header("typ", ""))}, want: ReasonTypInvalid},
		{name: "typ JWT", proofs: []string{proof(dpoptest.Header("typ", `"JWT"`))}, want: ReasonTypInvalid},
		{name: "typ at+jwt", proofs: []string{proof(dpoptest.Header("typ", `"at+jwt"`))}, want: ReasonTypInvalid},
		{name: "typ with parameters", proofs: []string{proof(dpoptest.Header("typ", `"dpop+jwt;x=1"`))}, want: ReasonTypInvalid},
		{name: "no alg", proofs: []string{proof(dpoptest.Header("alg", ""))}, want: ReasonAlgNotAllowed},
		{name: "alg none", proofs: []string{noneProof(claims, jwk)}, want: ReasonAlgNotAllowed},
		{name: "alg NONE", proofs: []string{proof(dpoptest.Header("alg", `"NONE"`))}, want: ReasonAlgNotAllowed},
		{name: "alg HS256", proofs: []string{hs256Proof(claims, jwk)}, want: ReasonAlgNotAllowed},
		{name: "alg es256", proofs: []string{proof(dpoptest.Header("alg", `"es256"`))}, want: ReasonAlgNotAllowed},
		{name: "crit", proofs: []string{proof(dpoptest.Header("crit", `["exp"]`))}, want: ReasonCritUnsupported},
		{name: "jku", proofs: []string{proof(dpoptest.Header("jku", `"https://evil.example/jwks"`))}, want: ReasonKeyReference},
		{name: "x5u", proofs: []string{proof(dpoptest.Header("x5u", `"https://evil.example/cert"`))}, want: ReasonKeyReference},
		{name: "x5c", proofs: []string{proof(dpoptest.Header("x5c", `["MIIB"]`))}, want: ReasonKeyReference},
		{name: "no jwk", proofs: []string{proof(dpoptest.Header("jwk", ""))}, want: ReasonJWKMissing},
		{name: "private key in jwk", proofs: []string{proof(dpoptest.Header("jwk", privateJWK(k.P256)))}, want: ReasonJWKPrivate},
		{name: "symmetric jwk", proofs: []string{proof(dpoptest.Header("jwk", `{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`))}, want: ReasonJWKPrivate},
		{name: "jwk of another curve", proofs: []string{proof(dpoptest.Header("jwk", dpoptest.JWK(k.P384.Public())))}, want: ReasonJWKInvalid},
		{name: "jwk not an object", proofs: []string{proof(dpoptest.Header("jwk", `"key"`))}, want: ReasonJWKInvalid},
		{name: "signed by a key other than its jwk", proofs: []string{proof(dpoptest.Header("jwk", dpoptest.JWK(k.P256b.Public())))}, want: ReasonBadSignature},
		{name: "signature altered", proofs: []string{alterSignature(proof())}, want: ReasonBadSignature},
		{name: "payload swapped", proofs: []string{swapPayload(proof(), proof(dpoptest.Claim("htm", `"POST"`)))}, want: ReasonBadSignature},
		{name: "claims duplicate member", proofs: []string{sign(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jwk+`}`, strings.Replace(claims, `{`, `{"htm":"GET",`, 1))}, want: ReasonClaimsInvalid},
		{name: "iat a string", proofs: []string{proof(dpoptest.Claim("iat", `"1800000000"`))}, want: ReasonClaimsInvalid},
		{name: "claims not an object", proofs: []string{sign(`{"typ":"dpop+jwt","alg":"ES256","jwk":`+jwk+`}`, `[]`)}, want: ReasonClaimsInvalid},
		{name: "no jti", proofs: []string{proof(dpoptest.Claim("jti", ""))}, want: ReasonJTIMissing},
		{name: "empty jti", proofs: []string{proof(dpoptest.JTI(""))}, want: ReasonJTIMissing},
		{name: "jti too long", proofs: []string{proof(dpoptest.JTI(strings.Repeat("j", MaxJTILength+1)))}, want: ReasonJTITooLong},
		{name: "no htm", proofs: []string{proof(dpoptest.Claim("htm", ""))}, want: ReasonHTMMissing},
		{name: "htm POST for GET", proofs: []string{proof(dpoptest.Claim("htm", `"POST"`))}, want: ReasonHTMMismatch},
		{name: "htm get for GET", proofs: []string{proof(dpoptest.Claim("htm", `"get"`))}, want: ReasonHTMMismatch},
		{name: "no htu", proofs: []string{proof(dpoptest.Claim("htu", ""))}, want: ReasonHTUMissing},
		{name: "htu relative", proofs: []string{proof(dpoptest.Claim("htu", `"/v1/me"`))}, want: ReasonHTUInvalid},
		{name: "htu with userinfo", proofs: []string{proof(dpoptest.Claim("htu", `"https://u@api.example/v1/me"`))}, want: ReasonHTUInvalid},
		{name: "htu another host", proofs: []string{proof(dpoptest.Claim("htu", `"https://evil.example/v1/me"`))}, want: ReasonHTUMismatch},
		{name: "htu host suffix", proofs: []string{proof(dpoptest.Claim("htu", `"https://api.example.evil/v1/me"`))}, want: ReasonHTUMismatch},
		{name: "htu another path", proofs: []string{proof(dpoptest.Claim("htu", `"https://api.example/v1/admin"`))}, want: ReasonHTUMismatch},
		{name: "htu path prefix", proofs: []string{proof(dpoptest.Claim("htu", `"https://api.example/v1/me/x"`))}, want: ReasonHTUMismatch},
		{name: "htu encoded slash", target: "https://api.example/v1/me%2Fx", proofs: []string{proof(dpoptest.Claim("htu", `"https://api.example/v1/me/x"`))}, want: ReasonHTUMismatch},
		{name: "htu another scheme", proofs: []string{proof(dpoptest.Claim("htu", `"http://api.example/v1/me"`))}, want: ReasonHTUMismatch},
		{name: "htu another port", proofs: []string{proof(dpoptest.Claim("htu", `"https://api.example:8443/v1/me"`))}, want: ReasonHTUMismatch},
		{name: "request on another port", target: "https://api.example:8443/v1/me", proofs: []string{proof()}, want: ReasonHTUMismatch},
		{name: "plain HTTP request", target: "http://api.example/v1/me", proofs: []string{proof()}, want: ReasonHTUMismatch},
		{name: "no iat", proofs: []string{proof(dpoptest.Claim("iat", ""))}, want: ReasonIATMissing},
		{name: "iat too old", proofs: []string{proof(dpoptest.IssuedAt(t0.Add(-DefaultMaxAge - time.Second)))}, want: ReasonIATTooOld},
		{name: "iat in the future", proofs: []string{proof(dpoptest.IssuedAt(t0.Add(DefaultLeeway + time.Second)))}, want: ReasonIATInFuture},
		{name: "no ath with a token", proofs: []string{proof(dpoptest.Claim("ath", ""))}, want: ReasonATHMissing},
		{name: "ath for another token", proofs: []string{proof(dpoptest.AccessToken("another-token"))}, want: ReasonATHMismatch},
		{name: "ath not base64url", proofs: []string{proof(dpoptest.Claim("ath", `"`+strings.Repeat("=", 43)+`"`))}, want: ReasonATHMismatch},
		{name: "ath of the token, padded", proofs: []string{proof(dpoptest.Claim("ath", `"`+dpoptest.ATH(testToken)+`="`))}, want: ReasonATHMismatch},
		{name: "ath without a token", token: "-", proofs: []string{proof()}, want: ReasonATHUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := &countingCache{}
			v := newVerifier(t, Config{Replay: cache}, nil)
			method, target, token := tt.method, tt.target, tt.token
			if method == "" {
				method = http.MethodGet
			}
			if target == "" {
				target = testHTU
			}
			switch token {
			case "":
				token = testToken
			case "-":
				token = ""
			}
			p, err := v.Verify(request(method, target, tt.proofs...), token)
			if got := reasonOf(t, err); got != tt.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.want)
			}
			if tt.want != "" {
				var e *Error
				errors.As(err, &e)
				if p != nil || e.Status != http.StatusUnauthorized || e.Code != CodeInvalidProof || e.Description == "" {
					t.Fatalf("refusal %+v, proof %v", e, p)
				}
				if n := cache.calls.Load(); n != 0 {
					t.Fatalf("a refused proof reached the replay cache (%d calls)", n)
				}
				return
			}
			if n := cache.calls.Load(); n != 1 {
				t.Fatalf("%d replay cache calls, want 1", n)
			}
			if p.JTI == "" || p.Alg == "" || p.NextNonce != "" {
				t.Fatalf("proof %+v", p)
			}
		})
	}
}

// TestVerifyProofFields checks what an accepted proof reports.
func TestVerifyProofFields(t *testing.T) {
	v := newVerifier(t, Config{}, nil)
	p, err := v.Verify(request("GET", testHTU, proof(dpoptest.JTI("the-jti"), dpoptest.IssuedAt(t0.Add(-time.Second)))), testToken)
	if err != nil {
		t.Fatal(err)
	}
	want := Proof{JKT: thumbprint(t, testKeys().P256), JTI: "the-jti", Alg: "ES256", IssuedAt: t0.Add(-time.Second)}
	if *p != want {
		t.Fatalf("proof %+v, want %+v", *p, want)
	}
}

// TestVerifyAlgorithms checks that Config.Algorithms is the allowlist.
func TestVerifyAlgorithms(t *testing.T) {
	v := newVerifier(t, Config{Algorithms: []string{"EdDSA"}}, nil)
	if _, err := v.Verify(request("GET", testHTU, proof()), testToken); reasonOf(t, err) != ReasonAlgNotAllowed {
		t.Fatalf("ES256 outside the allowlist: %v", err)
	}
	k := testKeys()
	if _, err := v.Verify(request("GET", testHTU, dpoptest.NewProof(k.Ed, "EdDSA", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken))), testToken); err != nil {
		t.Fatal(err)
	}
	if got := v.Algorithms(); len(got) != 1 || got[0] != "EdDSA" {
		t.Fatalf("Algorithms() = %v", got)
	}
	got := newVerifier(t, Config{}, nil).Algorithms()
	if len(got) != len(asymmetric) {
		t.Fatalf("default Algorithms() = %v", got)
	}
	for _, a := range got {
		if strings.HasPrefix(a, "HS") || a == "none" {
			t.Fatalf("default Algorithms() has %s", a)
		}
	}
}

// TestReplay checks that a proof is accepted once, on the same and another
// Verifier sharing the cache, and that a replay cache error answers 503.
func TestReplay(t *testing.T) {
	cache := NewMemoryReplayCache(0)
	now := t0
	cache.Now = func() time.Time { return now }
	v1 := newVerifier(t, Config{Replay: cache}, &now)
	v2 := newVerifier(t, Config{Replay: cache}, &now)
	p := proof()
	if _, err := v1.Verify(request("GET", testHTU, p), testToken); err != nil {
		t.Fatal(err)
	}
	for i, v := range []*Verifier{v1, v2} {
		_, err := v.Verify(request("GET", testHTU, p), testToken)
		if reasonOf(t, err) != ReasonReplayed || !errors.Is(err, ErrReplay) {
			t.Fatalf("verifier %d: replay gave %v", i+1, err)
		}
	}
	// Another jti of the same key, and the same jti of another key, are fresh.
	if _, err := v1.Verify(request("GET", testHTU, proof(dpoptest.JTI("other"))), testToken); err != nil {
		t.Fatal(err)
	}
	p2 := dpoptest.NewProof(testKeys().P256b, "ES256", "GET", testHTU, dpoptest.IssuedAt(t0), dpoptest.AccessToken(testToken), dpoptest.JTI("other"))
	if _, err := v1.Verify(request("GET", testHTU, p2), testToken); err != nil {
		t.Fatal(err)
	}

	failing := &countingCache{err: errors.New("redis: connection refused")}
	v3 := newVerifier(t, Config{Replay: failing}, nil)
	_, err := v3.Verify(request("GET", testHTU, proof()), testToken)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Code != "" || e.Reason != ReasonReplayUnavailable {
		t.Fatalf("replay cache error gave %+v", e)
	}
	if strings.Contains(e.Description, "redis") {
		t.Fatalf("description %q leaks the error", e.Description)
	}
}

// TestReplayExpiry checks the replay entry lasts until iat+MaxAge+Leeway.
func TestReplayExpiry(t *testing.T) {
	var gotExp time.Time
	v := newVerifier(t, Config{Replay: replayFunc(func(jkt, jti string, exp time.Time) error { gotExp = exp; return nil })}, nil)
	if _, err := v.Verify(request("GET", testHTU, proof(dpoptest.IssuedAt(t0.Add(-10*time.Second)))), testToken); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(-10*time.Second + DefaultMaxAge + DefaultLeeway); !gotExp.Equal(want) {
		t.Fatalf("expires %v, want %v", gotExp, want)
	}
}

// TestTrustedProxy checks the forwarded scheme and host are believed from a
// trusted proxy only, and that PublicURL overrides them.
func TestTrustedProxy(t *testing.T) {
	const internal = "http://backend:8080/v1/me"
	tests := []struct {
		name   string
		cfg    Config
		peer   string
		header map[string]string
		htu    string
		want   string
	}{
		{"trusted proxy, X-Forwarded", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5555",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "API.example"}, testHTU, ""},
		{"trusted proxy, Forwarded", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5555",
			map[string]string{"Forwarded": `for=192.0.2.1;proto=https;host="api.example:443"`}, testHTU, ""},
		{"trusted proxy, internal htu refused", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5555",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, internal, ReasonHTUMismatch},
		{"trusted proxy, host only", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5555",
			map[string]string{"X-Forwarded-Host": "api.example"}, "http://api.example/v1/me", ""},
		{"trusted proxy, bad proto", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5555",
			map[string]string{"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "api.example"}, testHTU, ReasonHTUMismatch},
		{"untrusted peer, X-Forwarded ignored", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "203.0.113.9:5555",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, testHTU, ReasonHTUMismatch},
		{"untrusted peer, Forwarded ignored", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "203.0.113.9:5555",
			map[string]string{"Forwarded": "proto=https;host=api.example"}, testHTU, ReasonHTUMismatch},
		{"no trusted proxies, X-Forwarded ignored", Config{}, "10.1.2.3:5555",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, testHTU, ReasonHTUMismatch},
		{"untrusted peer, own URL", Config{TrustedProxies: []string{"10.0.0.0/8"}}, "203.0.113.9:5555",
			map[string]string{"X-Forwarded-Host": "api.example"}, internal, ""},
		{"PublicURL", Config{PublicURL: "https://api.example"}, "203.0.113.9:5555", nil, testHTU, ""},
		{"PublicURL with a prefix", Config{PublicURL: "https://API.example:443/edge/"}, "203.0.113.9:5555", nil, "https://api.example/edge/v1/me", ""},
		{"PublicURL, the internal URL refused", Config{PublicURL: "https://api.example"}, "203.0.113.9:5555", nil, internal, ReasonHTUMismatch},
		{"PublicURL over a trusted proxy", Config{PublicURL: "https://api.example", TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5555",
			map[string]string{"X-Forwarded-Host": "evil.example"}, "https://evil.example/v1/me", ReasonHTUMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.cfg, nil)
			r := request("GET", internal, proof(dpoptest.Claim("htu", `"`+tt.htu+`"`)))
			r.RemoteAddr = tt.peer
			for k, val := range tt.header {
				r.Header.Set(k, val)
			}
			_, err := v.Verify(r, testToken)
			if got := reasonOf(t, err); got != tt.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

// TestNew checks every configuration error names its field.
func TestNew(t *testing.T) {
	secret := []byte(strings.Repeat("s", MinNonceSecret))
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"HS256", Config{Algorithms: []string{"ES256", "HS256"}}, `Algorithms contains "HS256"`},
		{"none", Config{Algorithms: []string{"none"}}, `Algorithms contains "none"`},
		{"empty alg", Config{Algorithms: []string{""}}, `Algorithms contains ""`},
		{"unknown alg", Config{Algorithms: []string{"ES256K"}}, `Algorithms contains "ES256K"`},
		{"negative MaxAge", Config{MaxAge: -1}, "MaxAge"},
		{"negative Leeway", Config{Leeway: -1}, "Leeway"},
		{"negative MaxProofSize", Config{MaxProofSize: -1}, "MaxProofSize"},
		{"short NonceSecret", Config{NonceSecret: secret[:31]}, "NonceSecret of 31 bytes"},
		{"NonceStep under a second", Config{NonceSecret: secret, NonceStep: time.Millisecond}, "NonceStep"},
		{"NonceStep without secret", Config{NonceStep: time.Minute}, "NonceStep"},
		{"PublicURL ftp", Config{PublicURL: "ftp://api.example"}, `PublicURL "ftp://api.example"`},
		{"PublicURL relative", Config{PublicURL: "/api"}, "PublicURL"},
		{"PublicURL query", Config{PublicURL: "https://api.example/?a"}, "PublicURL"},
		{"PublicURL userinfo", Config{PublicURL: "https://u:p@api.example"}, "PublicURL"},
		{"TrustedProxies", Config{TrustedProxies: []string{"10.0.0.0/33"}}, "TrustedProxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err %v, want one naming %s", err, tt.field)
			}
		})
	}
	if _, err := New(Config{NonceSecret: secret, NonceStep: time.Second, MaxAge: time.Minute, Leeway: time.Second, MaxProofSize: 1, PublicURL: "http://localhost:8080/x", TrustedProxies: []string{"::1"}}); err != nil {
		t.Fatal(err)
	}
}

// TestErrorText checks that no refusal echoes the proof.
func TestErrorText(t *testing.T) {
	v := newVerifier(t, Config{}, nil)
	evil := `<script>"\u0000`
	for _, p := range []string{
		proof(dpoptest.Claim("htu", `"https://`+`evil.example/`+evil+`"`)),
		proof(dpoptest.JTI(evil + strings.Repeat("x", MaxJTILength))),
		proof(dpoptest.Header("typ", `"`+evil+`"`)),
		"<script>.a.b",
	} {
		_, err := v.Verify(request("GET", testHTU, p), testToken)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("accepted %q", p)
		}
		if strings.Contains(e.Description, "<") || strings.Contains(e.Error(), "<") || strings.Contains(e.Description, "evil") {
			t.Fatalf("refusal echoes the input: %q / %q", e.Description, e.Error())
		}
	}
}

type replayFunc func(jkt, jti string, exp time.Time) error

func (f replayFunc) Use(_ context.Context, jkt, jti string, exp time.Time) error {
	return f(jkt, jti, exp)
}
