package token

import (
	"context"
	"encoding/json"
	"github.com/apiguard/apiguard/middleware/jose"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestIssuerJWKSPublishesPublicKeysOnly(t *testing.T) {
	clock := newIssClock()
	iss := newTestIssuer(t, issKey(t, "rsa"), "", clock)
	var toks []issParsed
	issue := func() {
		tok, _, err := iss.Issue("alice", TokenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, issParse(t, tok))
	}
	issue()
	for _, k := range []struct{ key, alg string }{{"rsa2", jose.PS256}, {"p256", ""}, {"p384", ""}, {"p521", ""}, {"ed", ""}} {
		if err := iss.Rotate(issKey(t, k.key), k.alg, ""); err != nil {
			t.Fatal(err)
		}
		issue()
	}

	rec := issGetJWKS(t, iss.JWKSHandler())
	if ct := rec.Header().Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 6 {
		t.Fatalf("%d keys published, want 6", len(set.Keys))
	}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %v has the private member %q", k["kid"], private)
			}
		}
		kid, _ := k["kid"].(string)
		if kid == "" || kids[kid] {
			t.Errorf("kid %q missing or not unique", kid)
		}
		kids[kid] = true
		if a, _ := k["alg"].(string); a == "" {
			t.Errorf("key %q has no alg", kid)
		}
		if k["use"] != "sig" {
			t.Errorf("key %q: use %v, want sig", kid, k["use"])
		}
	}
	// The published keys parse back and verify every token issued.
	keys, err := jose.ParseJWKS(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*jose.Key{}
	for _, k := range keys {
		byID[k.ID()] = k
	}
	for _, p := range toks {
		k := byID[p.header["kid"].(string)]
		if k == nil || k.Alg() != p.header["alg"] || k.Verify(p.signingInput, p.sig) != nil {
			t.Errorf("token with header %s does not verify with the published keys", p.headerJSON)
		}
	}
}

func TestIssuerJWKSMaxAge(t *testing.T) {
	tests := []struct {
		name       string
		ttl, maxAg time.Duration
		want       string
	}{
		{"default", 0, 0, "public, max-age=300"},
		{"configured", 0, time.Minute, "public, max-age=60"},
		{"capped by a short TTL", 2 * time.Minute, 0, "public, max-age=120"},
		{"capped by TTL", time.Hour, 2 * time.Hour, "public, max-age=3600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := NewIssuer(IssuerConfig{Issuer: "i", Audience: "a", Key: issKey(t, "ed"), TTL: tt.ttl, JWKSMaxAge: tt.maxAg})
			if err != nil {
				t.Fatal(err)
			}
			if cc := issGetJWKS(t, iss.JWKSHandler()).Header().Get("Cache-Control"); cc != tt.want {
				t.Errorf("Cache-Control %q, want %q", cc, tt.want)
			}
		})
	}
}

// Tokens issued by an Issuer verify with the keys its JWKS handler serves,
// through a jose.RemoteJWKS.
func TestIssuerJWKSThroughRemoteJWKS(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "p256"), "", nil)
	srv := httptest.NewServer(iss.JWKSHandler())
	t.Cleanup(srv.Close)
	r, err := jose.NewRemoteJWKS(context.Background(), jose.RemoteJWKSConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	tok, meta, err := iss.Issue("alice", TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := issParse(t, tok)
	k, err := r.LookupKey(context.Background(), meta.KID, jose.ES256)
	if err != nil || k.Verify(p.signingInput, p.sig) != nil {
		t.Fatalf("remote key does not verify the issuer's token: %v", err)
	}
}

// The example server's setup: its own issuer first, then a remote JWKS,
// and a known issuer kid never costs a remote fetch.
func TestMultiKeySourceIssuerAndRemote(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
	remoteKey, err := jose.NewKey("remote", jose.ES256, issKey(t, "p256").Public())
	if err != nil {
		t.Fatal(err)
	}
	h, err := jose.NewJWKSHandler(keyList{remoteKey}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	r, err := jose.NewRemoteJWKS(context.Background(), jose.RemoteJWKSConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ks := jose.MultiKeySource(iss, r)
	_, meta, err := iss.Issue("alice", TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ kid, alg string }{{meta.KID, jose.EdDSA}, {"remote", jose.ES256}} {
		if _, err := ks.LookupKey(context.Background(), q.kid, q.alg); err != nil {
			t.Errorf("%s: %v", q.kid, err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d remote fetches, want 1", n)
	}
}

// keyList is a fixed jose.PublicKeySet.
type keyList []*jose.Key

func (l keyList) PublicKeys() []*jose.Key { return l }
