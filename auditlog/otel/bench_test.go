package otel_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/apiguard/apiguard/auditlog"
	apiotel "github.com/apiguard/apiguard/auditlog/otel"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/apiguard/apiguard/ratelimit"
)

// BenchmarkObserver is limiter + gate (a validation-cache hit) without an
// Observer, with one but no recording span in the request (tracing
// installed, this request not sampled), and with a recording span (the
// events' cost; the span itself is made outside the loop).
func BenchmarkObserver(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	iss, err := token.NewIssuer(token.IssuerConfig{Issuer: "https://issuer.test", Audience: "api", Key: priv})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, _ := iss.Issue("alice", token.TokenOptions{})
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	obs := apiotel.New(apiotel.Options{TracerProvider: tp})
	chain := func(o auditlog.Observer) http.Handler {
		l := ratelimit.MustNew(ratelimit.Config{Limit: ratelimit.PerSecond(1e6), Observer: o})
		a := middleware.MustNew(middleware.Config{Keys: iss, Issuer: "https://issuer.test", Audience: "api", Observer: o})
		b.Cleanup(func() { a.Close() })
		return l.Handler(a.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	}
	ctx, span := tp.Tracer("bench").Start(context.Background(), "server")
	defer span.End()
	for _, c := range []struct {
		name string
		h    http.Handler
		ctx  context.Context
	}{
		{"off", chain(nil), context.Background()},
		{"on/not_recording", chain(obs), context.Background()},
		{"on/recording", chain(obs), ctx},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(c.ctx)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, r)
			}
		})
	}
}
