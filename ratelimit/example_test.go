package ratelimit_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/apiguard/apiguard/ratelimit"
)

// The identity middleware runs once, early; the limiter reads the identity
// from the context. A client behind the trusted proxy 10.0.0.1 is limited by
// its own address, not the proxy's.
func Example() {
	id, err := ratelimit.NewIdentifier(ratelimit.IdentityConfig{
		TrustedProxies: []string{"10.0.0.0/8"},
		Secret:         bytes.Repeat([]byte("s"), 32), // shared by all instances
	})
	if err != nil {
		panic(err)
	}
	store, _ := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	limit, _ := ratelimit.ParseLimit("2/1m")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, err := ratelimit.New(ratelimit.Config{
		Store: store, Limit: limit, Identifier: id,
		Now: func() time.Time { return now }, // a fixed clock keeps the output stable
	})
	if err != nil {
		panic(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ident, _ := ratelimit.IdentityFromContext(r.Context())
		fmt.Fprintln(w, "hello", ident.IP)
	})
	h := id.Handler(lim.Handler(api))

	for i := 0; i < 3; i++ {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:4000"
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Printf("%d %s %s retry-after=%q\n", rec.Code, rec.Header().Get("RateLimit-Policy"), rec.Header().Get("RateLimit"), rec.Header().Get("Retry-After"))
		fmt.Print(rec.Body.String())
	}
	// Output:
	// 200 "default";q=2;w=60 "default";r=1;t=30 retry-after=""
	// hello 203.0.113.7
	// 200 "default";q=2;w=60 "default";r=0;t=60 retry-after=""
	// hello 203.0.113.7
	// 429 "default";q=2;w=60 "default";r=0;t=60 retry-after="30"
	// {"error":"rate_limited","error_description":"too many requests"}
}

// A login handler asks the guard before checking the password, and tells it
// the outcome.
func ExampleGuard() {
	guard, err := ratelimit.NewGuard(ratelimit.GuardConfig{}) // 5 failures per 15m per client
	if err != nil {
		panic(err)
	}
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.FormValue("user")
		if retry, locked, _ := guard.CheckLogin(r, user); locked {
			ratelimit.WriteLocked(w, retry)
			return
		}
		if r.FormValue("password") != "correct horse" {
			_ = guard.LoginFailed(r, user)
			http.Error(w, "wrong password", http.StatusUnauthorized)
			return
		}
		_ = guard.LoginSucceeded(r, user)
		fmt.Fprintln(w, "welcome")
	})
	for i := 0; i < 6; i++ {
		r := httptest.NewRequest("POST", "/login?user=alice&password=guess", nil)
		rec := httptest.NewRecorder()
		login.ServeHTTP(rec, r)
		fmt.Printf("%d retry-after=%q\n", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Output:
	// 401 retry-after=""
	// 401 retry-after=""
	// 401 retry-after=""
	// 401 retry-after=""
	// 401 retry-after=""
	// 429 retry-after="900"
}

func ExampleParseLimit() {
	for _, s := range []string{"100/1m", "5/15m", "10/s"} {
		l, _ := ratelimit.ParseLimit(s)
		fmt.Println(l.Rate, l.Period)
	}
	// Output:
	// 100 1m0s
	// 5 15m0s
	// 10 1s
}
