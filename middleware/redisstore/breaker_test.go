package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/breaker/breakertest"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

// While Redis is down and the refresh store's breaker open, every call
// fails with token.ErrStoreUnavailable (wrapping ErrCircuitOpen) without a
// single dial; a probe after the restart closes it and calls succeed again.
// Without the breaker the same calls dial: the row that proves the count
// measures what the breaker removes.
func TestRefreshBreaker(t *testing.T) {
	ops := []struct {
		name string
		run  func(ctx context.Context, rt *token.RefreshTokens, tok, fam string) error
	}{
		{"Start", func(ctx context.Context, rt *token.RefreshTokens, _, _ string) error {
			_, _, err := rt.Start(ctx, "alice", []string{"user"})
			return err
		}},
		{"Rotate", func(ctx context.Context, rt *token.RefreshTokens, tok, _ string) error {
			_, _, err := rt.Rotate(ctx, tok)
			if errors.Is(err, token.ErrInvalidGrant) {
				return nil // spent by an earlier row of this test: Redis answered
			}
			return err
		}},
		{"RevokeFamily", func(ctx context.Context, rt *token.RefreshTokens, _, fam string) error {
			return rt.RevokeFamily(ctx, fam)
		}},
	}
	for _, op := range ops {
		for _, disabled := range []bool{false, true} {
			t.Run(op.name+map[bool]string{false: "/breaker", true: "/no breaker"}[disabled], func(t *testing.T) {
				s := redistest.Start(t)
				ctx := redistest.Context(t, 30*time.Second)
				var dials breakertest.Dials
				drv := breakertest.NewDriver()
				c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, Dialer: dials.Dialer})
				t.Cleanup(func() { _ = c.Close() })
				st, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{
					Breaker: redisstore.BreakerOptions{Disabled: disabled, After: drv.After, OnChange: drv.OnChange}})
				if err != nil {
					t.Fatal(err)
				}
				rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: st})
				if err != nil {
					t.Fatal(err)
				}
				tok, fam, err := rt.Start(ctx, "alice", nil)
				if err != nil {
					t.Fatal(err)
				}
				breakertest.FailFast(ctx, t, s, drv, disabled, dials.N,
					func(err error) bool {
						return errors.Is(err, token.ErrStoreUnavailable) && errors.Is(err, redisstore.ErrCircuitOpen)
					},
					func() error { return op.run(ctx, rt, tok, fam.ID) })
			})
		}
	}
}

// evalCount counts the scripts a client sends (the revocation writes).
// The list's subscription goroutine dials on its own while Redis is down,
// so for the list the commands sent, not the dials, show that a refused
// write never reaches the network.
type evalCount struct{ n atomic.Int64 }

func (h *evalCount) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *evalCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := strings.ToLower(cmd.Name()); n == "eval" || n == "evalsha" {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (h *evalCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// The revocation list's writes: once the breaker is open a revocation is
// kept in the replica and fails at once (no script sent); each transition
// is one audit event; after the restart a probe closes it and writes
// reach Redis again.
func TestRevocationWriteBreaker(t *testing.T) {
	writes := []struct {
		name string
		run  func(ctx context.Context, l *redisstore.RevocationList, i int) error
	}{
		{"RevokeToken", func(ctx context.Context, l *redisstore.RevocationList, i int) error {
			return l.RevokeToken(ctx, iss, "jti-"+string(rune('a'+i%26)), time.Now().Add(time.Hour))
		}},
		{"RevokeSession", func(ctx context.Context, l *redisstore.RevocationList, i int) error {
			return l.RevokeSession(ctx, iss, "sid-"+string(rune('a'+i%26)), time.Now().Add(time.Hour))
		}},
		{"RevokeSubject", func(ctx context.Context, l *redisstore.RevocationList, i int) error {
			return l.RevokeSubject(ctx, iss, "sub-"+string(rune('a'+i%26)), time.Now(), time.Now().Add(time.Hour))
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			s := redistest.Start(t)
			ctx := redistest.Context(t, 30*time.Second)
			c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
			t.Cleanup(func() { _ = c.Close() })
			evals := &evalCount{}
			c.AddHook(evals)
			drv := breakertest.NewDriver()
			audit := &syncBuffer{}
			l := newList(t, c, redisstore.RevocationOptions{Audit: auditlog.New(audit, auditlog.Options{}),
				Breaker: redisstore.BreakerOptions{After: drv.After, OnChange: drv.OnChange}})
			i := 0
			breakertest.FailFast(ctx, t, s, drv, false, evals.n.Load,
				func(err error) bool { return errors.Is(err, redisstore.ErrCircuitOpen) },
				func() error { i++; return w.run(ctx, l, i) })
			if n := audit.count(func(d, r string) bool { return r == redisstore.ReasonWrites && d == redisstore.DetailWritesFailFast }); n != 1 {
				t.Fatalf("%d fail-fast events, want 1", n)
			}
			if n := audit.count(func(d, r string) bool { return r == redisstore.ReasonWrites && d == redisstore.DetailWritesResumed }); n != 1 {
				t.Fatalf("%d resumed events, want 1", n)
			}
		})
	}
}

// TestOutageLatency measures (APIGUARD_MEASURE=1) the latency of refresh
// rotations during a Redis outage, after its first second, with and
// without the breaker, on a client with go-redis's default retries. A
// rotation Redis answers (invalid_grant once the restart emptied it)
// counts as served.
func TestOutageLatency(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		t.Run(map[bool]string{false: "breaker", true: "no breaker"}[disabled], func(t *testing.T) {
			s := redistest.Start(t)
			c := redis.NewClient(&redis.Options{Addr: s.Addr})
			t.Cleanup(func() { _ = c.Close() })
			st, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{Breaker: redisstore.BreakerOptions{Disabled: disabled}})
			if err != nil {
				t.Fatal(err)
			}
			rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			f := breakertest.MeasureOutage(t, s, 8, 2*time.Second, func(ctx context.Context) error {
				tok, _, err := rt.Start(ctx, "alice", nil)
				if err != nil {
					_, _, err = rt.Rotate(ctx, "not-a-token-but-looked-up-all-the-same-0000000000")
				} else {
					_, _, err = rt.Rotate(ctx, tok)
				}
				if errors.Is(err, token.ErrInvalidGrant) {
					return nil
				}
				return err
			})
			t.Logf("refresh Start+Rotate, outage after its first second: %d calls, p50 %v, p99 %v; first second p99 %v; first success %v after the restart",
				f.Calls, f.P50, f.P99, f.FirstSecond, f.Recovery)
		})
	}
}
