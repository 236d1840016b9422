package redisstore

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/ratelimit"
)

func newGuardStore(t testing.TB, s *redistest.Server) *GuardStore {
	t.Helper()
	st, err := NewGuardStore(newRedis(t, s), Options{Prefix: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newGuard(t testing.TB, c ratelimit.GuardConfig) (*ratelimit.Guard, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	c.Audit = auditlog.New(&buf, auditlog.Options{})
	g, err := ratelimit.NewGuard(c)
	if err != nil {
		t.Fatal(err)
	}
	return g, &buf
}

// A store failure: logins fail closed by default and the switch is recorded
// once; LoginFailOpen lets them through.
func TestGuardStoreDown(t *testing.T) {
	s := redistest.Start(t)
	st := newGuardStore(t, s)
	g, audit := newGuard(t, ratelimit.GuardConfig{Store: st})
	gOpen, _ := newGuard(t, ratelimit.GuardConfig{Store: st, LoginFailOpen: true})
	r := newReq("192.0.2.1:1", "ua")
	if _, l, err := g.CheckLogin(r, "alice"); l || err != nil {
		t.Fatalf("Redis up: locked=%v err=%v", l, err)
	}
	s.Stop()
	for i := 0; i < 3; i++ {
		if d, l, err := g.CheckLogin(r, "alice"); !l || err == nil || d != time.Second {
			t.Fatalf("Redis down, fail closed: locked=%v err=%v retry %v", l, err, d)
		}
	}
	if _, l, err := gOpen.CheckLogin(r, "alice"); l || err == nil {
		t.Fatalf("Redis down, fail open: locked=%v err=%v", l, err)
	}
	if n := strings.Count(audit.String(), `"event":"store_unavailable"`); n != 1 {
		t.Fatalf("%d store_unavailable events:\n%s", n, audit)
	}
}

// Lockout and reset shared between two guards (instances) on one Redis.
func TestGuardShared(t *testing.T) {
	s := redistest.Start(t)
	id := mustIdentifier(t, ratelimit.IdentityConfig{})
	g1, audit := newGuard(t, ratelimit.GuardConfig{Store: newGuardStore(t, s), Identifier: id, LockoutBase: 2 * time.Second})
	g2, _ := newGuard(t, ratelimit.GuardConfig{Store: newGuardStore(t, s), Identifier: id, LockoutBase: 2 * time.Second})
	r := newReq("192.0.2.1:1", "ua")
	locked := func(g *ratelimit.Guard) (time.Duration, bool) {
		t.Helper()
		d, l, err := g.CheckLogin(r, "alice")
		if err != nil {
			t.Fatal(err)
		}
		return d, l
	}
	for i := 0; i < 4; i++ {
		g := g1
		if i%2 == 1 {
			g = g2
		}
		if err := g.LoginFailed(r, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if _, l := locked(g2); l {
		t.Fatal("locked after 4 failures")
	}
	_ = g1.LoginFailed(r, "alice")
	d, l := locked(g2)
	if !l || d <= time.Second || d > 2*time.Second {
		t.Fatalf("after 5 failures on two instances: locked=%v for %v, want about 2s", l, d)
	}
	if !strings.Contains(audit.String(), `"event":"lockout"`) {
		t.Fatalf("no lockout event:\n%s", audit)
	}
	// a success resets the client key only; the lock is gone with it
	if err := g1.LoginSucceeded(r, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, l := locked(g2); l {
		t.Fatal("LoginSucceeded did not reset the client")
	}
}

// The store's own arithmetic, step by step: a lockout at the limit, no
// counting while locked, the second offence doubling, expiry on the key.
func TestGuardStoreProgression(t *testing.T) {
	s := redistest.Start(t)
	st1, st2 := newGuardStore(t, s), newGuardStore(t, s)
	k := testKey(42)
	kk := key("test", "bf", &k)
	lim := ratelimit.Limit{Rate: 1, Period: time.Hour}
	p := ratelimit.Lockout{Base: time.Minute, Max: time.Hour, Memory: time.Hour}
	steps := []struct {
		name string
		run  func() (time.Duration, error)
		want func(time.Duration) bool
	}{
		{"first failure locks for Base", func() (time.Duration, error) { return st1.Fail(t.Context(), k, lim, p, t0) },
			func(d time.Duration) bool { return d == time.Minute }},
		{"the other instance sees the lock", func() (time.Duration, error) { return st2.Locked(t.Context(), k, t0) },
			func(d time.Duration) bool { return d > 59*time.Second && d <= time.Minute }},
		{"a failure while locked starts nothing", func() (time.Duration, error) { return st1.Fail(t.Context(), k, lim, p, t0) },
			func(d time.Duration) bool { return d == 0 }},
		{"the lock ends early (rewritten)", func() (time.Duration, error) { _, err := s.Command("HSET", kk, "lock", "0"); return 0, err },
			func(time.Duration) bool { return true }},
		{"second offence doubles", func() (time.Duration, error) { return st2.Fail(t.Context(), k, lim, p, t0) },
			func(d time.Duration) bool { return d == 2*time.Minute }},
		{"reset forgets", func() (time.Duration, error) {
			if err := st1.Reset(t.Context(), k); err != nil {
				return 0, err
			}
			return st2.Locked(t.Context(), k, t0)
		}, func(d time.Duration) bool { return d == 0 }},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.run()
			if err != nil || !tt.want(d) {
				t.Fatalf("got %v, %v", d, err)
			}
		})
	}
	// a counted failure leaves a key that expires
	if _, err := st1.Fail(t.Context(), testKey(43), ratelimit.Limit{Rate: 5, Period: time.Minute}, p, t0); err != nil {
		t.Fatal(err)
	}
	k43 := testKey(43)
	if ttl, err := s.Command("PTTL", key("test", "bf", &k43)); err != nil || !strings.HasPrefix(ttl, ":") || ttl == ":-1" || ttl == ":-2" {
		t.Fatalf("guard key PTTL %q %v", ttl, err)
	}
}
