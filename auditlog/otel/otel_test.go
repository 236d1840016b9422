package otel_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/apiguard/apiguard/auditlog"
	apiotel "github.com/apiguard/apiguard/auditlog/otel"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/jose"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/apiguard/apiguard/ratelimit"
	"github.com/apiguard/apiguard/ratelimit/redisstore"
)

// tracing returns an Observer over an SDK provider whose spans go, as they
// end, to an in-memory exporter, and a tracer of the same provider for the
// test's own server spans.
func tracing(t *testing.T) (*apiotel.Observer, *tracetest.InMemoryExporter, trace.Tracer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return apiotel.New(apiotel.Options{TracerProvider: tp}), exp, tp.Tracer("test")
}

// serverSpan wraps h as otelhttp would: a recording server span in the
// request's context.
func serverSpan(tr trace.Tracer, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tr.Start(r.Context(), "server", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// values returns every string a span holds: its name, status text, and the
// values of its attributes, its events' attributes and names.
func values(s tracetest.SpanStub) []string {
	out := []string{s.Name, s.Status.Description}
	add := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			out = append(out, string(kv.Key), kv.Value.String())
		}
	}
	add(s.Attributes)
	for _, e := range s.Events {
		out = append(out, e.Name)
		add(e.Attributes)
	}
	return out
}

