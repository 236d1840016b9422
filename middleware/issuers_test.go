package middleware

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/idptest"
)

// fakeToken is a compact token naming iss, with a header the gate accepts
// and a signature nobody made: the gate must refuse it on iss alone.
func fakeToken(iss string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`)) + "." +
		enc.EncodeToString([]byte(`{"iss":"`+iss+`","sub":"x","aud":"a","exp":4102444800}`)) + "." +
		enc.EncodeToString(make([]byte, 256))
}

// A flood of tokens naming made-up issuers costs at most the resolver's rate
// in calls, keeps at most its cache size in memory, and is answered 401
// quickly, without a key lookup.
func TestResolverFlood(t *testing.T) {
	var calls atomic.Int64
	t0 := time.Now()
	a, err := New(Config{
		IssuerResolver: func(ctx context.Context, iss string) (*TrustedIssuer, error) {
			calls.Add(1)
			return nil, nil // trusts nobody
		},
		ResolverCacheSize: 100,
		ResolverRate:      5,
		Now:               func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	const n = 100_000
	for i := 0; i < n; i++ {
		_, err := a.Verify(context.Background(), fakeToken("https://tenant-"+strconv.Itoa(i)+".evil.example/"))
		if reasonOf(err) != ReasonIssUnknown {
			t.Fatalf("token %d: reason %q, want %q", i, reasonOf(err), ReasonIssUnknown)
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
			t.Fatalf("token %d: %v, want 401", i, err)
		}
	}
	elapsed := time.Since(start)
	if c := calls.Load(); c > 5 {
		t.Errorf("resolver called %d times, want at most the rate's burst, 5", c)
	}
	entries, _ := a.resolver.stats()
	if entries > 100 {
		t.Errorf("%d cached answers, want at most 100", entries)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
		t.Errorf("heap grew by %d bytes", grown)
	}
	if per := elapsed / n; per > 20*time.Microsecond && !raceEnabled {
		t.Errorf("%v per token, want a few microseconds", per)
	}
	t.Logf("%d tokens in %v (%v each), %d resolver calls", n, elapsed, elapsed/n, calls.Load())
}

// The budget refills with time; a negative answer is cached (no second
// call); a resolver error is a 503 and is not cached; an answer for another
// issuer is refused.
func TestResolverCacheAndRate(t *testing.T) {
	var clk fakeClock
	calls := map[string]int{}
	a, err := New(Config{
		IssuerResolver: func(ctx context.Context, iss string) (*TrustedIssuer, error) {
			calls[iss]++
			switch {
			case strings.HasSuffix(iss, "/down"):
				return nil, errors.New("directory unavailable")
			case strings.HasSuffix(iss, "/liar"):
				return &TrustedIssuer{Issuer: "https://trusted.example", Audience: "a", Keys: testKeySource(t)}, nil
			}
			return nil, nil
		},
		ResolverCacheSize: 2,
		ResolverRate:      1,
		Now:               clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	check := func(iss string, want Reason, wantCalls int) {
		t.Helper()
		if _, err := a.Verify(ctx, fakeToken(iss)); reasonOf(err) != want {
			t.Errorf("%s: reason %q, want %q", iss, reasonOf(err), want)
		}
		if calls[iss] != wantCalls {
			t.Errorf("%s: %d calls, want %d", iss, calls[iss], wantCalls)
		}
	}
	check("https://a.example", ReasonIssUnknown, 1)
	clk.advance(time.Second)
	check("https://a.example", ReasonIssUnknown, 1) // cached negative, with budget to spare
	check("https://z.example", ReasonIssUnknown, 1) // the budget's one call
	check("https://b.example", ReasonIssUnknown, 0) // budget spent
	clk.advance(time.Second)
	check("https://b.example", ReasonIssUnknown, 1)
	clk.advance(time.Second)
	check("https://x.example/down", ReasonKeysUnavailable, 1)
	clk.advance(time.Second)
	check("https://x.example/down", ReasonKeysUnavailable, 2) // not cached
	clk.advance(time.Second)
	check("https://x.example/liar", ReasonKeysUnavailable, 1)
	clk.advance(time.Second)
	check("https://c.example", ReasonIssUnknown, 1) // evicts a (cap 2)
	clk.advance(time.Second)
	check("https://a.example", ReasonIssUnknown, 2) // asked again
	long := "https://" + strings.Repeat("a", MaxIssuerLength) + ".example"
	clk.advance(time.Second)
	check(long, ReasonIssUnknown, 0)
}

var entraTenantIss = regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/v2\.0$`)

