package ratelimit

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func newLimiter(t testing.TB, c Config) *Limiter {
	t.Helper()
	if c.Store == nil {
		s, err := NewMemoryStore(MemoryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.Store = s
	}
	if c.Identifier == nil {
		c.Identifier = mustIdentifier(t, IdentityConfig{})
	}
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewErrors(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"no limit", Config{Store: s}, "Config.Limit is zero"},
		{"no rate", Config{Store: s, Limit: Limit{Period: time.Second}}, "Config.Limit.Rate 0"},
		{"no period", Config{Store: s, Limit: Limit{Rate: 1}}, "Config.Limit.Period 0s"},
		{"negative burst", Config{Store: s, Limit: Limit{Rate: 1, Period: time.Second, Burst: -1}}, "Config.Limit.Burst -1"},
		{"bad name", Config{Store: s, Limit: Limit{Rate: 1, Period: time.Second}, Name: `a"b`}, `"a\"b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %s", err, tt.want)
			}
		})
	}
}

// The zero values of Config's optional fields mean working defaults: a
// limiter with only a Limit limits (a memory store, a default identifier,
// the wall clock), and the Must form panics on what New refuses.
func TestNewDefaults(t *testing.T) {
	l := MustNew(Config{Limit: PerHour(1)})
	h := l.Handler(okHandler)
	codes := []int{}
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		codes = append(codes, rec.Code)
	}
	if codes[0] != 200 || codes[1] != 429 {
		t.Fatalf("codes %v, want [200 429]", codes)
	}
	if _, ok := l.cfg.Store.(*MemoryStore); !ok {
		t.Fatalf("default store is %T", l.cfg.Store)
	}
	defer func() {
		if err, _ := recover().(error); err == nil || !strings.Contains(err.Error(), "Config.Limit") {
			t.Fatalf("MustNew with no limit: recovered %v", err)
		}
	}()
	MustNew(Config{})
}

// Keyed by the authenticated subject through KeyFunc (what a limiter after
// authentication does with middleware.ClaimsFromContext): one budget per
// subject from every address, anonymous requests by client identity.
func TestMiddlewareKeyBySubject(t *testing.T) {
	id := mustIdentifier(t, IdentityConfig{})
	l := newLimiter(t, Config{Identifier: id, Limit: Limit{Rate: 1, Period: time.Minute},
		KeyFunc: func(r *http.Request) ([32]byte, bool) {
			sub := r.Header.Get("X-Test-Subject") // stands in for the claims
			return id.Derive("sub", sub), sub != ""
		}})
	h := l.Handler(okHandler)
	serve := func(remote, sub string) int {
		r := newReq(remote, "ua")
		if sub != "" {
			r.Header.Set("X-Test-Subject", sub)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	tests := []struct {
		name, remote, sub string
		want              int
	}{
		{"first", "192.0.2.1:1", "alice", 200},
		{"same subject elsewhere", "198.51.100.9:1", "alice", 429},
		{"another subject", "198.51.100.9:1", "bob", 200},
		{"anonymous", "198.51.100.9:1", "", 200},
		{"anonymous again", "198.51.100.9:1", "", 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serve(tt.remote, tt.sub); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// The header formats of the IETF httpapi draft, on allowed and refused
// responses, with an exact Retry-After rounded up.
func TestMiddlewareHeaders(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Limit: Limit{Rate: 2, Period: 5 * time.Second}, Name: "api", Now: clk.Now})
	h := l.Handler(okHandler)
	type want struct {
		status     int
		rateLimit  string
		retryAfter string
	}
	steps := []struct {
		at time.Duration
		want
	}{
		{0, want{200, `"api";r=1;t=3`, ""}}, // reset after 2.5s -> 3
		{0, want{200, `"api";r=0;t=5`, ""}},
		{0, want{429, `"api";r=0;t=5`, "3"}},                       // 2.5s -> 3
		{2400 * time.Millisecond, want{429, `"api";r=0;t=3`, "1"}}, // 0.1s -> 1
		{2500 * time.Millisecond, want{200, `"api";r=0;t=5`, ""}},
	}
	for i, st := range steps {
		clk.t = t0.Add(st.at)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		res := rec.Result()
		got := want{res.StatusCode, res.Header.Get("RateLimit"), res.Header.Get("Retry-After")}
		if got != st.want {
			t.Fatalf("step %d: got %+v, want %+v", i, got, st.want)
		}
		if p := res.Header.Get("RateLimit-Policy"); p != `"api";q=2;w=5, "api-ip";q=20;w=5` {
			t.Fatalf("step %d: RateLimit-Policy %q", i, p)
		}
		if got.status == 429 {
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if b := rec.Body.String(); b != `{"error":"rate_limited","error_description":"too many requests"}`+"\n" {
				t.Fatalf("body %q", b)
			}
		}
	}
}

func TestMiddlewarePolicyBurst(t *testing.T) {
	l := newLimiter(t, Config{Limit: Limit{Rate: 100, Period: time.Minute, Burst: 20}})
	rec := httptest.NewRecorder()
	l.Handler(okHandler).ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
	if p := rec.Header().Get("RateLimit-Policy"); p != `"default";q=100;w=60;burst=20, "default-ip";q=1000;w=60;burst=200` {
		t.Fatalf("RateLimit-Policy %q", p)
	}
}

func TestMiddlewareClientsSeparate(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Limit: Limit{Rate: 1, Period: time.Minute}, Now: clk.Now})
	h := l.Handler(okHandler)
	serve := func(r *http.Request) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	if serve(newReq("192.0.2.1:1", "ua")) != 200 || serve(newReq("192.0.2.1:2", "ua")) != 429 {
		t.Fatal("one client got two requests from a budget of one")
	}
	if serve(newReq("192.0.2.2:1", "ua")) != 200 {
		t.Fatal("another client was limited")
	}
	// a spoofed header without a trusted proxy does not buy a new budget
	if serve(newReq("192.0.2.1:1", "ua", "X-Forwarded-For", "1.2.3.4")) != 429 {
		t.Fatal("X-Forwarded-For from an untrusted peer reset the budget")
	}
}

// Two limiters (route groups) sharing one store keep separate budgets.
func TestMiddlewareNamesSeparateKeys(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	id := mustIdentifier(t, IdentityConfig{})
	a := newLimiter(t, Config{Store: s, Identifier: id, Limit: Limit{Rate: 1, Period: time.Minute}, Name: "a"})
	b := newLimiter(t, Config{Store: s, Identifier: id, Limit: Limit{Rate: 1, Period: time.Minute}, Name: "b"})
	for _, l := range []*Limiter{a, b} {
		rec := httptest.NewRecorder()
		l.Handler(okHandler).ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		if rec.Code != 200 {
			t.Fatalf("limiter %s: %d; the groups share a budget", l.cfg.Name, rec.Code)
		}
	}
}

func TestMiddlewareKeyFuncAndErrorWriter(t *testing.T) {
	var called Decision
	l := newLimiter(t, Config{
		Limit:   Limit{Rate: 1, Period: time.Minute},
		KeyFunc: func(r *http.Request) ([32]byte, bool) { return key(1), r.Header.Get("X-Tenant") != "" },
		ErrorWriter: func(w http.ResponseWriter, r *http.Request, d Decision) {
			called = d
			w.WriteHeader(http.StatusTeapot)
		},
	})
	h := l.Handler(okHandler)
	codes := []int{}
	for _, remote := range []string{"192.0.2.1:1", "192.0.2.2:1"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq(remote, "ua", "X-Tenant", "t"))
		codes = append(codes, rec.Code)
		if rec.Code == http.StatusTeapot && rec.Header().Get("Retry-After") == "" {
			t.Fatal("Retry-After not set before the ErrorWriter")
		}
	}
	if codes[0] != 200 || codes[1] != http.StatusTeapot || called.Allowed || called.RetryAfter <= 0 {
		t.Fatalf("codes %v, decision %+v", codes, called)
	}
}

// A store that fails: the limiter follows the fail setting and records each
// switch once, not per request.
type failingStore struct{ fail bool }

func (f *failingStore) Allow(ctx contextT, key [32]byte, l Limit, now time.Time, n int) (Decision, error) {
	if f.fail {
		return Decision{}, errTest
	}
	return Decision{Allowed: true, Limit: l, Remaining: 1}, nil
}

func TestMiddlewareFailOpenClosed(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run(map[bool]string{false: "open", true: "closed"}[closed], func(t *testing.T) {
			var buf bytes.Buffer
			st := &failingStore{fail: true}
			l := newLimiter(t, Config{Store: st, Limit: Limit{Rate: 1, Period: time.Minute}, FailClosed: closed, Audit: auditlog.New(&buf, auditlog.Options{})})
			h := l.Handler(okHandler)
			for i := 0; i < 5; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
				want := 200
				if closed {
					want = 503
				}
				if rec.Code != want {
					t.Fatalf("store failing, fail closed=%v: status %d", closed, rec.Code)
				}
				if closed && rec.Header().Get("Retry-After") != "1" {
					t.Fatal("no Retry-After on 503")
				}
			}
			if n := strings.Count(buf.String(), `"event":"store_unavailable"`); n != 1 {
				t.Fatalf("%d store_unavailable events for one outage:\n%s", n, buf.String())
			}
			st.fail = false
			h.ServeHTTP(httptest.NewRecorder(), newReq("192.0.2.1:1", "ua"))
			h.ServeHTTP(httptest.NewRecorder(), newReq("192.0.2.1:1", "ua"))
			if n := strings.Count(buf.String(), "recovered"); n != 1 {
				t.Fatalf("recovery recorded %d times:\n%s", n, buf.String())
			}
		})
	}
}

func BenchmarkMiddleware(b *testing.B) {
	id := mustIdentifier(b, IdentityConfig{})
	lim := Limit{Rate: 1_000_000, Period: time.Second, Burst: 1 << 30}
	l := newLimiter(b, Config{Identifier: id, Limit: lim})
	noIP := newLimiter(b, Config{Identifier: id, Limit: lim, IPMultiple: -1})
	reqs := make([]*http.Request, 256)
	for i := range reqs {
		reqs[i] = newReq("192.0.2."+strconv.Itoa(i)+":1234", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
	}
	bench := func(b *testing.B, h http.Handler) {
		w := &nopWriter{h: http.Header{}}
		cpuLoop(b, func(i int) {
			clear(w.h)
			h.ServeHTTP(w, reqs[i&255])
		})
	}
	b.Run("bare", func(b *testing.B) { bench(b, okHandler) })
	b.Run("identity+limiter", func(b *testing.B) { bench(b, id.Handler(l.Handler(okHandler))) })
	b.Run("limiter", func(b *testing.B) { bench(b, l.Handler(okHandler)) })
	b.Run("limiter-no-ip-ceiling", func(b *testing.B) { bench(b, noIP.Handler(okHandler)) })
	// Several policies on the memory store: 3 policies and 3 IP ceilings,
	// six budgets decided together.
	three := newLimiter(b, Config{Identifier: id, Policies: []Policy{{Name: "burst", Limit: lim}, {Name: "hourly", Limit: Limit{Rate: 1_000_000, Period: time.Hour, Burst: 1 << 30}}, {Name: "daily", Limit: Limit{Rate: 1_000_000, Period: 24 * time.Hour, Burst: 1 << 30}}}})
	b.Run("limiter-3-policies", func(b *testing.B) { bench(b, three.Handler(okHandler)) })
	costly := newLimiter(b, Config{Identifier: id, Limit: lim, Cost: func(*http.Request) int { return 10 }})
	b.Run("limiter-cost", func(b *testing.B) { bench(b, costly.Handler(okHandler)) })
	b.Run("identify", func(b *testing.B) {
		cpuLoop(b, func(i int) { _ = id.Identify(reqs[i&255]) })
	})
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// TestDefaultClockIsWallTime checks that the default clock is the wall
// clock: a key refused under it is refused for about one interval from now,
// not from some other epoch.
func TestDefaultClockIsWallTime(t *testing.T) {
	st, _ := NewMemoryStore(MemoryOptions{})
	l := newLimiter(t, Config{Store: st, Limit: Limit{Rate: 1, Period: time.Hour}})
	r := newReq("192.0.2.1:1234", "agent")
	if d, _ := l.Check(r); !d.Allowed {
		t.Fatal("first request refused")
	}
	before := time.Now()
	d, _ := l.Check(r)
	if d.Allowed {
		t.Fatal("second request allowed")
	}
	// The stored time must be where the Store interface at the wall time
	// finds it (n=0 only reports).
	ds, err := st.Allow(context.Background(), l.key(r), l.cfg.Limit, before, 0)
	if err != nil || ds.ResetAfter < d.ResetAfter-time.Second || ds.ResetAfter > d.ResetAfter+time.Second {
		t.Fatalf("default clock: ResetAfter %v; at wall time the store says %+v, %v", d.ResetAfter, ds, err)
	}
}

// The Must forms panic with New's error, which names the field and the
// value, and return what New would when the configuration is good.
func TestMustForms(t *testing.T) {
	tests := []struct {
		name string
		call func() any
		want string // in the panic; "" when it must not panic
	}{
		{"MustNew", func() any { return MustNew(Config{Limit: PerSecond(5)}) }, ""},
		{"MustNew bad name", func() any { return MustNew(Config{Limit: PerSecond(5), Name: "a b"}) }, `Config.Name "a b"`},
		{"MustNewGuard", func() any { return MustNewGuard(GuardConfig{}) }, ""},
		{"MustNewGuard bad limit", func() any { return MustNewGuard(GuardConfig{LoginPerIP: Limit{Rate: -3, Period: time.Minute}}) }, "GuardConfig.LoginPerIP.Rate -3"},
		{"MustNewIdentifier", func() any { return MustNewIdentifier(IdentityConfig{}) }, ""},
		{"MustNewIdentifier short secret", func() any { return MustNewIdentifier(IdentityConfig{Secret: []byte("short")}) }, "IdentityConfig.Secret is 5 bytes"},
		{"MustParseLimit", func() any { return MustParseLimit("10/s") }, ""},
		{"MustParseLimit bad", func() any { return MustParseLimit("10/fortnight") }, `"10/fortnight"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				err, _ := r.(error)
				switch {
				case tt.want == "" && r != nil:
					t.Fatalf("panicked: %v", r)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Fatalf("recovered %v, want an error containing %q", r, tt.want)
				}
			}()
			if v := tt.call(); v == nil || tt.want != "" {
				t.Fatalf("returned %v", v)
			}
		})
	}
}