// assertNoSecret fails if any secret appears in any span.
func assertNoSecret(t *testing.T, spans tracetest.SpanStubs, secrets ...string) {
	t.Helper()
	for _, s := range spans {
		for _, v := range values(s) {
			for _, sec := range secrets {
				if sec != "" && strings.Contains(v, sec) {
					t.Errorf("span %q holds the secret %q in %q", s.Name, sec, v)
				}
			}
		}
	}
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// events returns the events named name on the spans named span.
func events(spans tracetest.SpanStubs, span, name string) []map[string]any {
	var out []map[string]any
	for _, s := range spans {
		if s.Name != span {
			continue
		}
		for _, e := range s.Events {
			if e.Name == name {
				out = append(out, attrs(e.Attributes))
			}
		}
	}
	return out
}

func spansNamed(spans tracetest.SpanStubs, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// TestRequestDecisions sends real tokens through the whole chain (limiter,
// guard, gate with a remote JWK Set) and checks the events on the request's
// span, the fetch span, and that no token, secret or IP is in any of them.
func TestRequestDecisions(t *testing.T) {
	obs, exp, tr := tracing(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	iss, err := token.NewIssuer(token.IssuerConfig{Issuer: "https://issuer.test", Audience: "api", Key: priv})
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(iss.JWKSHandler())
	defer jwks.Close()
	// Credentials in the URL's userinfo and query must never be traced.
	jwksURL := strings.Replace(jwks.URL, "http://", "http://jwksuser:jwks-password@", 1) + "/jwks.json?api_key=query-secret"

	secret := strings.Repeat("identity-secret-", 3)
	id, err := ratelimit.NewIdentifier(ratelimit.IdentityConfig{Secret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.MustNew(ratelimit.Config{Name: "api", Limit: ratelimit.PerMinute(7), IPMultiple: -1, Identifier: id, Observer: obs})
	guard := ratelimit.MustNewGuard(ratelimit.GuardConfig{Identifier: id, Observer: obs,
		TokenPerClient: ratelimit.Limit{Rate: 2, Period: time.Minute}})
	auth, err := middleware.New(middleware.Config{JWKSURL: jwksURL, Issuer: "https://issuer.test", Audience: "api",
		Failures: guard, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := serverSpan(tr, limiter.Handler(guard.Handler(auth.Handler(ok))))

	good, issued, err := iss.Issue("alice", token.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + ".c2ln"
	refresh := base64.RawURLEncoding.EncodeToString([]byte("an-opaque-refresh-token-0123456789"))
	const ip = "203.0.113.77"
	send := func(tok string) int {
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		r.RemoteAddr = ip + ":4242"
		r.Header.Set("User-Agent", "otel-test/1.0")
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	want := []struct {
		tok    string
		status int
	}{
		{good, 204}, {good, 204}, // a miss, then a cache hit
		{forged, 401}, {none, 401}, // two failures: the client is locked out
		{good, 429},    // refused by the guard before the gate
		{refresh, 429}, // still locked out
		{"", 429},      // the 7th request ...
		{good, 429},    // ... and the 8th is over the rate limit
	}
	for i, w := range want {
		if got := send(w.tok); got != w.status {
			t.Fatalf("request %d: status %d, want %d", i, got, w.status)
		}
	}

	spans := exp.GetSpans()
	accepted := events(spans, "server", "apiguard.token.accepted")
	if len(accepted) != 2 {
		t.Fatalf("apiguard.token.accepted %d times, want 2: %v", len(accepted), accepted)
	}
	for i, cached := range []bool{false, true} {
		a := accepted[i]
		if a["apiguard.token.cached"] != cached || a["apiguard.token.alg"] != "EdDSA" || a["apiguard.token.kid"] != issued.KID ||
			a["apiguard.token.issuer"] != "https://issuer.test" {
			t.Errorf("accepted[%d] = %v, want alg EdDSA, kid %s, the issuer, cached %v", i, a, issued.KID, cached)
		}
	}
	refused := events(spans, "server", "apiguard.token.refused")
	if len(refused) != 2 {
		t.Fatalf("apiguard.token.refused %d times, want 2: %v", len(refused), refused)
	}
	for i, reason := range []string{string(middleware.ReasonBadSignature), string(middleware.ReasonAlgNone)} {
		r := refused[i]
		if r["apiguard.reason"] != reason || r["error.type"] != reason || r["http.response.status_code"] != int64(401) {
			t.Errorf("refused[%d] = %v, want reason and error.type %s, status 401", i, r, reason)
		}
	}
	rate := events(spans, "server", "apiguard.rate_limit")
	if len(rate) != len(want) {
		t.Fatalf("apiguard.rate_limit %d times, want %d", len(rate), len(want))
	}
	if r := rate[0]; r["apiguard.policy.name"] != "api" || r["apiguard.allowed"] != true || r["apiguard.ratelimit.limit"] != int64(7) ||
		r["apiguard.ratelimit.period"] != 60.0 || r["apiguard.ratelimit.remaining"] != int64(6) || r["apiguard.store.error"] != false {
		t.Errorf("first rate_limit = %v", r)
	}
	if r := rate[7]; r["apiguard.allowed"] != false || r["apiguard.ratelimit.retry_after"].(float64) <= 0 {
		t.Errorf("last rate_limit = %v, want refused with a retry_after", r)
	}
	lock := events(spans, "server", "apiguard.lockout")
	if len(lock) != 7 {
		t.Fatalf("apiguard.lockout %d times, want 7 (the requests the limiter let through)", len(lock))
	}
	if l := lock[0]; l["apiguard.policy.name"] != "token" || l["apiguard.allowed"] != true {
		t.Errorf("first lockout check = %v, want token, allowed", l)
	}
	if l := lock[4]; l["apiguard.allowed"] != false || l["apiguard.ratelimit.retry_after"].(float64) <= 0 {
		t.Errorf("lockout check after two failures = %v, want locked", l)
	}

	fetches := spansNamed(spans, "apiguard.jwks.fetch")
	if len(fetches) == 0 {
		t.Fatal("no apiguard.jwks.fetch span")
	}
	f := attrs(fetches[0].Attributes)
	host := strings.TrimPrefix(jwks.URL, "http://")
	if f["url.full"] != jwks.URL+"/jwks.json" || f["http.response.status_code"] != int64(200) || f["http.request.method"] != "GET" ||
		f["server.address"] != "127.0.0.1" || fmt.Sprint(f["server.port"]) != host[strings.LastIndexByte(host, ':')+1:] {
		t.Errorf("fetch span attributes = %v", f)
	}
	if fetches[0].SpanKind != trace.SpanKindClient || fetches[0].Status.Code == codes.Error {
		t.Errorf("fetch span kind %v status %v", fetches[0].SpanKind, fetches[0].Status)
	}

	assertNoSecret(t, spans, good, forged, none, refresh, parts[1], parts[2], secret, ip,
		"jwks-password", "jwksuser", "query-secret", "api_key")
}

func TestFetchFailures(t *testing.T) {
	obs, exp, _ := tracing(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/.well-known/") {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	r, err := jose.NewRemoteJWKS(context.Background(), jose.RemoteJWKSConfig{URL: srv.URL + "/jwks?sig=query-secret", Observer: obs, Algorithms: []string{jose.EdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	d, err := jose.NewDiscovery(jose.DiscoveryConfig{Issuer: srv.URL + "/tenant", Protocol: jose.DiscoveryOIDC, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Metadata(context.Background()); err == nil {
		t.Fatal("discovery of a 404 succeeded")
	}

	spans := exp.GetSpans()
	for _, c := range []struct {
		name, url string
		status    int64
	}{
		{"apiguard.jwks.fetch", srv.URL + "/jwks", 500},
		{"apiguard.discovery.fetch", srv.URL + "/tenant/.well-known/openid-configuration", 404},
	} {
		ss := spansNamed(spans, c.name)
		if len(ss) == 0 {
			t.Errorf("no %s span", c.name)
			continue
		}
		a := attrs(ss[0].Attributes)
		if a["url.full"] != c.url || a["http.response.status_code"] != c.status || a["error.type"] != fmt.Sprint(c.status) {
			t.Errorf("%s attributes = %v, want url %s, status and error.type %d", c.name, a, c.url, c.status)
		}
		if ss[0].Status.Code != codes.Error {
			t.Errorf("%s status = %v, want an error", c.name, ss[0].Status)
		}
		if ss[0].EndTime.Before(ss[0].StartTime) {
			t.Errorf("%s ends before it starts", c.name)
		}
	}
	assertNoSecret(t, spans, "query-secret", "sig=")

	// An Observer's caller that did not cut its URL: cut here too.
	obs.Fetched(context.Background(), auditlog.Fetch{Kind: auditlog.FetchJWKS, URL: "https://user:url-password@idp.test/jwks?k=query-secret#frag-secret",
		Start: time.Now(), Duration: time.Millisecond, Status: 200})
	last := spansNamed(exp.GetSpans(), "apiguard.jwks.fetch")
	if got := attrs(last[len(last)-1].Attributes)["url.full"]; got != "https://idp.test/jwks" {
		t.Errorf("url.full = %v, want https://idp.test/jwks", got)
	}
	assertNoSecret(t, exp.GetSpans(), "url-password", "query-secret", "frag-secret")
}

func TestNoRecordingSpanNoEvent(t *testing.T) {
	obs, exp, _ := tracing(t)
	obs.TokenChecked(context.Background(), auditlog.TokenCheck{OK: true, Alg: "RS256"})
	obs.LimitChecked(context.Background(), auditlog.LimitCheck{Kind: auditlog.LimitRate, Policy: "p"})
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans recorded without a request span", n)
	}
}

// TestRedisHook traces a real Redis limiter store's round trip under the
// request's span, without any argument of the command.
func TestRedisHook(t *testing.T) {
	srv := redistest.Start(t)
	obs, exp, tr := tracing(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	rdb.AddHook(obs.RedisHook())
	store, err := redisstore.NewLimiterStore(rdb, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tr.Start(context.Background(), "server")
	var key [32]byte
	copy(key[:], "a-client-key-that-is-a-hash-0001")
	if _, err := store.Allow(ctx, key, ratelimit.PerMinute(10), time.Now(), 1); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, "apiguard-missing-key").Err(); err != redis.Nil {
		t.Fatalf("GET of a missing key: %v", err)
	}
	_ = rdb.Do(ctx, "NOSUCHCOMMAND", "arg-secret").Err()
	parent.End()

	var cmds []tracetest.SpanStub
	ids := map[trace.SpanID]bool{}
	for _, s := range exp.GetSpans() {
		ids[s.SpanContext.SpanID()] = true
		if s.Name != "server" {
			cmds = append(cmds, s)
		}
	}
	if len(cmds) < 3 {
		t.Fatalf("%d command spans, want at least 3 (the script, GET, the bad command)", len(cmds))
	}
	allowed := map[string]bool{"db.system.name": true, "db.operation.name": true, "db.operation.batch.size": true, "error.type": true}
	var failed, nilFailed, script bool
	for _, s := range cmds {
		// The connection's set-up (HELLO, CLIENT SETINFO) runs inside the
		// first command's span; every span is in the request's trace.
		if s.SpanContext.TraceID() != parent.SpanContext().TraceID() || !ids[s.Parent.SpanID()] || s.SpanKind != trace.SpanKindClient {
			t.Errorf("span %s: parent %v kind %v, want under the request's span, client", s.Name, s.Parent.SpanID(), s.SpanKind)
		}
		if s.Name == "EVALSHA" || s.Name == "EVAL" {
			if s.Parent.SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("the limiter's script span is not a child of the request's span")
			}
			script = true
		}
		a := attrs(s.Attributes)
		if a["db.system.name"] != "redis" || a["db.operation.name"] != s.Name {
			t.Errorf("span %s attributes %v", s.Name, a)
		}
		for k := range a {
			if !allowed[k] {
				t.Errorf("span %s has attribute %s", s.Name, k)
			}
		}
		if s.Name == "GET" && s.Status.Code == codes.Error {
			nilFailed = true
		}
		if s.Name == "NOSUCHCOMMAND" && s.Status.Code == codes.Error && a["error.type"] == "ERR" {
			failed = true
		}
	}
	if !script {
		t.Error("no span for the limiter's script")
	}
	if nilFailed {
		t.Error("redis.Nil marked the GET span failed")
	}
	if !failed {
		t.Error("the failing command's span has no error status with error.type ERR")
	}
	assertNoSecret(t, exp.GetSpans(), "a-client-key", "apiguard-missing-key", "arg-secret", fmt.Sprintf("%x", key[:8]))
}
