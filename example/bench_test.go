package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the chain rather than httptest's recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkChain puts requests through the example's whole chain (request
// log, identity, headers, CORS, rate limit, guard, gate) next to a bare
// handler: healthz (everything but authentication), /api/me with one token
// (validation-cache hits) and /api/me as a miss (cache off).
func BenchmarkChain(b *testing.B) {
	cfg, err := parseConfig([]string{"-rate", "1000000/1s", "-app-addr", ""}, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	cfg.bcryptCost = bcrypt.MinCost
	a, err := newApp(context.Background(), cfg, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	h, err := a.apiHandler()
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", strings.NewReader(`{"username":"alice","password":"alice-password"}`)))
	if rec.Code != 200 {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	tok := rec.Body.String()
	tok = tok[strings.Index(tok, `"access_token":"`)+16:]
	tok = tok[:strings.IndexByte(tok, '"')]

	run := func(b *testing.B, h http.Handler, path, bearer string) {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = "192.0.2.10:1234"
		req.Header.Set("User-Agent", "bench/1.0")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, http.HandlerFunc(healthz), "/healthz", "") })
	b.Run("healthz", func(b *testing.B) { run(b, h, "/healthz", "") })
	b.Run("me-hit", func(b *testing.B) { run(b, h, "/api/me", tok) })
}
