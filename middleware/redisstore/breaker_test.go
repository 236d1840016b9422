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

// refusedCalls is how many calls each test makes while the breaker is open.
const refusedCalls = 50

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
				if err := op.run(ctx, rt, tok, fam.ID); err != nil {
					t.Fatalf("Redis up: %v", err)
				}
				s.Stop()
				if disabled {
					before := dials.N()
					for range 3 {
						if err := op.run(ctx, rt, tok, fam.ID); !errors.Is(err, token.ErrStoreUnavailable) || errors.Is(err, redisstore.ErrCircuitOpen) {
							t.Fatalf("Redis down, no breaker: %v", err)
						}
					}
					if dials.N() == before {
						t.Fatal("calls without a breaker did not dial: the count measures nothing")
					}
					return
				}
				opened := false
				for i := 0; i < 10 && !opened; i++ {
					if err := op.run(ctx, rt, tok, fam.ID); !errors.Is(err, token.ErrStoreUnavailable) {
						t.Fatalf("Redis down: %v, want ErrStoreUnavailable", err)
					}
					opened = drv.Opened()
				}
				if !opened {
					t.Fatal("breaker not open after 10 refused calls")
				}
				before := dials.N()
				for range refusedCalls {
					err := op.run(ctx, rt, tok, fam.ID)
					if !errors.Is(err, token.ErrStoreUnavailable) || !errors.Is(err, redisstore.ErrCircuitOpen) {
						t.Fatalf("breaker open: %v, want ErrStoreUnavailable wrapping ErrCircuitOpen", err)
					}
				}
				if n := dials.N() - before; n != 0 {
					t.Fatalf("breaker open: %d calls dialled %d times, want 0", refusedCalls, n)
				}
				s.Restart()
				drv.AwaitClosed(ctx, t)
				if _, _, err := rt.Start(ctx, "bob", nil); err != nil { // Redis restarted empty: a new family
					t.Fatalf("after the probe closed the breaker: %v", err)
				}
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
			if err := w.run(ctx, l, 0); err != nil {
				t.Fatal(err)
			}
			s.Stop()
			opened := false
			for i := 1; i < 10 && !opened; i++ {
				if err := w.run(ctx, l, i); err == nil {
					t.Fatal("Redis down: a write succeeded")
				}
				opened = drv.Opened()
			}
			if !opened {
				t.Fatal("breaker not open after 10 refused writes")
			}
			before := evals.n.Load()
			for i := range refusedCalls {
				if err := w.run(ctx, l, i); !errors.Is(err, redisstore.ErrCircuitOpen) {
					t.Fatalf("breaker open: %v, want ErrCircuitOpen", err)
				}
			}
			if n := evals.n.Load() - before; n != 0 {
				t.Fatalf("breaker open: %d writes sent %d scripts, want 0", refusedCalls, n)
			}
			if n := audit.count(func(d, r string) bool { return r == redisstore.ReasonWrites && d == redisstore.DetailWritesFailFast }); n != 1 {
				t.Fatalf("%d fail-fast events, want 1", n)
			}
			s.Restart()
			drv.AwaitClosed(ctx, t)
			if err := w.run(ctx, l, 27); err != nil {
				t.Fatalf("after the probe closed the breaker: %v", err)
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
