package redisstore

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/breaker/breakertest"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/ratelimit"
	"github.com/redis/go-redis/v9"
)

func newRedis(t testing.TB, s *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, PoolSize: 64, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newLimiterStore(t testing.TB, c redis.UniversalClient) *LimiterStore {
	t.Helper()
	st, err := NewLimiterStore(c, Options{Prefix: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestNewErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	newGuard := func(c redis.UniversalClient, o Options) error { _, err := NewGuardStore(c, o); return err }
	newLimiter := func(c redis.UniversalClient, o Options) error { _, err := NewLimiterStore(c, o); return err }
	tests := []struct {
		name string
		new  func(redis.UniversalClient, Options) error
		c    redis.UniversalClient
		o    Options
		want string
	}{
		{"limiter nil client", newLimiter, nil, Options{}, "NewLimiterStore: client is nil"},
		{"guard nil client", newGuard, nil, Options{}, "NewGuardStore: client is nil"},
		{"limiter braces", newLimiter, c, Options{Prefix: "a{b}"}, `Options.Prefix "a{b}"`},
		{"guard braces", newGuard, c, Options{Prefix: "}"}, `Options.Prefix "}"`},
		{"limiter negative breaker", newLimiter, c, Options{Breaker: BreakerOptions{Threshold: -1}}, "NewLimiterStore: Options.Breaker: Threshold"},
		{"guard negative breaker", newGuard, c, Options{Breaker: BreakerOptions{Window: -1}}, "NewGuardStore: Options.Breaker: Threshold, Window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.new(tt.c, tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestKeyHashTag(t *testing.T) {
	k := key("p", "rl", &[32]byte{0xab})
	if !strings.HasPrefix(k, "{p:rl:ab00") || !strings.HasSuffix(k, "}") || len(k) != len("{p:rl:}")+64 {
		t.Fatalf("key %q", k)
	}
}

func TestRedisBasic(t *testing.T) {
	s := redistest.Start(t)
	st := newLimiterStore(t, newRedis(t, s))
	ctx := redistest.Context(t, 10*time.Second)
	l := ratelimit.Limit{Rate: 3, Period: time.Hour}
	for i, want := range []struct {
		allowed   bool
		remaining int
	}{{true, 2}, {true, 1}, {true, 0}, {false, 0}} {
		d, err := st.Allow(ctx, testKey(1), l, time.Now(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != want.allowed || d.Remaining != want.remaining {
			t.Fatalf("request %d: %+v", i, d)
		}
		if !d.Allowed && (d.RetryAfter <= 19*time.Minute || d.RetryAfter > 20*time.Minute) {
			t.Fatalf("RetryAfter %v, want just under 20m", d.RetryAfter)
		}
	}
	// the key expires with its state
	ttl, err := s.Command("PTTL", key("test", "rl", &[32]byte{}))
	if err != nil || ttl != ":-2" {
		t.Fatalf("unused key has PTTL %q %v", ttl, err)
	}
	k := testKey(1)
	ttl, err = s.Command("PTTL", key("test", "rl", &k))
	if err != nil || !strings.HasPrefix(ttl, ":") || ttl == ":-1" {
		t.Fatalf("key has no expiry: %q %v", ttl, err)
	}
}

// One round trip per decision: one EVALSHA (after the first EVAL loads the
// script), nothing else, counted by the client and by Redis.
func TestRedisOneRoundTrip(t *testing.T) {
	s := redistest.Start(t)
	c := newRedis(t, s)
	sent := &countHook{}
	c.AddHook(sent)
	st := newLimiterStore(t, c)
	ctx := redistest.Context(t, 10*time.Second)
	l := ratelimit.Limit{Rate: 1000, Period: time.Second}
	if _, err := st.Allow(ctx, testKey(1), l, time.Now(), 1); err != nil { // loads the script
		t.Fatal(err)
	}
	sent.n.Store(0)
	before, _ := s.CommandCalls("evalsha")
	for i := 0; i < 50; i++ {
		if _, err := st.Allow(ctx, testKey(1), l, time.Now(), 1); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := s.CommandCalls("evalsha")
	if n := sent.n.Load(); n != 50 {
		t.Fatalf("50 decisions sent %d commands", n)
	}
	if after-before != 50 {
		t.Fatalf("Redis ran %d EVALSHA for 50 decisions", after-before)
	}
}

type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func TestRedisConcurrentExact(t *testing.T) {
	s := redistest.Start(t)
	st := newLimiterStore(t, newRedis(t, s))
	// one request per 864s: no unit can come back while the test runs
	if got := concurrentExact(t, st, ratelimit.Limit{Rate: 100, Period: 24 * time.Hour}); got != 100 {
		t.Fatalf("1,000 goroutines got %d allowed, want exactly 100", got)
	}
}

// Two stores on two clients (two instances) share one budget.
func TestRedisSharedBudget(t *testing.T) {
	s := redistest.Start(t)
	a, b := newLimiterStore(t, newRedis(t, s)), newLimiterStore(t, newRedis(t, s))
	id := mustIdentifier(t, ratelimit.IdentityConfig{})
	la := newLimiter(t, ratelimit.Config{Store: a, Identifier: id, Limit: ratelimit.Limit{Rate: 10, Period: 24 * time.Hour}})
	lb := newLimiter(t, ratelimit.Config{Store: b, Identifier: id, Limit: ratelimit.Limit{Rate: 10, Period: 24 * time.Hour}})
	allowed := 0
	for i := 0; i < 20; i++ {
		l := la
		if i%2 == 1 {
			l = lb
		}
		rec := httptest.NewRecorder()
		l.Handler(okHandler).ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		if rec.Code == 200 {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("two instances allowed %d, want 10 in total", allowed)
	}
}

// Redis stopped mid-test: the middleware follows its fail setting and logs
// the switch once, and the recovery once, the store's breaker opening and
// closing in between.
func TestRedisStoppedMidTest(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run(map[bool]string{false: "open", true: "closed"}[closed], func(t *testing.T) {
			s := redistest.Start(t)
			var buf bytes.Buffer
			drv := breakertest.NewDriver()
			st, err := NewLimiterStore(newRedis(t, s), Options{Breaker: BreakerOptions{After: drv.After, OnChange: drv.OnChange}})
			if err != nil {
				t.Fatal(err)
			}
			l := newLimiter(t, ratelimit.Config{Store: st, Limit: ratelimit.Limit{Rate: 100, Period: time.Hour}, FailClosed: closed, Audit: auditlog.New(&buf, auditlog.Options{})})
			h := l.Handler(okHandler)
			serve := func() int {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
				return rec.Code
			}
			if serve() != 200 {
				t.Fatal("first request refused")
			}
			s.Stop()
			want := 200
			if closed {
				want = 503
			}
			for i := 0; i < 5; i++ {
				if got := serve(); got != want {
					t.Fatalf("Redis down, FailClosed=%v: status %d, want %d", closed, got, want)
				}
			}
			if n := strings.Count(buf.String(), `"event":"store_unavailable"`); n != 1 {
				t.Fatalf("%d store_unavailable lines, want 1:\n%s", n, buf.String())
			}
			// the breaker opened (the refused calls above failed at once) and
			// a probe closes it after the restart
			ctx := redistest.Context(t, 10*time.Second)
			drv.AwaitOpen(ctx, t)
			s.Restart()
			drv.AwaitClosed(ctx, t)
			ok := false
			for i := 0; i < 20 && !ok; i++ {
				ok = serve() == 200 && strings.Contains(buf.String(), "recovered")
			}
			if !ok || strings.Count(buf.String(), "recovered") != 1 {
				t.Fatalf("recovery not recorded once:\n%s", buf.String())
			}
		})
	}
}

// cpu-ns/op is reported by the ratelimit package's benchmarks; here the
// round trip dominates, so wall time is the figure.
func BenchmarkLimiterStore(b *testing.B) {
	l := ratelimit.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1 << 30}
	ctx := context.Background()
	st := newLimiterStore(b, newRedis(b, redistest.Start(b)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := st.Allow(ctx, testKey(uint64(i&1023)), l, t0, 1); err != nil {
			b.Fatal(err)
		}
	}
}
