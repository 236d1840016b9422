package middleware

import (
	"context"
	"github.com/apiguard/apiguard/middleware/jose"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestCacheBounded(t *testing.T) {
	c := newCache(128, time.Minute)
	claims := &Claims{}
	for i := 0; i < 10_000; i++ {
		c.put("token-"+strconv.Itoa(i), claims, t0, t0.Add(time.Hour))
	}
	if n := c.len(); n > 128+cacheShards {
		t.Fatalf("cache holds %d entries, cap 128", n)
	}
	if _, ok := c.get("token-9999", t0); !ok {
		t.Fatal("the newest entry is missing")
	}
	if _, ok := c.get("token-9999", t0.Add(time.Minute)); ok {
		t.Fatal("an entry outlived the TTL")
	}
	c.put("expired", claims, t0, t0)
	if _, ok := c.get("expired", t0); ok {
		t.Fatal("an already expired entry was stored")
	}
}

// TestCacheHitAllocs pins the cost of a hit through the Handler: the copy of
// the request and the context value, nothing else.
func TestCacheHitAllocs(t *testing.T) {
	k := fixtureKeys(t)
	a := newTestAuth(t, nil, func(c *Config) {
		c.CacheSize = 0
		c.Revocation = NewMemoryRevocationList(nil)
	})
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	ok := false
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, ok = ClaimsFromContext(r.Context()) }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if !ok {
		t.Fatal("not authenticated")
	}
	allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	if allocs > 2 {
		t.Fatalf("a cache hit allocates %v times, want <= 2", allocs)
	}
}

// TestGateConcurrent runs hits, misses and revocations at once (for -race).
func TestGateConcurrent(t *testing.T) {
	k := fixtureKeys(t)
	rev := NewMemoryRevocationList(nil)
	g := newTestGate(t, func(c *Config) {
		c.CacheSize = 64
		c.Revocation = rev
	})
	toks := make([]string, 8)
	for i := range toks {
		toks[i] = signJSON(t, jose.HS256, k.HMAC, `{"alg":"HS256","kid":"hs1","typ":"at+jwt"}`, claimsJSON("jti", `"j`+strconv.Itoa(i)+`"`))
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				tok := toks[i%len(toks)]
				// j0 is revoked meanwhile: before that lands it passes.
				if _, err := g.Verify(context.Background(), tok); err != nil && reasonOf(err) != ReasonRevoked {
					t.Errorf("unexpected refusal %v", err)
					return
				}
			}
		}()
	}
	_ = rev.RevokeToken(context.Background(), testIss, "j0", t0.Add(time.Hour))
	wg.Wait()
	if _, err := g.Verify(context.Background(), toks[0]); reasonOf(err) != ReasonRevoked {
		t.Fatalf("revoked token still accepted: %v", err)
	}
}

// TestAuthenticatorRevokedOnHit checks the Handler's own cache-hit path
// consults the revocation list.
func TestAuthenticatorRevokedOnHit(t *testing.T) {
	k := fixtureKeys(t)
	rev := NewMemoryRevocationList(nil)
	keys := &countingKeys{inner: testKeySource(t)}
	a := newTestAuth(t, nil, func(c *Config) {
		c.CacheSize = 0
		c.Revocation = rev
		c.Keys = keys
	})
	tok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	req := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return serve(a, r).rec
	}
	if rec := req(); rec.Code != 204 {
		t.Fatalf("first request: %d", rec.Code)
	}
	if rec := req(); rec.Code != 204 || keys.calls.Load() != 1 {
		t.Fatalf("second request: %d, %d lookups (want a cache hit)", rec.Code, keys.calls.Load())
	}
	_ = rev.RevokeToken(context.Background(), testIss, "jti-0001", t0.Add(time.Hour))
	rec := req()
	if rec.Code != 401 || keys.calls.Load() != 1 {
		t.Fatalf("after revocation: %d, %d lookups", rec.Code, keys.calls.Load())
	}
	if _, err := a.Authenticate(httptest.NewRequest("GET", "/", nil)); reasonOf(err) != ReasonNoToken {
		t.Fatal(err)
	}
}
