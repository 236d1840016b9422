package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/apiguard/apiguard/internal/dpoptest"
)

func mustP256(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// FuzzAuthEndpoints sends arbitrary bodies, Authorization and DPoP headers to
// the example's endpoints through the whole chain (DPoP on, with nonces):
// bad input gets a 4xx, never a 5xx or a panic.
func FuzzAuthEndpoints(f *testing.F) {
	cfg, err := parseConfig([]string{"-rate", "1000000/1s", "-login-attempts", "1000000/1s", "-app-addr", "", "-dpop-nonce"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	cfg.bcryptCost = bcrypt.MinCost
	a, err := newApp(context.Background(), cfg, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(a.Close)
	h, err := a.apiHandler()
	if err != nil {
		f.Fatal(err)
	}
	endpoints := []struct{ method, path string }{
		{"POST", "/auth/login"}, {"POST", "/auth/refresh"}, {"POST", "/auth/logout"},
		{"GET", "/api/me"}, {"GET", "/api/admin"}, {"GET", "/.well-known/jwks.json"},
		{"GET", "/.well-known/oauth-protected-resource"}, {"GET", "/api/admin/stepup"},
	}
	// A well-formed proof for the login, to mutate from.
	proof := dpoptest.NewProof(mustP256(f), "ES256", "POST", "http://127.0.0.1:8080/auth/login")
	f.Add(uint8(0), `{"username":"alice","password":"alice-password"}`, "", "")
	f.Add(uint8(0), `{"username":"alice","password":"x","x":1}`, "", "")
	f.Add(uint8(1), `{"refresh_token":"AAAA"}`, "", "")
	f.Add(uint8(2), ``, "Bearer a.b.c", "")
	f.Add(uint8(0), `{"username":"\u0000","password":"\ud800"}`, "Bearer ", "")
	f.Add(uint8(3), ``, "bearer eyJhbGciOiJub25lIn0.e30.", "")
	f.Add(uint8(0), `{"username":"alice","password":"alice-password"}`, "", proof)
	f.Add(uint8(1), `{"refresh_token":"AAAA"}`, "", proof)
	f.Add(uint8(3), ``, "DPoP a.b.c", proof)
	f.Add(uint8(3), ``, "DPoP a.b.c", "a.b.c")
	f.Fuzz(func(t *testing.T, which uint8, body, authz, dpopHeader string) {
		e := endpoints[int(which)%len(endpoints)]
		method, path := e.method, e.path
		req := httptest.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		if dpopHeader != "" {
			req.Header["Dpop"] = []string{dpopHeader}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q (Authorization %q, DPoP %q): %d %s", method, path, body, authz, dpopHeader, rec.Code, rec.Body)
		}
	})
}
