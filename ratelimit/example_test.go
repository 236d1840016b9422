package ratelimit_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/ratelimit"
)

// The identity middleware runs once, early; the limiter reads the identity
// from the context. A client behind the trusted proxy 10.0.0.1 is limited by
// its own address, not the proxy's. RateLimit-Policy announces the client's
// budget and its address's ceiling (by default ten times as much, whatever
// User-Agents it sends).
func Example() {
	id := ratelimit.MustNewIdentifier(ratelimit.IdentityConfig{
		TrustedProxies: []string{"10.0.0.0/8"},
		Secret:         bytes.Repeat([]byte("s"), 32), // shared by all instances
	})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim := ratelimit.MustNew(ratelimit.Config{
		Limit:      ratelimit.PerMinute(2), // the Store defaults to a MemoryStore
		Identifier: id,
		Now:        func() time.Time { return now }, // a fixed clock keeps the output stable
	})
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
	// 200 "default";q=2;w=60, "default-ip";q=20;w=60 "default";r=1;t=30 retry-after=""
	// hello 203.0.113.7
	// 200 "default";q=2;w=60, "default-ip";q=20;w=60 "default";r=0;t=60 retry-after=""
	// hello 203.0.113.7
	// 429 "default";q=2;w=60, "default-ip";q=20;w=60 "default";r=0;t=60 retry-after="30"
	// {"error":"rate_limited","error_description":"too many requests"}
}

// A login handler asks the guard before checking the password, and tells it
// the outcome.
func ExampleGuard() {
	guard := ratelimit.MustNewGuard(ratelimit.GuardConfig{}) // 5 failures per 15m per client
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

// Limits are literals, built by PerSecond, PerMinute and PerHour, or parsed
// from text; a bad one is refused with the field and the value.
func ExampleLimit() {
	for _, l := range []ratelimit.Limit{
		{Rate: 100, Period: time.Minute, Burst: 20},
		ratelimit.PerSecond(10),
		ratelimit.PerHour(1000),
		ratelimit.MustParseLimit("5/15m"),
	} {
		fmt.Println(l, l.Interval())
	}
	_, err := ratelimit.New(ratelimit.Config{Limit: ratelimit.Limit{Rate: 100}})
	fmt.Println(err)
	// Output:
	// 100/1m0s burst 20 600ms
	// 10/1s 100ms
	// 1000/1h0m0s 3.6s
	// 5/15m0s 3m0s
	// ratelimit: Config.Limit.Period 0s must be positive
}

// A limiter placed after authentication keys each user by the token's
// subject, so that a user has one budget from every address; anonymous
// requests fall back to the client identity. The key is a keyed hash of the
// subject, never the subject itself.
func ExampleConfig_keyFunc() {
	id := ratelimit.MustNewIdentifier(ratelimit.IdentityConfig{Secret: bytes.Repeat([]byte("s"), 32)})
	lim := ratelimit.MustNew(ratelimit.Config{
		Limit:      ratelimit.PerHour(1),
		Identifier: id,
		KeyFunc: func(r *http.Request) ([32]byte, bool) {
			c, ok := middleware.ClaimsFromContext(r.Context())
			if !ok {
				return [32]byte{}, false
			}
			return id.Derive("sub", c.Subject), true
		},
	})
	api := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	// Stands in for middleware.Authenticator's Handler, which puts the
	// verified claims in the context.
	authenticated := func(sub string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(middleware.WithClaims(r.Context(), &middleware.Claims{Subject: sub})))
		})
	}
	for _, c := range []struct{ sub, addr string }{
		{"alice", "192.0.2.1:1"},
		{"alice", "198.51.100.7:1"}, // alice from elsewhere: same budget
		{"bob", "198.51.100.7:1"},
	} {
		r := httptest.NewRequest("GET", "/api/me", nil)
		r.RemoteAddr = c.addr
		rec := httptest.NewRecorder()
		authenticated(c.sub, api).ServeHTTP(rec, r)
		fmt.Println(c.sub, c.addr, rec.Code)
	}
	// Output:
	// alice 192.0.2.1:1 200
	// alice 198.51.100.7:1 429
	// bob 198.51.100.7:1 200
}

// Two policies on one limiter: a burst of 2 a second and 3 a day. Every
// response names the tightest; a client that prefers problem details gets
// the draft's quota-exceeded type naming the violated policy. The request
// the burst refused spent nothing of the day: a second later the third of
// the day passes.
func ExampleConfig_policies() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	lim := ratelimit.MustNew(ratelimit.Config{
		Policies: []ratelimit.Policy{
			{Name: "burst", Limit: ratelimit.PerSecond(2)},
			{Name: "daily", Limit: ratelimit.PerDay(3)},
		},
		IPMultiple: -1, // no IP ceiling, to keep the output short
		Now:        func() time.Time { return now },
	})
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, at := range []time.Duration{0, 0, 0, time.Second, time.Second} {
		now = t0.Add(at)
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", "application/problem+json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("RateLimit"))
		if rec.Code != http.StatusOK {
			fmt.Print(rec.Body.String())
		}
	}
	// Output:
	// 200 "burst";r=1;t=1
	// 200 "burst";r=0;t=1
	// 429 "burst";r=0;t=1
	// {"type":"https://iana.org/assignments/http-problem-types#quota-exceeded","title":"Too many requests","status":429,"violated-policies":["burst"]}
	// 200 "daily";r=0;t=86399
	// 429 "daily";r=0;t=86399
	// {"type":"https://iana.org/assignments/http-problem-types#quota-exceeded","title":"Too many requests","status":429,"violated-policies":["daily"]}
}

// A search costs 10 of a budget of 25 a minute; other requests cost 1. A
// search that no longer fits is refused and consumes nothing, so cheaper
// requests still pass.
func ExampleConfig_cost() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim := ratelimit.MustNew(ratelimit.Config{
		Limit:      ratelimit.PerMinute(25),
		IPMultiple: -1,
		Cost: func(r *http.Request) int {
			if r.URL.Path == "/search" {
				return 10
			}
			return 1
		},
		Now: func() time.Time { return now },
	})
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, path := range []string{"/search", "/search", "/search", "/item", "/item"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("RateLimit"))
	}
	// Output:
	// /search 200 "default";r=15;t=24
	// /search 200 "default";r=5;t=48
	// /search 429 "default";r=5;t=48
	// /item 200 "default";r=4;t=51
	// /item 200 "default";r=3;t=53
}

// In shadow mode the limiter only records what it would have refused (an
// audit event with reason ratelimit_shadow, counted by the Logger's
// Counter), and sends no rate-limit field: a limit rolled out this way
// changes nothing for clients until Shadow is turned off.
func ExampleConfig_shadow() {
	var refusals int
	audit := auditlog.New(io.Discard, auditlog.Options{Counter: auditlog.CounterFunc(func(event, reason string) {
		if reason == "ratelimit_shadow" {
			refusals++
		}
	})})
	lim := ratelimit.MustNew(ratelimit.Config{Limit: ratelimit.PerHour(2), Shadow: true, Audit: audit})
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Println(rec.Code, "RateLimit sent:", rec.Header().Get("RateLimit") != "")
	}
	fmt.Println("would have refused", refusals)
	// Output:
	// 200 RateLimit sent: false
	// 200 RateLimit sent: false
	// 200 RateLimit sent: false
	// 200 RateLimit sent: false
	// 200 RateLimit sent: false
	// would have refused 3
}
