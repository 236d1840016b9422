package redisstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/breaker/breakertest"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/ratelimit"
	"github.com/redis/go-redis/v9"
)

// While Redis is down and the breaker open, every store call fails with
// ErrCircuitOpen without a single dial; a probe after the restart closes it
// and calls succeed again. Without the breaker (Disabled) the same calls
// dial, which is what makes them slow: this row proves the count measures
// (see breakertest.FailFast).
func TestBreaker(t *testing.T) {
	lim := ratelimit.Limit{Rate: 100, Period: time.Hour}
	lock := ratelimit.Lockout{Base: time.Minute, Max: time.Hour, Memory: time.Hour}
	ops := []struct {
		name string
		run  func(ctx context.Context, l *LimiterStore, g *GuardStore) error
	}{
		{"limiter Allow", func(ctx context.Context, l *LimiterStore, _ *GuardStore) error {
			_, err := l.Allow(ctx, testKey(1), lim, t0, 1)
			return err
		}},
		{"guard Fail", func(ctx context.Context, _ *LimiterStore, g *GuardStore) error {
			_, err := g.Fail(ctx, testKey(2), lim, lock, t0)
			return err
		}},
		{"guard Locked", func(ctx context.Context, _ *LimiterStore, g *GuardStore) error {
			_, err := g.Locked(ctx, testKey(3), t0)
			return err
		}},
		{"guard Reset", func(ctx context.Context, _ *LimiterStore, g *GuardStore) error {
			return g.Reset(ctx, testKey(4))
		}},
	}
	for _, op := range ops {
		for _, disabled := range []bool{false, true} {
			name := op.name + map[bool]string{false: "/breaker", true: "/no breaker"}[disabled]
			t.Run(name, func(t *testing.T) {
				s := redistest.Start(t)
				ctx := redistest.Context(t, 30*time.Second)
				var dials breakertest.Dials
				drv := breakertest.NewDriver()
				c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, Dialer: dials.Dialer})
				t.Cleanup(func() { _ = c.Close() })
				o := Options{Prefix: "test", Breaker: BreakerOptions{Disabled: disabled, After: drv.After, OnChange: drv.OnChange}}
				l, err := NewLimiterStore(c, o)
				if err != nil {
					t.Fatal(err)
				}
				g, err := NewGuardStore(c, o)
				if err != nil {
					t.Fatal(err)
				}
				breakertest.FailFast(ctx, t, s, drv, disabled, dials.N,
					func(err error) bool { return errors.Is(err, ErrCircuitOpen) },
					func() error { return op.run(ctx, l, g) })
			})
		}
	}
}

// A script error and NOSCRIPT are replies: Redis is up, and no number of
// them opens the breaker.
func TestBreakerIgnoresReplies(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 10*time.Second)
	c := newRedis(t, s)
	drv := breakertest.NewDriver()
	st, err := NewLimiterStore(c, Options{Breaker: BreakerOptions{Threshold: 1, After: drv.After, OnChange: drv.OnChange}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Command("SET", key(DefaultPrefix, "rl", &[32]byte{9}), "not a number"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		// tonumber("not a number") is nil: the script runs; WRONGTYPE from a hash is an error reply
		if _, err := s.Command("DEL", key(DefaultPrefix, "rl", &[32]byte{8})); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Command("HSET", key(DefaultPrefix, "rl", &[32]byte{8}), "a", "b"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Allow(ctx, [32]byte{8}, ratelimit.Limit{Rate: 1, Period: time.Second}, t0, 1); err == nil {
			t.Fatal("a script over a hash succeeded")
		}
		if _, err := s.Command("SCRIPT", "FLUSH"); err != nil { // the next call meets NOSCRIPT first
			t.Fatal(err)
		}
	}
	if drv.Opened() || st.br.Open() {
		t.Fatal("error replies opened the breaker")
	}
}

// TestOutageLatency measures (APIGUARD_MEASURE=1) the latency of limiter
// calls during a Redis outage, after its first second and within it, with
// and without the breaker, on a client with go-redis's defaults and on one
// with the bounded waits of the example server (boundRedisWaits).
func TestOutageLatency(t *testing.T) {
	lim := ratelimit.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1 << 30}
	bounded := func(o *redis.Options) {
		o.DialTimeout, o.DialerRetries, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = 500*time.Millisecond, 1, 500*time.Millisecond, 500*time.Millisecond, 1
	}
	for _, tt := range []struct {
		name     string
		disabled bool
		opts     func(*redis.Options)
	}{
		{"breaker, go-redis defaults", false, func(*redis.Options) {}},
		{"no breaker, go-redis defaults", true, func(*redis.Options) {}},
		{"breaker, bounded waits", false, bounded},
		{"no breaker, bounded waits", true, bounded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := redistest.Start(t)
			o := &redis.Options{Addr: s.Addr}
			tt.opts(o)
			c := redis.NewClient(o)
			t.Cleanup(func() { _ = c.Close() })
			st, err := NewLimiterStore(c, Options{Breaker: BreakerOptions{Disabled: tt.disabled}})
			if err != nil {
				t.Fatal(err)
			}
			var i atomic.Uint64
			f := breakertest.MeasureOutage(t, s, 8, 2*time.Second, func(ctx context.Context) error {
				_, err := st.Allow(ctx, testKey(i.Add(1)&1023), lim, t0, 1)
				return err
			})
			t.Logf("limiter Allow, outage after its first second: %d calls, p50 %v, p99 %v; first second p99 %v; first success %v after the restart",
				f.Calls, f.P50, f.P99, f.FirstSecond, f.Recovery)
		})
	}
}
