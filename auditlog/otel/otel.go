// Package otel traces apiguard's decisions with OpenTelemetry: it is the
// auditlog.Observer that turns token checks, rate-limit and lockout
// decisions into span events on the request's span, and remote key fetches
// into spans of their own; and RedisHook gives the Redis stores' round trips
// spans. Only the programs that import this package compile OpenTelemetry:
// apiguard's other packages know only the auditlog.Observer interface.
//
// Wiring, with the request's server span made by otelhttp (or any middleware
// that puts a recording span in the request's context), in front of
// apiguard's chain:
//
//	obs := apiotel.New(apiotel.Options{}) // the global TracerProvider
//	auth, _ := middleware.New(middleware.Config{..., Observer: obs})
//	limiter, _ := ratelimit.New(ratelimit.Config{..., Observer: obs})
//	guard, _ := ratelimit.NewGuard(ratelimit.GuardConfig{..., Observer: obs})
//	rdb.AddHook(obs.RedisHook()) // before handing rdb to the Redis stores
//	handler := otelhttp.NewHandler(chain, "api")
//
// # What is recorded
//
// Span events on the span of the request's context, when it is recording
// (nothing otherwise, and nothing is allocated):
//
//	apiguard.token.accepted  apiguard.token.alg, apiguard.token.kid,
//	                         apiguard.token.issuer, apiguard.token.cached
//	apiguard.token.refused   apiguard.token.kid, apiguard.token.cached,
//	                         apiguard.reason (the gate's reason code),
//	                         error.type (the same), http.response.status_code
//	apiguard.rate_limit      apiguard.policy.name, apiguard.allowed,
//	                         apiguard.ratelimit.limit, .period (seconds),
//	                         .remaining, .retry_after (seconds), apiguard.store.error
//	apiguard.lockout         apiguard.policy.name ("login", "token"),
//	                         apiguard.allowed, apiguard.ratelimit.retry_after,
//	                         apiguard.store.error
//
// Spans (kind client, child of the context's span, else roots: a background
// refresh has no request), one per fetch, with their real start and end:
//
//	apiguard.jwks.fetch       http.request.method, url.full (scheme, host and
//	apiguard.discovery.fetch  path only), server.address, server.port,
//	                          http.response.status_code, error.type (the
//	                          status, "timeout" or "_OTHER") and an error
//	                          status on failure
//
// and with RedisHook one span per command or pipeline (kind client):
// db.system.name "redis", db.operation.name (the command's name, "PIPELINE"
// with db.operation.batch.size), error.type on failure (redis.Nil is no
// failure). Never the command's arguments: the stores' keys and values are
// keyed hashes, token ids and expiry times, and none of them belongs in a
// trace.
//
// # Why events on the request's span
//
// A decision takes microseconds (a cache hit well under one), is part of the
// request, and is already timed by the request's span; a child span per
// decision would triple the spans per request and cost more than the
// decision. An event carries its time and attributes at a fraction of the
// cost. A fetch is the opposite: it talks to another service, lasts
// milliseconds to seconds and often runs in the background, so it is a
// span.
//
// Nothing recorded holds a token, a secret, a password, a refresh token, a
// client key or an IP: auditlog.Observer's arguments have no field for
// them, and a fetch's URL comes without userinfo, query or fragment (it is
// cut again here).
package otel

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/apiguard/apiguard/auditlog"
)

// ScopeName is the instrumentation scope of the tracer.
const ScopeName = "github.com/apiguard/apiguard/auditlog/otel"

// Attribute keys of apiguard's own, namespaced "apiguard.".
const (
	KeyTokenAlg     = attribute.Key("apiguard.token.alg")
	KeyTokenKID     = attribute.Key("apiguard.token.kid")
	KeyTokenIssuer  = attribute.Key("apiguard.token.issuer")
	KeyTokenCached  = attribute.Key("apiguard.token.cached")
	KeyReason       = attribute.Key("apiguard.reason")
	KeyPolicy       = attribute.Key("apiguard.policy.name")
	KeyAllowed      = attribute.Key("apiguard.allowed")
	KeyLimit        = attribute.Key("apiguard.ratelimit.limit")
	KeyPeriod       = attribute.Key("apiguard.ratelimit.period")
	KeyRemaining    = attribute.Key("apiguard.ratelimit.remaining")
	KeyRetryAfter   = attribute.Key("apiguard.ratelimit.retry_after")
	KeyStoreError   = attribute.Key("apiguard.store.error")
	KeyFetchKind    = attribute.Key("apiguard.fetch.kind")
	maxErrorMessage = 256
)

