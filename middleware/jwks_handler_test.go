package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func issGetJWKS(t testing.TB, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET jwks: %d %s", rec.Code, rec.Body)
	}
	return rec
}

func TestJWKSHandlerPublishesPublicKeysOnly(t *testing.T) {
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
	for _, k := range []struct{ key, alg string }{{"rsa2", PS256}, {"p256", ""}, {"p384", ""}, {"p521", ""}, {"ed", ""}} {
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
	keys, err := ParseJWKS(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Key{}
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

func TestJWKSHandlerHTTP(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
	h := iss.JWKSHandler()
	get := issGetJWKS(t, h)

	t.Run("HEAD", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
		if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") == "" || rec.Header().Get("Content-Length") != get.Header().Get("Content-Length") {
			t.Errorf("HEAD: %d, body %q, headers %v", rec.Code, rec.Body, rec.Header())
		}
	})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, "PATCH"} {
		t.Run(m, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(m, "/", strings.NewReader("{}")))
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %d Allow %q", m, rec.Code, rec.Header().Get("Allow"))
			}
			if strings.Contains(rec.Body.String(), "keys") {
				t.Errorf("%s: body %q", m, rec.Body)
			}
		})
	}
	t.Run("If-None-Match", func(t *testing.T) {
		etag := get.Header().Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("If-None-Match", etag)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match: %d %q", rec.Code, rec.Body)
		}
		if err := iss.Rotate(issKey(t, "ed2"), "", ""); err != nil {
			t.Fatal(err)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
			t.Errorf("after Rotate: %d, ETag %q unchanged", rec.Code, rec.Header().Get("ETag"))
		}
	})
}

// The body is built once per key set and rebuilt after a rotation.
func TestJWKSHandlerCache(t *testing.T) {
	iss := newTestIssuer(t, issKey(t, "ed"), "", nil)
	h := iss.jwks
	issGetJWKS(t, h)
	b1 := h.body.Load()
	issGetJWKS(t, h)
	if h.body.Load() != b1 {
		t.Error("body rebuilt although the keys did not change")
	}
	if err := iss.Rotate(issKey(t, "ed2"), "", ""); err != nil {
		t.Fatal(err)
	}
	rec := issGetJWKS(t, h)
	if h.body.Load() == b1 || !strings.Contains(rec.Body.String(), iss.PublicKeys()[0].ID()) {
		t.Error("body not rebuilt after Rotate")
	}
}

func TestJWKSHandlerMaxAge(t *testing.T) {
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

type issKeyList []*Key

func (l issKeyList) PublicKeys() []*Key { return l }

// NewJWKSHandler over any key list never publishes an HMAC secret.
func TestNewJWKSHandler(t *testing.T) {
	hk, err := NewKey("hmac", HS256, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ek, err := NewKey("", ES256, issKey(t, "p256").Public())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewJWKSHandler(issKeyList{hk, ek}, 42*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rec := issGetJWKS(t, h)
	body := rec.Body.String()
	if strings.Contains(body, `"k"`) || strings.Contains(body, "hmac") || strings.Contains(body, `"oct"`) {
		t.Errorf("HMAC key published: %s", body)
	}
	if keys, err := ParseJWKS(rec.Body.Bytes()); err != nil || len(keys) != 1 || keys[0].ID() != ek.ID() {
		t.Errorf("ParseJWKS: %v %v", keys, err)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=42" {
		t.Errorf("Cache-Control %q", cc)
	}
	for _, tt := range []struct {
		name   string
		src    PublicKeySet
		maxAge time.Duration
	}{{"nil src", nil, 0}, {"negative maxAge", issKeyList{ek}, -time.Second}} {
		if _, err := NewJWKSHandler(tt.src, tt.maxAge); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