// Entra multi-tenant: the resolver trusts every tenant's issuer with the
// common key set, Entra's profile and the API's audience; each tenant is
// resolved once.
func TestResolverEntraTenants(t *testing.T) {
	p := idptest.New(t, idptest.EntraCommon)
	var calls atomic.Int64
	a, err := New(Config{
		IssuerResolver: func(ctx context.Context, iss string) (*TrustedIssuer, error) {
			calls.Add(1)
			if !entraTenantIss.MatchString(iss) {
				return nil, nil
			}
			return &TrustedIssuer{Issuer: iss, Audience: p.Audience, JWKSURL: p.JWKSURI, Profile: ProfileEntraID()}, nil
		},
		MaxTokenSize: DefaultEntraMaxTokenSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	for i, tid := range []string{"3f1e0b57-6c0d-4b1a-9e6f-2d8c7a5b4e31", "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"} {
		for j := 0; j < 3; j++ {
			c, err := a.Verify(ctx, p.AccessToken(t, map[string]any{"tid": tid}))
			if err != nil {
				t.Fatalf("tenant %d: %v", i, err)
			}
			if !strings.Contains(c.Issuer, tid) || !c.HasRole("Tasks.Admin") {
				t.Errorf("tenant %d: iss %q roles %q", i, c.Issuer, c.Roles)
			}
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d resolver calls, want 2 (one per tenant)", n)
	}
	if _, err := a.Verify(ctx, p.AccessToken(t, map[string]any{"iss": p.Server.URL + "/not-a-tenant/v2.0"})); reasonOf(err) != ReasonIssUnknown {
		t.Errorf("not a tenant: reason %q, want %q", reasonOf(err), ReasonIssUnknown)
	}
}

// One configuration style: the shorthand or Issuers/IssuerResolver, never
// both; errors name the fields.
func TestIssuersConfigErrors(t *testing.T) {
	keys := testKeySource(t)
	good := TrustedIssuer{Issuer: "https://a.example", Audience: "api", Keys: keys}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"shorthand beside Issuers", Config{Issuer: "https://a.example", Audience: "api", Issuers: []TrustedIssuer{good}},
			[]string{"Config.Issuer, Config.Audience", "Config.Issuers"}},
		{"key beside resolver", Config{Keys: keys, IssuerResolver: func(context.Context, string) (*TrustedIssuer, error) { return nil, nil }},
			[]string{"Config.Keys"}},
		{"duplicate issuer", Config{Issuers: []TrustedIssuer{good, good}}, []string{"Config.Issuers[1].Issuer", `"https://a.example"`}},
		{"no audience", Config{Issuers: []TrustedIssuer{good, {Issuer: "https://b.example", Keys: keys}}}, []string{"Config.Issuers[1].Audience"}},
		{"no key source", Config{Issuers: []TrustedIssuer{{Issuer: "https://b.example", Audience: "x"}}}, []string{"Config.Issuers[0].Keys", "Config.Issuers[0].Discovery"}},
		{"two key sources", Config{Issuers: []TrustedIssuer{{Issuer: "https://b.example", Audience: "x", Keys: keys, Discovery: true}}},
			[]string{"Config.Issuers[0].Keys, Config.Issuers[0].Discovery"}},
		{"discovery over http", Config{Issuer: "http://idp.example", Audience: "x", Discovery: true}, []string{"Config.Discovery", `"http://idp.example"`}},
		{"resolver settings alone", Config{Issuer: "https://a.example", Audience: "x", Keys: keys, ResolverRate: 3}, []string{"Config.ResolverRate"}},
		{"negative rate", Config{IssuerResolver: func(context.Context, string) (*TrustedIssuer, error) { return nil, nil }, ResolverRate: -1},
			[]string{"Config.ResolverRate", "-1"}},
		{"bad profile path", Config{Issuer: "https://a.example", Audience: "x", Keys: keys, Profile: &Profile{Roles: []ClaimSource{{}}}},
			[]string{"Config.Profile.Roles[0].Path"}},
		{"profile size", Config{Issuer: "https://a.example", Audience: "x", Keys: keys, Profile: &Profile{MaxTokenSize: -5}},
			[]string{"Config.Profile.MaxTokenSize", "-5"}},
		{"profile requires a registered claim", Config{Issuer: "https://a.example", Audience: "x", Keys: keys,
			Profile: &Profile{Require: []RequiredClaim{{Name: "exp", Value: "1"}}}}, []string{"Config.Profile.Require", `"exp"`}},
		{"profile audience claim", Config{Issuer: "https://a.example", Audience: "x", Keys: keys, Profile: &Profile{AudienceClaim: "sub"}},
			[]string{"Config.Profile.AudienceClaim", `"sub"`}},
		{"issuer algorithms", Config{Issuers: []TrustedIssuer{{Issuer: "https://b.example", Audience: "x", Keys: keys, Algorithms: []string{"none"}}}},
			[]string{"Config.Issuers[0].Algorithms", `"none"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { refusedConfig(t, tt.cfg, tt.want...) })
	}
}

// refusedConfig asserts that New refuses cfg with an error saying each of
// want, and returns the error.
func refusedConfig(t *testing.T, cfg Config, want ...string) error {
	t.Helper()
	a, err := New(cfg)
	if err == nil {
		a.Close()
		t.Fatal("accepted")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err %q does not say %q", err, w)
		}
	}
	return err
}