// Options configures New. The zero value uses the global TracerProvider.
type Options struct {
	// TracerProvider makes the tracer. Default otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
}

// Observer is the OpenTelemetry auditlog.Observer. Safe for concurrent use.
type Observer struct {
	tracer trace.Tracer
}

var _ auditlog.Observer = (*Observer)(nil)

// New returns an Observer tracing with o.TracerProvider.
func New(o Options) *Observer {
	tp := o.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &Observer{tracer: tp.Tracer(ScopeName)}
}

// TokenChecked adds apiguard.token.accepted or apiguard.token.refused to the
// request's span.
func (o *Observer) TokenChecked(ctx context.Context, c auditlog.TokenCheck) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if c.OK {
		span.AddEvent("apiguard.token.accepted", trace.WithAttributes(
			KeyTokenAlg.String(c.Alg), KeyTokenKID.String(c.KID), KeyTokenIssuer.String(c.Iss), KeyTokenCached.Bool(c.Cached)))
		return
	}
	span.AddEvent("apiguard.token.refused", trace.WithAttributes(
		KeyTokenKID.String(c.KID), KeyTokenCached.Bool(c.Cached), KeyReason.String(c.Reason),
		semconv.ErrorTypeKey.String(c.Reason), semconv.HTTPResponseStatusCode(c.Status)))
}

// LimitChecked adds apiguard.rate_limit or apiguard.lockout to the
// request's span.
func (o *Observer) LimitChecked(ctx context.Context, d auditlog.LimitCheck) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if d.Kind == auditlog.LimitLockout {
		span.AddEvent("apiguard.lockout", trace.WithAttributes(
			KeyPolicy.String(d.Policy), KeyAllowed.Bool(d.Allowed),
			KeyRetryAfter.Float64(d.RetryAfter.Seconds()), KeyStoreError.Bool(d.StoreError)))
		return
	}
	span.AddEvent("apiguard.rate_limit", trace.WithAttributes(
		KeyPolicy.String(d.Policy), KeyAllowed.Bool(d.Allowed), KeyLimit.Int(d.Limit),
		KeyPeriod.Float64(d.Period.Seconds()), KeyRemaining.Int(d.Remaining),
		KeyRetryAfter.Float64(d.RetryAfter.Seconds()), KeyStoreError.Bool(d.StoreError)))
}

// Fetched records a span apiguard.jwks.fetch or apiguard.discovery.fetch
// over the fetch's time.
func (o *Observer) Fetched(ctx context.Context, f auditlog.Fetch) {
	name := "apiguard." + f.Kind + ".fetch"
	if f.Kind != auditlog.FetchJWKS && f.Kind != auditlog.FetchDiscovery {
		name = "apiguard.fetch"
	}
	start := f.Start
	if start.IsZero() {
		start = time.Now().Add(-f.Duration)
	}
	_, span := o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start))
	if span.IsRecording() {
		attrs := []attribute.KeyValue{semconv.HTTPRequestMethodGet, KeyFetchKind.String(f.Kind)}
		if u, err := url.Parse(f.URL); err == nil && u.Host != "" {
			// Cut again: an Observer's caller may not have.
			u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
			attrs = append(attrs, semconv.URLFull(u.String()), semconv.ServerAddress(u.Hostname()))
			if p, err := strconv.Atoi(u.Port()); err == nil {
				attrs = append(attrs, semconv.ServerPort(p))
			} else if u.Scheme == "https" {
				attrs = append(attrs, semconv.ServerPort(443))
			} else if u.Scheme == "http" {
				attrs = append(attrs, semconv.ServerPort(80))
			}
		}
		if f.Status != 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(f.Status))
		}
		if f.Err != nil {
			attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(f.Status, f.Err)))
			msg := f.Err.Error()
			if len(msg) > maxErrorMessage {
				msg = msg[:maxErrorMessage]
			}
			span.SetStatus(codes.Error, msg)
		}
		span.SetAttributes(attrs...)
	}
	span.End(trace.WithTimestamp(start.Add(f.Duration)))
}

// errorType is error.type of a failed fetch: the HTTP status when one came
// as the failure, "timeout" for a deadline, else "_OTHER" (a parse error's
// text is not a low-cardinality value).
func errorType(status int, err error) string {
	if status >= 400 {
		return strconv.Itoa(status)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}
