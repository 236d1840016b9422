package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// limitRecorder keeps the LimitChecks it is told of.
type limitRecorder struct {
	auditlog.NopObserver
	got []auditlog.LimitCheck
}

func (o *limitRecorder) LimitChecked(_ context.Context, d auditlog.LimitCheck) {
	o.got = append(o.got, d)
}

// brokenGuardStore fails every call.
type brokenGuardStore struct{}

var errBroken = errors.New("store down")

func (brokenGuardStore) Fail(context.Context, [32]byte, Limit, Lockout, time.Time) (time.Duration, error) {
	return 0, errBroken
}
func (brokenGuardStore) Locked(context.Context, [32]byte, time.Time) (time.Duration, error) {
	return 0, errBroken
}
func (brokenGuardStore) Reset(context.Context, [32]byte) error { return errBroken }

func TestLimiterObserver(t *testing.T) {
	obs := &limitRecorder{}
	l := MustNew(Config{Name: "api", Limit: PerMinute(1), IPLimit: PerMinute(100), Observer: obs})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for range 2 {
		if _, err := l.Check(r); err != nil {
			t.Fatal(err)
		}
	}
	want := []auditlog.LimitCheck{
		// The IP group's ceiling has more left: the client's decision.
		{Kind: auditlog.LimitRate, Policy: "api", Allowed: true, Limit: 1, Period: time.Minute, Remaining: 0},
		{Kind: auditlog.LimitRate, Policy: "api", Allowed: false, Limit: 1, Period: time.Minute, Remaining: 0},
	}
	if len(obs.got) != 2 || obs.got[0] != want[0] || obs.got[1].Allowed || obs.got[1].RetryAfter <= 0 || obs.got[1].Policy != "api" {
		t.Errorf("observed %+v, want %+v (the second with a RetryAfter)", obs.got, want)
	}
}

// TestGuardObserverFollowsFailSetting: on a store error the observed
// decision is the one CheckLogin and CheckToken return.
func TestGuardObserverFollowsFailSetting(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/auth/login", nil)
	for _, c := range []struct {
		name                        string
		loginFailOpen, tokenFailCls bool
	}{
		{"defaults", false, false},
		{"login open, token closed", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs := &limitRecorder{}
			g := MustNewGuard(GuardConfig{Store: brokenGuardStore{}, Observer: obs, LoginFailOpen: c.loginFailOpen, TokenFailClosed: c.tokenFailCls})
			_, loginLocked, _ := g.CheckLogin(r, "alice")
			_, tokenLocked, _ := g.CheckToken(r)
			if len(obs.got) != 2 {
				t.Fatalf("observed %d decisions, want 2", len(obs.got))
			}
			for i, locked := range []bool{loginLocked, tokenLocked} {
				d := obs.got[i]
				if d.Kind != auditlog.LimitLockout || d.Policy != []string{"login", "token"}[i] || !d.StoreError || d.Allowed == locked {
					t.Errorf("observed %+v; the guard answered locked=%v", d, locked)
				}
			}
		})
	}
}
