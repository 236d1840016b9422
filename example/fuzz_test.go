package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// FuzzAuthEndpoints sends arbitrary bodies and Authorization headers to the
// example's endpoints through the whole chain: bad input gets a 4xx, never a
// 5xx or a panic.
func FuzzAuthEndpoints(f *testing.F) {
	cfg, err := parseConfig([]string{"-rate", "1000000/1s", "-login-attempts", "1000000/1s", "-app-addr", ""},
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
	}
	f.Add(uint8(0), `{"username":"alice","password":"alice-password"}`, "")
	f.Add(uint8(0), `{"username":"alice","password":"x","x":1}`, "")
	f.Add(uint8(1), `{"refresh_token":"AAAA"}`, "")
	f.Add(uint8(2), ``, "Bearer a.b.c")
	f.Add(uint8(0), `{"username":"\u0000","password":"\ud800"}`, "Bearer ")
	f.Add(uint8(3), ``, "bearer eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, which uint8, body, authz string) {
		e := endpoints[int(which)%len(endpoints)]
		method, path := e.method, e.path
		req := httptest.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q (Authorization %q): %d %s", method, path, body, authz, rec.Code, rec.Body)
		}
	})
}
