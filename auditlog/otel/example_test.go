package otel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	apiotel "github.com/apiguard/apiguard/auditlog/otel"
	"github.com/apiguard/apiguard/ratelimit"
)

// The Observer goes into the configuration of each apiguard step; its
// decisions become events on the request's span (here made by hand, as
// otelhttp.NewHandler would make it).
func Example() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	obs := apiotel.New(apiotel.Options{TracerProvider: tp})

	limiter := ratelimit.MustNew(ratelimit.Config{Name: "api", Limit: ratelimit.PerMinute(1), IPMultiple: -1, Observer: obs})
	h := limiter.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for range 2 {
		ctx, span := tp.Tracer("server").Start(context.Background(), "GET /api")
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api", nil).WithContext(ctx))
		span.End()
	}
	for _, s := range exp.GetSpans() {
		for _, e := range s.Events {
			for _, kv := range e.Attributes {
				if kv.Key == apiotel.KeyAllowed {
					fmt.Println(s.Name, e.Name, "allowed:", kv.Value.AsBool())
				}
			}
		}
	}
	// Output:
	// GET /api apiguard.rate_limit allowed: true
	// GET /api apiguard.rate_limit allowed: false
}
