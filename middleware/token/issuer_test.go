package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/jose"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func issNum(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a JSON number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v is not an integer", v)
	}
	return i
}

func newTestIssuer(t testing.TB, key crypto.Signer, alg string, clock *issClock) *Issuer {
	t.Helper()
	cfg := IssuerConfig{Issuer: "https://issuer.example", Audience: "api", Key: key, Alg: alg}
	if clock != nil {
		cfg.Now = clock.Now
	}
	iss, err := NewIssuer(cfg)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return iss
}

func TestIssuerAlgorithms(t *testing.T) {
	tests := []struct {
		name, key, alg, wantAlg string
		sigLen                  int
	}{
		{"RS256", "rsa", "", jose.RS256, 256},
		{"PS256", "rsa", jose.PS256, jose.PS256, 256},
		{"RS384", "rsa", jose.RS384, jose.RS384, 256},
		{"ES256", "p256", "", jose.ES256, 64},
		{"ES384", "p384", "", jose.ES384, 96},
		{"ES512", "p521", "", jose.ES512, 132},
		{"EdDSA", "ed", "", jose.EdDSA, 64},
		{"Ed25519", "ed", jose.Ed25519, jose.Ed25519, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newIssClock()
			iss := newTestIssuer(t, issKey(t, tt.key), tt.alg, clock)
			tok, meta, err := iss.Issue("alice", TokenOptions{Roles: []string{"user", "admin"}, Scope: []string{"read", "write"}, SessionID: "fam-1"})
			if err != nil {
				t.Fatal(err)
			}
			p := issParse(t, tok)

			kid := meta.KID
			tp, _ := jose.Thumbprint(issKey(t, tt.key).Public())
			if kid != tp {
				t.Errorf("kid %q, want the thumbprint %q", kid, tp)
			}
			wantHeader := `{"alg":"` + tt.wantAlg + `","kid":"` + kid + `","typ":"at+jwt"}`
			if string(p.headerJSON) != wantHeader {
				t.Errorf("header %s, want %s", p.headerJSON, wantHeader)
			}

			now := clock.Now().Unix()
			c := p.claims
			if c["iss"] != "https://issuer.example" || c["sub"] != "alice" || c["aud"] != "api" || c["sid"] != "fam-1" || c["scope"] != "read write" {
				t.Errorf("claims %s", p.claimsJSON)
			}
			if iat := issNum(t, c["iat"]); iat != now || issNum(t, c["nbf"]) != now {
				t.Errorf("iat/nbf %v/%v, want %d", c["iat"], c["nbf"], now)
			}
			if exp := issNum(t, c["exp"]); exp != now+900 {
				t.Errorf("exp %d, want iat+15m (%d)", exp, now+900)
			}
			if roles, _ := c["roles"].([]any); len(roles) != 2 || roles[0] != "user" || roles[1] != "admin" {
				t.Errorf("roles %v", c["roles"])
			}
			jti, _ := c["jti"].(string)
			if raw, err := base64.RawURLEncoding.Strict().DecodeString(jti); err != nil || len(raw) != 16 || jti != meta.JTI {
				t.Errorf("jti %q (meta %q): want 128 bits base64url", jti, meta.JTI)
			}
			wantKeys := []string{"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "roles", "scope", "sid"}
			if len(c) != len(wantKeys) {
				t.Errorf("claims %s: want exactly %v", p.claimsJSON, wantKeys)
			}
			if !meta.IssuedAt.Equal(clock.Now()) || !meta.Expiry.Equal(clock.Now().Add(15*time.Minute)) {
				t.Errorf("meta %+v", meta)
			}
			if len(p.sig) != tt.sigLen {
				t.Errorf("signature of %d bytes, want %d", len(p.sig), tt.sigLen)
			}

			// The published key verifies the signature, and only over
			// the exact signing input.
			k, err := iss.LookupKey(context.Background(), kid, tt.wantAlg)
			if err != nil {
				t.Fatalf("LookupKey: %v", err)
			}
			if err := k.Verify(p.signingInput, p.sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			bad := append([]byte(nil), p.signingInput...)
			bad[len(bad)-1] ^= 1
			if k.Verify(bad, p.sig) == nil {
				t.Error("a tampered token verifies")
			}
			if _, err := iss.LookupKey(context.Background(), kid, jose.HS256); !errors.Is(err, jose.ErrKeyNotFound) {
				t.Errorf("LookupKey with another alg: %v, want jose.ErrKeyNotFound", err)
			}
			// The key published in the JWKS verifies it too.
			pk := issJWKSKey(t, iss, kid)
			if pk.Alg() != tt.wantAlg || pk.Verify(p.signingInput, p.sig) != nil {
				t.Errorf("the JWKS key (alg %s) does not verify the token", pk.Alg())
			}
		})
	}
}

// jose.PS256 must really be RSA-PSS: a PKCS#1 v1.5 verifier refuses it.
func TestIssuerPS256IsPSS(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "rsa"), jose.PS256, nil)
	tok, _, err := iss.Issue("alice", TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := issParse(t, tok)
	rs, err := jose.NewKey("x", jose.RS256, issKey(t, "rsa").Public())
	if err != nil {
		t.Fatal(err)
	}
	if rs.Verify(p.signingInput, p.sig) == nil {
		t.Error("a jose.PS256 token verifies as jose.RS256")
	}
}

