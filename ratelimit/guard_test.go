package ratelimit

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

func newGuard(t testing.TB, c GuardConfig) (*Guard, *clock, *bytes.Buffer) {
	t.Helper()
	clk := &clock{t0}
	var buf bytes.Buffer
	if c.Identifier == nil {
		c.Identifier = mustIdentifier(t, IdentityConfig{})
	}
	c.Now = clk.Now
	c.Audit = auditlog.New(&buf, auditlog.Options{})
	g, err := NewGuard(c)
	if err != nil {
		t.Fatal(err)
	}
	return g, clk, &buf
}

func locked(t *testing.T, g *Guard, r *http.Request, account string) (time.Duration, bool) {
	t.Helper()
	d, l, err := g.CheckLogin(r, account)
	if err != nil {
		t.Fatal(err)
	}
	return d, l
}

func TestNewGuardErrors(t *testing.T) {
	tests := []struct {
		name string
		c    GuardConfig
		want string
	}{
		{"bad limit", GuardConfig{LoginPerIP: Limit{Rate: -1, Period: time.Minute}}, "LoginPerIP"},
		{"max below base", GuardConfig{LockoutBase: time.Hour, LockoutMax: time.Minute}, "LockoutMax 1m0s"},
		{"tiny base", GuardConfig{LockoutBase: time.Nanosecond}, "LockoutBase 1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGuard(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %s", err, tt.want)
			}
		})
	}
}

// Five wrong passwords lock the client out for 15 minutes (default), before
// the sixth password is even checked.
func TestGuardLoginLockout(t *testing.T) {
	g, clk, audit := newGuard(t, GuardConfig{})
	r := newReq("192.0.2.1:1", "ua")
	for i := 1; i <= 5; i++ {
		if _, l := locked(t, g, r, "alice"); l {
			t.Fatalf("locked before failure %d", i)
		}
		if err := g.LoginFailed(r, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	d, l := locked(t, g, r, "alice")
	if !l || d != 15*time.Minute {
		t.Fatalf("after 5 failures: locked=%v for %v, want 15m", l, d)
	}
	if !strings.Contains(audit.String(), `"event":"lockout"`) || !strings.Contains(audit.String(), `"reason":"login_client"`) {
		t.Fatalf("no lockout event:\n%s", audit)
	}
	if strings.Contains(audit.String(), "alice") {
		t.Fatal("the account name reached the audit log")
	}
	// a locked client is locked for every account
	if _, l := locked(t, g, r, "bob"); !l {
		t.Fatal("the lockout applies only to one account")
	}
	clk.t = clk.t.Add(15 * time.Minute)
	if _, l := locked(t, g, r, "alice"); l {
		t.Fatal("still locked after the lockout ended")
	}
}

func TestGuardProgressiveLockout(t *testing.T) {
	g, clk, _ := newGuard(t, GuardConfig{LockoutMax: 2 * time.Hour})
	r := newReq("192.0.2.1:1", "ua")
	for _, want := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 2 * time.Hour} {
		for i := 0; i < 5; i++ {
			_ = g.LoginFailed(r, "alice")
		}
		d, l := locked(t, g, r, "alice")
		if !l || d != want {
			t.Fatalf("lockout %v, want %v", d, want)
		}
		clk.t = clk.t.Add(d)
	}
	// offences are forgotten after LockoutMemory (24h) without one
	clk.t = clk.t.Add(25 * time.Hour)
	for i := 0; i < 5; i++ {
		_ = g.LoginFailed(r, "alice")
	}
	if d, _ := locked(t, g, r, "alice"); d != 15*time.Minute {
		t.Fatalf("after a quiet day the lockout is %v, want 15m again", d)
	}
}

func TestGuardSuccessResets(t *testing.T) {
	g, _, _ := newGuard(t, GuardConfig{})
	r := newReq("192.0.2.1:1", "ua")
	for i := 0; i < 4; i++ {
		_ = g.LoginFailed(r, "alice")
	}
	if err := g.LoginSucceeded(r, "alice"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		_ = g.LoginFailed(r, "alice")
	}
	if _, l := locked(t, g, r, "alice"); l {
		t.Fatal("failures before a success still counted")
	}
	_ = g.LoginFailed(r, "alice")
	if _, l := locked(t, g, r, "alice"); !l {
		t.Fatal("fifth failure after the reset did not lock")
	}
}

// Changing the User-Agent makes a new client key, but the per-IP threshold
// (30 by default) still stops the address.
func TestGuardRotatingUserAgent(t *testing.T) {
	g, _, audit := newGuard(t, GuardConfig{})
	for i := 0; i < 30; i++ {
		r := newReq("192.0.2.1:1", "agent-"+strconv.Itoa(i))
		if _, l := locked(t, g, r, "user"+strconv.Itoa(i)); l {
			t.Fatalf("locked after %d failures from fresh agents", i)
		}
		_ = g.LoginFailed(r, "user"+strconv.Itoa(i))
	}
	if _, l := locked(t, g, newReq("192.0.2.1:1", "agent-new"), "someone"); !l {
		t.Fatal("a rotating User-Agent escaped the per-IP threshold")
	}
	if !strings.Contains(audit.String(), `"reason":"login_ip"`) {
		t.Fatalf("no per-IP lockout event:\n%s", audit)
	}
	if _, l := locked(t, g, newReq("192.0.2.2:1", "agent-new"), "someone"); l {
		t.Fatal("another IP was locked")
	}
}

// Credential stuffing: one account attacked from many addresses is locked
// at 50 failures, for every address.
func TestGuardPerAccountAcrossIPs(t *testing.T) {
	g, _, audit := newGuard(t, GuardConfig{})
	for i := 0; i < 50; i++ {
		r := newReq("198.51.100."+strconv.Itoa(i)+":1", "ua")
		if _, l := locked(t, g, r, "alice"); l {
			t.Fatalf("account locked after %d failures", i)
		}
		_ = g.LoginFailed(r, "alice")
	}
	if _, l := locked(t, g, newReq("203.0.113.1:1", "ua"), "alice"); !l {
		t.Fatal("the account was not locked after 50 failures from 50 addresses")
	}
	if _, l := locked(t, g, newReq("203.0.113.1:1", "ua"), "bob"); l {
		t.Fatal("another account was locked")
	}
	if !strings.Contains(audit.String(), `"reason":"login_account"`) {
		t.Fatalf("no per-account lockout event:\n%s", audit)
	}
}

// Invalid tokens: 20 per client lock the client out of token routes, which
// then answer 429 before any token is looked at.
func TestGuardTokenHandler(t *testing.T) {
	g, clk, _ := newGuard(t, GuardConfig{})
	reached := 0
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }))
	r := newReq("192.0.2.1:1", "ua")
	for i := 0; i < 20; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			t.Fatalf("refused after %d invalid tokens", i)
		}
		g.TokenFailed(r)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "900" || reached != 20 {
		t.Fatalf("locked client: %d Retry-After %q, handler reached %d times", rec.Code, rec.Header().Get("Retry-After"), reached)
	}
	if !strings.Contains(rec.Body.String(), `"rate_limited"`) {
		t.Fatalf("body %q", rec.Body.String())
	}
	clk.t = clk.t.Add(15 * time.Minute)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatal("still locked after the lockout")
	}
}
