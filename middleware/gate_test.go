package middleware

import (
	"context"
	"encoding/base64"
	"errors"
	"github.com/apiguard/apiguard/middleware/jose"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is the fixed clock of the tests.
var t0 = time.Unix(1_800_000_000, 0).UTC()

func unix(d time.Duration) string { return strconv.FormatInt(t0.Add(d).Unix(), 10) }

const (
	testIss = "https://issuer.example"
	testAud = "api.example"
	hdrRS   = `{"alg":"RS256","kid":"rsa1","typ":"at+jwt"}`
)

// claimsJSON returns a valid claims set, with the given members replaced
// (value "" drops the member).
func claimsJSON(over ...string) string {
	members := []string{
		"iss", `"` + testIss + `"`,
		"sub", `"user-42"`,
		"aud", `["` + testAud + `","other"]`,
		"exp", unix(10 * time.Minute),
		"iat", unix(-time.Minute),
		"nbf", unix(-time.Minute),
		"jti", `"jti-0001"`,
		"roles", `["user","admin"]`,
		"scope", `"read write"`,
	}
	for i := 0; i+1 < len(over); i += 2 {
		found := false
		for j := 0; j < len(members); j += 2 {
			if members[j] == over[i] {
				members[j+1] = over[i+1]
				found = true
			}
		}
		if !found {
			members = append(members, over[i], over[i+1])
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for j := 0; j < len(members); j += 2 {
		if members[j+1] == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + members[j] + `":` + members[j+1])
	}
	b.WriteByte('}')
	return b.String()
}

func mustKey(tb testing.TB, kid, alg string, key any) *jose.Key {
	tb.Helper()
	k, err := jose.NewKey(kid, alg, key)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func testKeySource(tb testing.TB) *jose.StaticKeys {
	tb.Helper()
	k := fixtureKeys(tb)
	ks, err := jose.NewStaticKeys(
		mustKey(tb, "rsa1", jose.RS256, &k.RSA.PublicKey),
		mustKey(tb, "ps1", jose.PS256, &k.RSA.PublicKey),
		mustKey(tb, "ec1", jose.ES256, &k.EC.PublicKey),
		mustKey(tb, "ed1", jose.EdDSA, k.Ed.Public()),
		mustKey(tb, "hs1", jose.HS256, k.HMAC),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

func testConfig(tb testing.TB) Config {
	return Config{
		Keys:       testKeySource(tb),
		Algorithms: []string{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA, jose.HS256},
		Issuer:     testIss,
		Audience:   testAud,
		Now:        func() time.Time { return t0 },
		CacheSize:  -1,
	}
}

func newTestGate(tb testing.TB, mod func(*Config)) *Authenticator {
	tb.Helper()
	cfg := testConfig(tb)
	if mod != nil {
		mod(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// countingKeys counts lookups and can fail or lie.
type countingKeys struct {
	inner jose.KeySource
	calls atomic.Int64
	err   error
	key   *jose.Key
}

func (c *countingKeys) LookupKey(ctx context.Context, kid, alg string) (*jose.Key, error) {
	c.calls.Add(1)
	if c.err != nil {
		return nil, c.err
	}
	if c.key != nil {
		return c.key, nil
	}
	return c.inner.LookupKey(ctx, kid, alg)
}

// flipUnusedBit changes the last character of an encoded segment so that it
// decodes (leniently) to the same bytes: only its unused low bit differs.
func flipUnusedBit(tb testing.TB, seg string) string {
	tb.Helper()
	if len(seg)%4 == 0 {
		tb.Fatalf("segment of length %d has no unused bits", len(seg))
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, seg[len(seg)-1])
	out := seg[:len(seg)-1] + string(alphabet[v^1])
	lenient, err1 := base64.RawURLEncoding.DecodeString(out)
	orig, err2 := base64.RawURLEncoding.DecodeString(seg)
	if err1 != nil || err2 != nil || string(lenient) != string(orig) {
		tb.Fatalf("flipUnusedBit did not keep the bytes: %v %v", err1, err2)
	}
	return out
}

// withUnusedBits pads a JSON text with trailing spaces until its encoding has
// unused bits.
func withUnusedBits(js string) string {
	for len(js)%3 == 0 {
		js += " "
	}
	return js
}

func TestGateSteps(t *testing.T) {
	k := fixtureKeys(t)
	jkuHits := atomic.Int64{}
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jkuHits.Add(1)
	}))
	defer jku.Close()
	valid := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	vparts := strings.Split(valid, ".")
	hdrU := withUnusedBits(hdrRS)
	clU := withUnusedBits(claimsJSON())
	hsegU, psegU := b64.EncodeToString([]byte(hdrU)), b64.EncodeToString([]byte(clU))
	rs := func(header, claims string) string { return signJSON(t, jose.RS256, k.RSA, header, claims) }
	withSig := func(header, claims string) string {
		return b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims)) + "." + vparts[2]
	}
	hsWithPEM := signJSON(t, jose.HS256, k.RSAPEM, `{"alg":"HS256","kid":"rsa1","typ":"at+jwt"}`, claimsJSON())
	longKid := strings.Repeat("k", 300)

	tests := []struct {
		name  string
		token string
		mod   func(*Config)
		want  Reason // "" = accepted
	}{
		// Accepted, one per algorithm and a few allowed variants.
		{"RS256", valid, nil, ""},
		{"PS256", signJSON(t, jose.PS256, k.RSA, `{"alg":"PS256","kid":"ps1","typ":"at+jwt"}`, claimsJSON()), nil, ""},
		{"ES256", signJSON(t, jose.ES256, k.EC, `{"alg":"ES256","kid":"ec1","typ":"at+jwt"}`, claimsJSON()), nil, ""},
		{"EdDSA", signJSON(t, jose.EdDSA, k.Ed, `{"alg":"EdDSA","kid":"ed1","typ":"at+jwt"}`, claimsJSON()), nil, ""},
		{"HS256", signJSON(t, jose.HS256, k.HMAC, `{"alg":"HS256","kid":"hs1","typ":"at+jwt"}`, claimsJSON()), nil, ""},
		{"no kid, one key of alg", rs(`{"alg":"RS256","typ":"at+jwt"}`, claimsJSON()), nil, ""},
		{"typ upper case", rs(`{"alg":"RS256","kid":"rsa1","typ":"AT+JWT"}`, claimsJSON()), nil, ""},
		{"typ media type", rs(`{"alg":"RS256","kid":"rsa1","typ":"application/at+jwt"}`, claimsJSON()), nil, ""},
		{"typ JWT with AllowAnyTyp", rs(`{"alg":"RS256","kid":"rsa1","typ":"JWT"}`, claimsJSON()), func(c *Config) { c.AllowAnyTyp = true }, ""},
		{"understood crit", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":["ext"],"ext":1}`, claimsJSON()), func(c *Config) { c.Critical = []string{"ext"} }, ""},
		{"aud string", rs(hdrRS, claimsJSON("aud", `"`+testAud+`"`)), nil, ""},
		{"exp within leeway", rs(hdrRS, claimsJSON("exp", unix(-10*time.Second))), nil, ""},
		{"nbf within leeway", rs(hdrRS, claimsJSON("nbf", unix(10*time.Second))), nil, ""},
		{"unused bits zero", signSegments(t, jose.RS256, k.RSA, hsegU, psegU), nil, ""},

		// Extraction-level size cap and shape.
		{"too large", valid + strings.Repeat("A", 9000), nil, ReasonTokenTooLarge},
		{"100k dots", strings.Repeat(".", 100_000), nil, ReasonTokenTooLarge},
		{"JSON serialization", `{"payload":"` + vparts[1] + `","protected":"` + vparts[0] + `","signature":"` + vparts[2] + `"}`, nil, ReasonMalformed},
		{"two segments", vparts[0] + "." + vparts[1], nil, ReasonMalformed},
		{"four segments", valid + ".AAAA", nil, ReasonMalformed},
		{"empty signature", vparts[0] + "." + vparts[1] + ".", nil, ReasonMalformed},
		{"empty header", "." + vparts[1] + "." + vparts[2], nil, ReasonMalformed},
		{"space inside", vparts[0] + ". " + vparts[1] + "." + vparts[2], nil, ReasonMalformed},
		{"newline inside", vparts[0] + ".\n" + vparts[1] + "." + vparts[2], nil, ReasonMalformed},
		{"padding header", signSegments(t, jose.RS256, k.RSA, hsegU+"=", psegU), nil, ReasonBadBase64},
		{"padding payload", signSegments(t, jose.RS256, k.RSA, hsegU, psegU+"="), nil, ReasonBadBase64},
		{"padding signature", valid + "==", nil, ReasonBadBase64},
		{"plus in header", signSegments(t, jose.RS256, k.RSA, "+"+vparts[0][1:], vparts[1]), nil, ReasonBadBase64},
		{"slash in payload", signSegments(t, jose.RS256, k.RSA, vparts[0], "/"+vparts[1][1:]), nil, ReasonBadBase64},
		{"plus in signature", vparts[0] + "." + vparts[1] + ".+" + vparts[2][1:], nil, ReasonBadBase64},
		{"unused bits header", signSegments(t, jose.RS256, k.RSA, flipUnusedBit(t, hsegU), psegU), nil, ReasonBadBase64},
		{"unused bits payload", signSegments(t, jose.RS256, k.RSA, hsegU, flipUnusedBit(t, psegU)), nil, ReasonBadBase64},
		{"unused bits signature", vparts[0] + "." + vparts[1] + "." + flipUnusedBit(t, vparts[2]), nil, ReasonBadBase64},
		{"bad length", vparts[0] + "." + vparts[1] + "." + vparts[2] + "AAA", nil, ReasonBadBase64},

		// Header.
		{"header not JSON", withSig("not json", claimsJSON()), nil, ReasonBadJSON},
		{"header trailing data", rs(hdrRS+"x", claimsJSON()), nil, ReasonBadJSON},
		{"header invalid UTF-8", rs("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"at+jwt\",\"x\":\"\xff\"}", claimsJSON()), nil, ReasonBadJSON},
		{"header duplicate alg", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","alg":"RS256"}`, claimsJSON()), nil, ReasonDuplicateKey},
		{"header duplicate escaped", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","\u0061lg":"HS256"}`, claimsJSON()), nil, ReasonDuplicateKey},
		{"alg number", rs(`{"alg":256,"kid":"rsa1","typ":"at+jwt"}`, claimsJSON()), nil, ReasonHeaderInvalid},
		{"alg missing", rs(`{"kid":"rsa1","typ":"at+jwt"}`, claimsJSON()), nil, ReasonAlgMissing},
		{"alg none", withSig(`{"alg":"none","typ":"at+jwt"}`, claimsJSON()), nil, ReasonAlgNone},
		{"alg NONE", withSig(`{"alg":"NONE","typ":"at+jwt"}`, claimsJSON()), nil, ReasonAlgNone},
		{"alg nOnE", withSig(`{"alg":"nOnE","kid":"rsa1","typ":"at+jwt"}`, claimsJSON()), nil, ReasonAlgNone},
		{"alg none unsigned", b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + vparts[1] + ".", nil, ReasonMalformed},
		{"alg not allowed", rs(`{"alg":"RS384","kid":"rsa1","typ":"at+jwt"}`, claimsJSON()), nil, ReasonAlgNotAllowed},
		{"alg case differs", rs(`{"alg":"rs256","kid":"rsa1","typ":"at+jwt"}`, claimsJSON()), nil, ReasonAlgNotAllowed},
		{"HS256 keyed with RSA public key, jose.HS256 not allowed", hsWithPEM, func(c *Config) { c.Algorithms = []string{jose.RS256} }, ReasonAlgNotAllowed},
		{"HS256 keyed with RSA public key, kid of the RSA key", hsWithPEM, nil, ReasonAlgMismatch},
		{"HS256 keyed with RSA public key, no kid", signJSON(t, jose.HS256, k.RSAPEM, `{"alg":"HS256","typ":"at+jwt"}`, claimsJSON()),
			func(c *Config) {
				ks, _ := jose.NewStaticKeys(mustKey(t, "rsa1", jose.RS256, &k.RSA.PublicKey))
				c.Keys = ks
				c.Algorithms = []string{jose.RS256, jose.HS256}
			}, ReasonAlgMismatch},
		{"ES256 header on the RSA kid", signJSON(t, jose.ES256, k.EC, `{"alg":"ES256","kid":"rsa1","typ":"at+jwt"}`, claimsJSON()), nil, ReasonAlgMismatch},
		{"key source returns a key of another alg", valid, func(c *Config) {
			c.Keys = &countingKeys{key: mustKey(t, "rsa1", jose.PS256, &k.RSA.PublicKey)}
		}, ReasonAlgMismatch},
		{"embedded jwk", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`, claimsJSON()), nil, ReasonEmbeddedKey},
		{"embedded jku", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","jku":"`+jku.URL+`/jwks.json"}`, claimsJSON()), nil, ReasonEmbeddedKey},
		{"embedded x5u", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5u":"`+jku.URL+`/cert.pem"}`, claimsJSON()), nil, ReasonEmbeddedKey},
		{"embedded x5c", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","x5c":["MIIB"]}`, claimsJSON()), nil, ReasonEmbeddedKey},
		{"crit by default", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":["exp"]}`, claimsJSON()), nil, ReasonCritUnsupported},
		{"crit partly understood", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":["ext","other"]}`, claimsJSON()), func(c *Config) { c.Critical = []string{"ext"} }, ReasonCritUnsupported},
		{"crit empty", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":[]}`, claimsJSON()), nil, ReasonHeaderInvalid},
		{"crit not array", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","crit":"ext"}`, claimsJSON()), func(c *Config) { c.Critical = []string{"ext"} }, ReasonHeaderInvalid},
		{"typ missing", rs(`{"alg":"RS256","kid":"rsa1"}`, claimsJSON()), nil, ReasonTypInvalid},
		{"typ JWT", rs(`{"alg":"RS256","kid":"rsa1","typ":"JWT"}`, claimsJSON()), nil, ReasonTypInvalid},
		{"nested token", rs(`{"alg":"RS256","kid":"rsa1","typ":"at+jwt","cty":"jwt"}`, claimsJSON()), nil, ReasonNestedToken},
		{"unknown kid", rs(`{"alg":"RS256","kid":"nope","typ":"at+jwt"}`, claimsJSON()), nil, ReasonUnknownKID},
		{"path kid", rs(`{"alg":"RS256","kid":"../../etc/passwd","typ":"at+jwt"}`, claimsJSON()), nil, ReasonUnknownKID},
		{"long kid", rs(`{"alg":"RS256","kid":"`+longKid+`","typ":"at+jwt"}`, claimsJSON()), nil, ReasonUnknownKID},
		{"NUL in kid", rs(`{"alg":"RS256","kid":"rsa1\u0000","typ":"at+jwt"}`, claimsJSON()), nil, ReasonUnknownKID},
		{"no kid, two keys of alg", rs(`{"alg":"RS256","typ":"at+jwt"}`, claimsJSON()), func(c *Config) {
			ks, _ := jose.NewStaticKeys(mustKey(t, "a", jose.RS256, &k.RSA.PublicKey), mustKey(t, "b", jose.RS256, &k.RSAOther.PublicKey))
			c.Keys = ks
		}, ReasonUnknownKID},
		{"keys unavailable", valid, func(c *Config) { c.Keys = &countingKeys{err: jose.ErrKeysUnavailable} }, ReasonKeysUnavailable},

		// Signature.
		{"signed by another key", signJSON(t, jose.RS256, k.RSAOther, hdrRS, claimsJSON()), nil, ReasonBadSignature},
		{"payload swapped", vparts[0] + "." + b64.EncodeToString([]byte(claimsJSON("sub", `"admin"`))) + "." + vparts[2], nil, ReasonBadSignature},
		{"HS256 with wrong secret", signJSON(t, jose.HS256, []byte("another-secret-another-secret-xx"), `{"alg":"HS256","kid":"hs1","typ":"at+jwt"}`, claimsJSON()), nil, ReasonBadSignature},

		// Claims.
		{"claims not JSON", rs(hdrRS, "x"), nil, ReasonBadJSON},
		{"claims trailing data", rs(hdrRS, claimsJSON()+"{}"), nil, ReasonBadJSON},
		{"claims invalid UTF-8", rs(hdrRS, claimsJSON("sub", "\"\xc3\x28\"")), nil, ReasonBadJSON},
		{"claims lone surrogate", rs(hdrRS, claimsJSON("sub", `"\ud800"`)), nil, ReasonBadJSON},
		{"claims too deep", rs(hdrRS, claimsJSON("x", strings.Repeat("[", 40)+strings.Repeat("]", 40))), nil, ReasonBadJSON},
		{"claims duplicate exp", rs(hdrRS, strings.TrimSuffix(claimsJSON(), "}")+`,"exp":`+unix(time.Hour)+`}`), nil, ReasonDuplicateKey},
		{"claims duplicate escaped sub", rs(hdrRS, strings.TrimSuffix(claimsJSON(), "}")+`,"s\u0075b":"admin"}`), nil, ReasonDuplicateKey},
		{"exp missing", rs(hdrRS, claimsJSON("exp", "")), nil, ReasonExpMissing},
		{"exp zero", rs(hdrRS, claimsJSON("exp", "0")), nil, ReasonExpired},
		{"exp negative", rs(hdrRS, claimsJSON("exp", "-1")), nil, ReasonExpired},
		{"exp string", rs(hdrRS, claimsJSON("exp", `"`+unix(time.Hour)+`"`)), nil, ReasonExpInvalid},
		{"exp null", rs(hdrRS, claimsJSON("exp", `null`)), nil, ReasonExpInvalid},
		{"nbf string", rs(hdrRS, claimsJSON("nbf", `"0"`)), nil, ReasonExpInvalid},
		{"expired", rs(hdrRS, claimsJSON("exp", unix(-31*time.Second))), nil, ReasonExpired},
		{"nbf in the future", rs(hdrRS, claimsJSON("nbf", unix(31*time.Second))), nil, ReasonNotYetValid},
		{"iat in the future", rs(hdrRS, claimsJSON("iat", unix(31*time.Second), "nbf", "")), nil, ReasonIATFuture},
		{"max age exceeded", rs(hdrRS, claimsJSON("iat", unix(-2*time.Hour), "nbf", "")), func(c *Config) { c.MaxAge = time.Hour }, ReasonTooOld},
		{"max age without iat", rs(hdrRS, claimsJSON("iat", "")), func(c *Config) { c.MaxAge = time.Hour }, ReasonIATMissing},
		{"max age met", rs(hdrRS, claimsJSON()), func(c *Config) { c.MaxAge = time.Hour }, ""},
		{"iss other", rs(hdrRS, claimsJSON("iss", `"https://evil.example"`)), nil, ReasonIssMismatch},
		{"iss missing", rs(hdrRS, claimsJSON("iss", "")), nil, ReasonIssMismatch},
		{"iss prefix", rs(hdrRS, claimsJSON("iss", `"`+testIss+`/"`)), nil, ReasonIssMismatch},
		{"aud other", rs(hdrRS, claimsJSON("aud", `["x","y"]`)), nil, ReasonAudMismatch},
		{"aud missing", rs(hdrRS, claimsJSON("aud", "")), nil, ReasonAudMismatch},
		{"aud number", rs(hdrRS, claimsJSON("aud", "1")), nil, ReasonClaimInvalid},
		{"sub missing", rs(hdrRS, claimsJSON("sub", "")), nil, ReasonSubMissing},
		{"sub empty", rs(hdrRS, claimsJSON("sub", `""`)), nil, ReasonSubMissing},
		{"sub number", rs(hdrRS, claimsJSON("sub", `42`)), nil, ReasonClaimInvalid},
		{"roles string", rs(hdrRS, claimsJSON("roles", `"admin"`)), nil, ReasonClaimInvalid},
		{"jti missing with revocation", rs(hdrRS, claimsJSON("jti", "")), func(c *Config) { c.Revocation = NewMemoryRevocationList(nil) }, ReasonJTIMissing},
		{"jti missing without revocation", rs(hdrRS, claimsJSON("jti", "")), nil, ""},
		{"validator", valid, func(c *Config) {
			c.Validators = []func(*Claims) error{func(c *Claims) error {
				if c.HasRole("admin") {
					return errors.New("no admins here")
				}
				return nil
			}}
		}, ReasonValidator},
		{"revocation unavailable", valid, func(c *Config) { c.Revocation = failingRevocation{} }, ReasonRevocationUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGate(t, tt.mod)
			c, err := g.Verify(context.Background(), tt.token)
			if got := reasonOf(err); got != tt.want {
				t.Fatalf("reason = %q (err %v), want %q", got, err, tt.want)
			}
			if tt.want == "" {
				if c == nil || c.Subject == "" {
					t.Fatalf("accepted without claims: %+v", c)
				}
				return
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			var e *Error
			errors.As(err, &e)
			if e.Status == 0 || e.Description == "" {
				t.Fatalf("error without status or description: %+v", e)
			}
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Fatalf("the jku/x5u server received %d requests", n)
	}
}

type failingRevocation struct{ *MemoryRevocationList }

func (failingRevocation) IsRevoked(string, string, string, string, time.Time) (bool, error) {
	return false, ErrRevocationUnavailable
}

func TestGateClaims(t *testing.T) {
	k := fixtureKeys(t)
	g := newTestGate(t, nil)
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("exp", "1800000600.5", "custom", `{"a":[1,2]}`))
	c, err := g.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != testIss || c.Subject != "user-42" || c.JTI != "jti-0001" || c.KID != "rsa1" || c.Alg != jose.RS256 {
		t.Fatalf("claims %+v", c)
	}
	if len(c.Audience) != 2 || c.Audience[0] != testAud || !c.HasRole("admin") || c.HasRole("root") || !c.HasScope("write") || c.HasScope("delete") {
		t.Fatalf("claims %+v", c)
	}
	if want := time.Unix(1800000600, 5e8); !c.Expiry.Equal(want) || !c.IssuedAt.Equal(t0.Add(-time.Minute)) || !c.NotBefore.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("times %v %v %v", c.Expiry, c.IssuedAt, c.NotBefore)
	}
	raw, ok := c.Get("custom")
	if !ok || string(raw) != `{"a":[1,2]}` {
		t.Fatalf("Get(custom) = %s, %v", raw, ok)
	}
	raw[0] = 'X' // a copy: the claims are not changed
	if raw2, _ := c.Get("custom"); string(raw2) != `{"a":[1,2]}` {
		t.Fatal("Get returned shared bytes")
	}
	if _, ok := c.Get("absent"); ok {
		t.Fatal("Get found an absent claim")
	}
	// Appending to a slice must not write into another request's view.
	roles := append(c.Roles, "root")
	_ = roles
	if len(c.Roles) != 2 || cap(c.Roles) != 2 {
		t.Fatalf("Roles has spare capacity: len %d cap %d", len(c.Roles), cap(c.Roles))
	}
}

func TestGateCache(t *testing.T) {
	k := fixtureKeys(t)
	now := t0
	rev := NewMemoryRevocationList(func() time.Time { return now })
	keys := &countingKeys{inner: testKeySource(t)}
	g := newTestGate(t, func(c *Config) {
		c.Keys = keys
		c.CacheSize = 0
		c.Revocation = rev
		c.Now = func() time.Time { return now }
	})
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("exp", unix(2*time.Minute)))
	c1, err := g.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := g.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 || keys.calls.Load() != 1 {
		t.Fatalf("second verify was not a cache hit (lookups %d)", keys.calls.Load())
	}

	t.Run("revoked on a hit", func(t *testing.T) {
		tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("jti", `"to-revoke"`))
		if _, err := g.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		before := keys.calls.Load()
		if err := rev.RevokeToken(context.Background(), testIss, "to-revoke", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Verify(context.Background(), tok); reasonOf(err) != ReasonRevoked {
			t.Fatalf("after revocation: %v", err)
		}
		if keys.calls.Load() != before {
			t.Fatal("the revoked check was not made on a cache hit")
		}
	})
	t.Run("subject revoked before iat", func(t *testing.T) {
		tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("sub", `"bob"`, "jti", `"bob-1"`))
		if _, err := g.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		// A cut-off before iat leaves the token alone.
		_ = rev.RevokeSubject(context.Background(), testIss, "bob", t0.Add(-2*time.Minute), t0.Add(time.Hour))
		if _, err := g.Verify(context.Background(), tok); err != nil {
			t.Fatalf("cut-off before iat: %v", err)
		}
		_ = rev.RevokeSubject(context.Background(), testIss, "bob", t0, t0.Add(time.Hour))
		if _, err := g.Verify(context.Background(), tok); reasonOf(err) != ReasonRevoked {
			t.Fatalf("cut-off after iat: %v", err)
		}
	})
	t.Run("entry dies at exp", func(t *testing.T) {
		now = t0.Add(2*time.Minute + 31*time.Second)
		defer func() { now = t0 }()
		if _, err := g.Verify(context.Background(), tok); reasonOf(err) != ReasonExpired {
			t.Fatalf("after exp: %v", err)
		}
	})
	t.Run("invalid results are not cached", func(t *testing.T) {
		bad := signJSON(t, jose.RS256, k.RSAOther, hdrRS, claimsJSON())
		for i := 0; i < 2; i++ {
			if _, err := g.Verify(context.Background(), bad); reasonOf(err) != ReasonBadSignature {
				t.Fatal(err)
			}
		}
		if g.cache.len() > 3 {
			t.Fatalf("cache holds %d entries", g.cache.len())
		}
	})
}

func TestGateCacheMaxAge(t *testing.T) {
	k := fixtureKeys(t)
	now := t0
	g := newTestGate(t, func(c *Config) {
		c.CacheSize = 0
		c.MaxAge = 2 * time.Minute
		c.Now = func() time.Time { return now }
	})
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON()) // iat t0-1m, exp t0+10m
	if _, err := g.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(90 * time.Second)
	if _, err := g.Verify(context.Background(), tok); reasonOf(err) != ReasonTooOld {
		t.Fatalf("cached past MaxAge: %v", err)
	}
}

func TestGateKidNotLookedUp(t *testing.T) {
	k := fixtureKeys(t)
	keys := &countingKeys{inner: testKeySource(t)}
	g := newTestGate(t, func(c *Config) { c.Keys = keys })
	for _, kid := range []string{`rsa1\u0000`, strings.Repeat("x", MaxKIDLength+1), `a\nb`} {
		tok := signJSON(t, jose.RS256, k.RSA, `{"alg":"RS256","kid":"`+kid+`","typ":"at+jwt"}`, claimsJSON())
		if _, err := g.Verify(context.Background(), tok); reasonOf(err) != ReasonUnknownKID {
			t.Fatalf("kid %q: %v", kid, err)
		}
	}
	if n := keys.calls.Load(); n != 0 {
		t.Fatalf("the key source was asked %d times about impossible kids", n)
	}
}

type retryAfterErr struct{}

func (retryAfterErr) Error() string             { return "jwks down" }
func (retryAfterErr) Unwrap() error             { return jose.ErrKeysUnavailable }
func (retryAfterErr) RetryAfter() time.Duration { return 42 * time.Second }

func TestGateUnavailable(t *testing.T) {
	k := fixtureKeys(t)
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	g := newTestGate(t, func(c *Config) { c.Keys = &countingKeys{err: retryAfterErr{}} })
	_, err := g.Verify(context.Background(), tok)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.RetryAfter != 42*time.Second || !errors.Is(err, jose.ErrKeysUnavailable) {
		t.Fatalf("keys unavailable: %+v", e)
	}
	g = newTestGate(t, func(c *Config) { c.Revocation = failingRevocation{} })
	_, err = g.Verify(context.Background(), tok)
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.RetryAfter <= 0 || !errors.Is(err, ErrRevocationUnavailable) {
		t.Fatalf("revocation unavailable: %+v", e)
	}
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"no keys", func(c *Config) { c.Keys = nil }, "Config.Keys"},
		{"no issuer", func(c *Config) { c.Issuer = "" }, "Issuer"},
		{"no audience", func(c *Config) { c.Audience = "" }, "Audience"},
		{"no algorithms, no keys to take them from", func(c *Config) { c.Keys, c.Algorithms = &jose.StaticKeys{}, nil }, "Config.Algorithms"},
		{"none", func(c *Config) { c.Algorithms = []string{jose.RS256, "none"} }, "Algorithms"},
		{"NoNe", func(c *Config) { c.Algorithms = []string{"NoNe"} }, "Algorithms"},
		{"unknown alg", func(c *Config) { c.Algorithms = []string{"RS1"} }, "Algorithms"},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, "Leeway"},
		{"negative max age", func(c *Config) { c.MaxAge = -time.Second }, "MaxAge"},
		{"negative TTL", func(c *Config) { c.CacheTTL = -time.Second }, "CacheTTL"},
		{"negative size", func(c *Config) { c.MaxTokenSize = -1 }, "MaxTokenSize"},
		{"huge size", func(c *Config) { c.MaxTokenSize = 1 << 30 }, "MaxTokenSize"},
		{"b64 critical", func(c *Config) { c.Critical = []string{"b64"} }, "Critical"},
		{"nil validator", func(c *Config) { c.Validators = []func(*Claims) error{nil} }, "Validators"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.mod(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func TestGateDefaults(t *testing.T) {
	g := newTestGate(t, func(c *Config) { c.CacheSize = 0; c.Now = nil })
	if g.leeway != DefaultLeeway || g.maxSize != DefaultMaxTokenSize || g.cache == nil || g.cache.ttl != DefaultCacheTTL || g.now == nil {
		t.Fatalf("defaults not applied: %+v", g)
	}
	if g.cache.perCap*cacheShards < DefaultCacheSize {
		t.Fatalf("cache cap %d", g.cache.perCap*cacheShards)
	}
}

func TestReasonThreat(t *testing.T) {
	for r, want := range map[Reason]bool{
		ReasonAlgNone: true, ReasonAlgMismatch: true, ReasonEmbeddedKey: true, ReasonBadSignature: true,
		ReasonExpired: false, ReasonUnknownKID: false, ReasonNoToken: false,
	} {
		if r.Threat() != want {
			t.Errorf("%s.Threat() = %v", r, !want)
		}
	}
}

// FuzzGate feeds arbitrary tokens to the gate: it must never panic and never
// accept anything the test did not sign.
func FuzzGate(f *testing.F) {
	k := fixtureKeys(f)
	f.Add(signJSON(f, jose.HS256, k.HMAC, `{"alg":"HS256","kid":"hs1","typ":"at+jwt"}`, claimsJSON()))
	f.Add(signJSON(f, jose.HS256, k.HMAC, `{"alg":"HS256","kid":"hs1","typ":"at+jwt","x":[{}]}`, claimsJSON("sub", `"\u00e9"`)))
	f.Add("e30.e30.AAAA")
	f.Add(strings.Repeat(".", 100))
	g := newTestGate(f, nil)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := g.Verify(context.Background(), tok)
		if err == nil {
			parts := strings.Split(tok, ".")
			want := b64.EncodeToString(signBytes(t, jose.HS256, k.HMAC, []byte(parts[0]+"."+parts[1])))
			if len(parts) != 3 || parts[2] != want || c == nil {
				t.Fatalf("accepted a token not signed with the test secret: %q", tok)
			}
		}
	})
}