// opaqueSigner hides the concrete key type, as a KMS handle would.
type opaqueSigner struct{ s crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.s.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, d, opts)
}

func TestIssuerGenericSigner(t *testing.T) {
	for _, tt := range []struct{ key, alg string }{{"rsa", jose.RS256}, {"rsa", jose.PS256}, {"p256", jose.ES256}, {"p521", jose.ES512}, {"ed", jose.EdDSA}} {
		t.Run(tt.alg, func(t *testing.T) {
			iss := newTestIssuer(t, opaqueSigner{issKey(t, tt.key)}, tt.alg, nil)
			for range 20 { // ES: r or s with leading zero bytes must still be fixed width
				tok, meta, err := iss.Issue("bob", TokenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				p := issParse(t, tok)
				k, _ := iss.LookupKey(context.Background(), meta.KID, tt.alg)
				if err := k.Verify(p.signingInput, p.sig); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			}
		})
	}
}

func TestIssuerJTI(t *testing.T) {
	t.Run("unique", func(t *testing.T) {
		iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
		seen := make(map[string]bool)
		for range 2000 {
			_, meta, err := iss.Issue("alice", TokenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if seen[meta.JTI] {
				t.Fatalf("jti %q issued twice", meta.JTI)
			}
			seen[meta.JTI] = true
		}
	})
	t.Run("from Rand", func(t *testing.T) {
		seq := bytes.Repeat([]byte{0xfb}, 16)
		iss, err := NewIssuer(IssuerConfig{Issuer: "i", Audience: "a", Key: issKey(t, "ed"), Rand: bytes.NewReader(seq)})
		if err != nil {
			t.Fatal(err)
		}
		_, meta, err := iss.Issue("alice", TokenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := base64.RawURLEncoding.EncodeToString(seq); meta.JTI != want {
			t.Errorf("jti %q, want %q", meta.JTI, want)
		}
		if _, _, err := iss.Issue("alice", TokenOptions{}); err == nil {
			t.Error("Issue succeeded with an exhausted Rand")
		}
	})
}

func TestIssuerTTL(t *testing.T) {
	clock := newIssClock()
	clock.Advance(400 * time.Millisecond) // not on a second boundary
	iss := newTestIssuer(t, issKey(t, "ed"), "", clock)
	for _, tt := range []struct {
		name string
		ttl  time.Duration
		want int64
	}{
		{"default 15m", 0, 900},
		{"explicit", time.Hour, 3600},
		{"short", time.Second, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, meta, err := iss.Issue("alice", TokenOptions{TTL: tt.ttl})
			if err != nil {
				t.Fatal(err)
			}
			c := issParse(t, tok).claims
			if d := issNum(t, c["exp"]) - issNum(t, c["iat"]); d != tt.want {
				t.Errorf("exp-iat %d, want %d", d, tt.want)
			}
			if meta.Expiry.Unix() != issNum(t, c["exp"]) || meta.IssuedAt.Unix() != issNum(t, c["iat"]) {
				t.Errorf("meta %+v disagrees with the claims", meta)
			}
		})
	}
}

func TestNewIssuerErrors(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ok := IssuerConfig{Issuer: "i", Audience: "a", Key: issKey(t, "p256")}
	tests := []struct {
		name string
		mod  func(*IssuerConfig)
		want string
	}{
		{"empty Issuer", func(c *IssuerConfig) { c.Issuer = "" }, "Issuer"},
		{"non-UTF-8 Issuer", func(c *IssuerConfig) { c.Issuer = "\xff" }, "Issuer"},
		{"empty Audience", func(c *IssuerConfig) { c.Audience = "" }, "Audience"},
		{"nil jose.Key", func(c *IssuerConfig) { c.Key = nil }, "Key"},
		{"weak RSA 1024", func(c *IssuerConfig) { c.Key = weak }, "too weak"},
		{"weak RSA 1024 jose.PS256", func(c *IssuerConfig) { c.Key, c.Alg = weak, jose.PS256 }, "too weak"},
		{"ES256 on RSA", func(c *IssuerConfig) { c.Key, c.Alg = issKey(t, "rsa"), jose.ES256 }, "Alg"},
		{"RS256 on Ed25519", func(c *IssuerConfig) { c.Key, c.Alg = issKey(t, "ed"), jose.RS256 }, "Alg"},
		{"ES384 on P-256", func(c *IssuerConfig) { c.Alg = jose.ES384 }, "curve"},
		{"EdDSA on EC", func(c *IssuerConfig) { c.Alg = jose.EdDSA }, "Alg"},
		{"HS256", func(c *IssuerConfig) { c.Alg = jose.HS256 }, "Alg"},
		{"none", func(c *IssuerConfig) { c.Alg = "none" }, "Alg"},
		{"negative TTL", func(c *IssuerConfig) { c.TTL = -time.Second }, "TTL"},
		{"sub-second TTL", func(c *IssuerConfig) { c.TTL = 500 * time.Millisecond }, "TTL"},
		{"negative JWKSMaxAge", func(c *IssuerConfig) { c.JWKSMaxAge = -1 }, "JWKSMaxAge"},
		{"non-UTF-8 KID", func(c *IssuerConfig) { c.KID = "\xfe" }, "KID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			iss, err := NewIssuer(cfg)
			if err == nil {
				t.Fatalf("NewIssuer succeeded (%v)", iss)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
		})
	}
	if _, err := NewIssuer(ok); err != nil {
		t.Fatalf("the valid base config fails: %v", err)
	}
}

func TestIssuerIssueErrors(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
	tests := []struct {
		name string
		sub  string
		opts TokenOptions
	}{
		{"empty sub", "", TokenOptions{}},
		{"non-UTF-8 sub", "a\xffb", TokenOptions{}},
		{"empty role", "a", TokenOptions{Roles: []string{"user", ""}}},
		{"non-UTF-8 role", "a", TokenOptions{Roles: []string{"\xc3"}}},
		{"scope with space", "a", TokenOptions{Scope: []string{"read write"}}},
		{"scope with quote", "a", TokenOptions{Scope: []string{`re"ad`}}},
		{"scope with backslash", "a", TokenOptions{Scope: []string{`re\ad`}}},
		{"empty scope", "a", TokenOptions{Scope: []string{""}}},
		{"non-ASCII scope", "a", TokenOptions{Scope: []string{"lé"}}},
		{"non-UTF-8 sid", "a", TokenOptions{SessionID: "\xff"}},
		{"negative TTL", "a", TokenOptions{TTL: -time.Minute}},
		{"sub-second TTL", "a", TokenOptions{TTL: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, _, err := iss.Issue(tt.sub, tt.opts); err == nil || tok != "" {
				t.Errorf("Issue = %q, %v; want an error", tok, err)
			}
		})
	}
}

func TestIssuerClaimsEscaping(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
	for _, sub := range []string{`a"b`, `back\slash`, "new\nline\r\t", "ctl\x00\x01\x1f\x7f", "ls\u2028ps\u2029", "émoji 🎉", `</script>`} {
		t.Run(sub, func(t *testing.T) {
			tok, _, err := iss.Issue(sub, TokenOptions{Roles: []string{sub}, SessionID: sub})
			if err != nil {
				t.Fatal(err)
			}
			c := issParse(t, tok).claims
			if c["sub"] != sub || c["sid"] != sub || c["roles"].([]any)[0] != sub {
				t.Errorf("round trip: sub %q sid %q roles %v", c["sub"], c["sid"], c["roles"])
			}
		})
	}
	t.Run("no roles is []", func(t *testing.T) {
		tok, _, _ := iss.Issue("a", TokenOptions{})
		p := issParse(t, tok)
		if !bytes.Contains(p.claimsJSON, []byte(`"roles":[]`)) || bytes.Contains(p.claimsJSON, []byte("scope")) || bytes.Contains(p.claimsJSON, []byte("sid")) {
			t.Errorf("claims %s", p.claimsJSON)
		}
	})
}

func TestIssuerRotation(t *testing.T) {
	ctx := context.Background()
	clock := newIssClock()
	t0 := clock.Now()
	iss := newTestIssuer(t, issKey(t, "p256"), "", clock)
	oldTok, oldMeta, err := iss.Issue("alice", TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oldP := issParse(t, oldTok)

	clock.Advance(5 * time.Minute) // the old key's last token expires at t0+15m
	_, lastMeta, err := iss.Issue("alice", TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := iss.Rotate(issKey(t, "ed"), "", "next-key"); err != nil {
		t.Fatal(err)
	}
	newTok, newMeta, err := iss.Issue("bob", TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if newMeta.KID != "next-key" || issParse(t, newTok).header["alg"] != jose.EdDSA {
		t.Fatalf("after Rotate: kid %q header %v", newMeta.KID, issParse(t, newTok).header)
	}

	published := func() map[string]bool {
		m := map[string]bool{}
		for _, k := range iss.PublicKeys() {
			m[k.ID()] = true
		}
		for _, k := range issJWKSKeys(t, iss) {
			if !m[k.ID()] {
				t.Errorf("JWKS has %q, PublicKeys does not", k.ID())
			}
			m[k.ID()+"/jwks"] = true
		}
		return m
	}
	check := func(at time.Duration, wantOld bool) {
		t.Helper()
		clock.Set(t0.Add(at))
		k, err := iss.LookupKey(ctx, oldMeta.KID, jose.ES256)
		m := published()
		if wantOld {
			if err != nil || k.Verify(oldP.signingInput, oldP.sig) != nil {
				t.Errorf("at t0+%v the old key must still verify its tokens (err %v)", at, err)
			}
			if !m[oldMeta.KID] || !m[oldMeta.KID+"/jwks"] {
				t.Errorf("at t0+%v the old key must still be published", at)
			}
		} else {
			if !errors.Is(err, jose.ErrKeyNotFound) {
				t.Errorf("at t0+%v LookupKey(old) = %v, want jose.ErrKeyNotFound", at, err)
			}
			if m[oldMeta.KID] || m[oldMeta.KID+"/jwks"] {
				t.Errorf("at t0+%v the old key is still published", at)
			}
		}
		if _, err := iss.LookupKey(ctx, "next-key", jose.EdDSA); err != nil || !m["next-key/jwks"] {
			t.Errorf("at t0+%v the new key is not published (err %v)", at, err)
		}
	}
	check(5*time.Minute, true)
	check(19*time.Minute+59*time.Second, true) // last old token: exp = t0+20m
	if lastMeta.Expiry != t0.Add(20*time.Minute) {
		t.Fatalf("last old token expires %v", lastMeta.Expiry)
	}
	check(20*time.Minute, false)
	check(time.Hour, false)

	t.Run("longest TTL used", func(t *testing.T) {
		clock := newIssClock()
		iss := newTestIssuer(t, issKey(t, "ed"), "", clock)
		if _, _, err := iss.Issue("a", TokenOptions{TTL: 2 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		old := iss.PublicKeys()[0].ID()
		if err := iss.Rotate(issKey(t, "ed2"), "", ""); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2*time.Hour - time.Second)
		if _, err := iss.LookupKey(context.Background(), old, jose.EdDSA); err != nil {
			t.Errorf("a 2h token's key dropped before 2h: %v", err)
		}
		clock.Advance(time.Second)
		if _, err := iss.LookupKey(context.Background(), old, jose.EdDSA); !errors.Is(err, jose.ErrKeyNotFound) {
			t.Errorf("old key still accepted after its last token expired: %v", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		weak, _ := rsa.GenerateKey(rand.Reader, 1024)
		if err := iss.Rotate(weak, "", ""); err == nil {
			t.Error("Rotate accepted a 1024-bit RSA key")
		}
		if err := iss.Rotate(issKey(t, "ed"), "", "next-key"); err == nil || !strings.Contains(err.Error(), "already published") {
			t.Errorf("Rotate to a published kid: %v", err)
		}
		if err := iss.Rotate(nil, "", ""); err == nil {
			t.Error("Rotate accepted a nil key")
		}
	})
}

// Without kid, a key is chosen only when one key of the alg is published.
func TestIssuerLookupWithoutKID(t *testing.T) {
	clock := newIssClock()
	iss := newTestIssuer(t, issKey(t, "ed"), "", clock)
	if _, err := iss.LookupKey(context.Background(), "", jose.EdDSA); err != nil {
		t.Fatalf("one key: %v", err)
	}
	if err := iss.Rotate(issKey(t, "ed2"), "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.LookupKey(context.Background(), "", jose.EdDSA); !errors.Is(err, jose.ErrKeyNotFound) {
		t.Fatalf("two jose.EdDSA keys, no kid: %v, want jose.ErrKeyNotFound", err)
	}
}

// Concurrent Issue, Rotate and LookupKey: every token verifies with the key
// LookupKey returns right after it was issued (run with -race).
func TestIssuerConcurrent(t *testing.T) {
	clock := newIssClock()
	iss := newTestIssuer(t, issKey(t, "ed"), "", clock)
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				tok, meta, err := iss.Issue("alice", TokenOptions{})
				if err != nil {
					errc <- err
					return
				}
				p := issParse(t, tok)
				k, err := iss.LookupKey(context.Background(), meta.KID, p.header["alg"].(string))
				if err != nil {
					errc <- err
					return
				}
				if err := k.Verify(p.signingInput, p.sig); err != nil {
					errc <- err
					return
				}
				_ = iss.PublicKeys()
			}
		})
	}
	wg.Go(func() {
		for n := range 10 {
			key := issKey(t, []string{"p256", "p256b", "ed", "ed2"}[n%4])
			_ = iss.Rotate(key, "", "kid-"+string(rune('a'+n)))
			clock.Advance(time.Minute)
		}
	})
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// issJWKSKeys fetches the Issuer's JWKS through its handler and parses it.
func issJWKSKeys(t testing.TB, iss *Issuer) []*jose.Key {
	t.Helper()
	body := issGetJWKS(t, iss.JWKSHandler()).Body.Bytes()
	keys, err := jose.ParseJWKS(body)
	if err != nil {
		t.Fatalf("ParseJWKS(%s): %v", body, err)
	}
	return keys
}

func issJWKSKey(t testing.TB, iss *Issuer, kid string) *jose.Key {
	t.Helper()
	for _, k := range issJWKSKeys(t, iss) {
		if k.ID() == kid {
			return k
		}
	}
	t.Fatalf("kid %q not in the JWKS", kid)
	return nil
}

func BenchmarkIssue(b *testing.B) {
	for _, bb := range []struct{ name, key, jkt string }{
		{"RS256", "rsa", ""}, {"ES256", "p256", ""}, {"EdDSA", "ed", ""},
		{"EdDSA+jkt", "ed", rfc7638JKT}, // the cost of a DPoP binding
	} {
		b.Run(bb.name, func(b *testing.B) {
			iss := newTestIssuer(b, issKey(b, bb.key), "", nil)
			opts := TokenOptions{Roles: []string{"user", "admin"}, SessionID: "family-0123456789", JKT: bb.jkt}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := iss.Issue("alice@example.com", opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The gate accepts the Issuer's tokens, with the Issuer as its jose.KeySource.
func TestIssuerThroughGate(t *testing.T) {
	for _, tt := range []struct{ name, key, alg string }{{"RS256", "rsa", jose.RS256}, {"PS256", "rsa", jose.PS256}, {"ES256", "p256", jose.ES256}, {"EdDSA", "ed", jose.EdDSA}} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newIssClock()
			iss := newTestIssuer(t, issKey(t, tt.key), tt.alg, clock)
			g, err := middleware.New(middleware.Config{Keys: iss, Algorithms: []string{tt.alg}, Issuer: "https://issuer.example", Audience: "api", Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tok, meta, err := iss.Issue("alice", TokenOptions{Roles: []string{"user"}, Scope: []string{"read"}, SessionID: "fam"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := g.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("gate: %v", err)
			}
			if c.Subject != "alice" || c.JTI != meta.JTI || c.KID != meta.KID || !c.HasRole("user") || !c.HasScope("read") || !c.Expiry.Equal(meta.Expiry) {
				t.Errorf("claims %+v", c)
			}
			if sid, ok := c.Get("sid"); !ok || string(sid) != `"fam"` {
				t.Errorf("sid %s %v", sid, ok)
			}
			clock.Advance(15*time.Minute + time.Hour)
			if _, err := g.Verify(context.Background(), tok); err == nil {
				t.Error("gate accepts an expired token")
			}
		})
	}
}

// Across a rotation, the gate accepts tokens of both keys until the old
// key's last token expires, then refuses that key.
func TestIssuerRotationThroughGate(t *testing.T) {
	clock := newIssClock()
	iss := newTestIssuer(t, issKey(t, "p256"), "", clock)
	g, err := middleware.New(middleware.Config{Keys: iss, Algorithms: []string{jose.ES256, jose.EdDSA}, Issuer: "https://issuer.example", Audience: "api",
		Now: clock.Now, CacheSize: -1, Leeway: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	oldTok, _, _ := iss.Issue("alice", TokenOptions{TTL: time.Hour})
	if err := iss.Rotate(issKey(t, "ed"), "", ""); err != nil {
		t.Fatal(err)
	}
	newTok, _, _ := iss.Issue("bob", TokenOptions{})
	for _, tok := range []string{oldTok, newTok} {
		if _, err := g.Verify(context.Background(), tok); err != nil {
			t.Fatalf("right after Rotate: %v", err)
		}
	}
	clock.Advance(time.Hour - time.Second)
	if _, err := g.Verify(context.Background(), oldTok); err != nil {
		t.Fatalf("old token before its expiry: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := iss.LookupKey(context.Background(), issParse(t, oldTok).header["kid"].(string), jose.ES256); !errors.Is(err, jose.ErrKeyNotFound) {
		t.Errorf("old key still published after its last token expired: %v", err)
	}
}

func TestEcdsaRaw(t *testing.T) {
	der := func(r, s []byte) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1BigInt(new(big.Int).SetBytes(r))
			b.AddASN1BigInt(new(big.Int).SetBytes(s))
		})
		return b.BytesOrPanic()
	}
	short := []byte{0x01, 0x02}                    // padded to 32 bytes
	high := bytes.Repeat([]byte{0xff}, 32)         // needs a leading zero in DER
	long := append([]byte{1}, make([]byte, 32)...) // 33 bytes: too wide for P-256
	tests := []struct {
		name string
		der  []byte
		want []byte
	}{
		{"short r padded", der(short, high), append(append(make([]byte, 30), short...), high...)},
		{"full width", der(high, short), append(append(append([]byte(nil), high...), make([]byte, 30)...), short...)},
		{"r too wide", der(long, short), nil},
		{"zero s", der(short, nil), nil},
		{"trailing data", append(der(short, short), 0), nil},
		{"not DER", []byte{0x30, 0x03, 0x02}, nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ecdsaRaw(tt.der, 32)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("no error, got %x", got)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x, %v; want %x", got, err, tt.want)
			}
		})
	}
}
