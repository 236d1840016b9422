package dpop

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/dpoptest"
)

// TestNonce checks the server nonce: required when configured, the current
// and the previous step's accepted (the latter with NextNonce), anything
// else answered use_dpop_nonce with the current nonce; and two Verifiers
// with one secret agree.
func TestNonce(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	now := t0
	v1 := newVerifier(t, Config{NonceSecret: secret, NonceStep: time.Minute}, &now)
	v2 := newVerifier(t, Config{NonceSecret: secret, NonceStep: time.Minute}, &now)
	other := newVerifier(t, Config{NonceSecret: []byte(strings.Repeat("o", 32)), NonceStep: time.Minute}, &now)

	at := func(d time.Duration) string { // v1's nonce d from now
		saved := now
		now = now.Add(d)
		defer func() { now = saved }()
		return v1.Nonce()
	}
	cur := v1.Nonce()
	if cur == "" || len(cur) != nonceLen || v2.Nonce() != cur || other.Nonce() == cur {
		t.Fatalf("nonces %q %q %q", cur, v2.Nonce(), other.Nonce())
	}
	forged := []byte(cur)
	forged[len(forged)-1] ^= 1 // the MAC's last bits
	counterOnly := cur[:11] + strings.Repeat("A", nonceLen-11)
	tests := []struct {
		name string
		v    *Verifier
		opts []dpoptest.Option
		want string
		next string
	}{
		{"current", v1, []dpoptest.Option{dpoptest.Nonce(cur)}, "", ""},
		{"current, on another Verifier", v2, []dpoptest.Option{dpoptest.Nonce(cur)}, "", ""},
		{"previous step, with NextNonce", v1, []dpoptest.Option{dpoptest.Nonce(at(-time.Minute))}, "", cur},
		{"previous step, on another Verifier", v2, []dpoptest.Option{dpoptest.Nonce(at(-time.Minute))}, "", cur},
		{"missing", v1, nil, ReasonNonceMissing, ""},
		{"empty", v1, []dpoptest.Option{dpoptest.Nonce("")}, ReasonNonceMissing, ""},
		{"not a string", v1, []dpoptest.Option{dpoptest.Claim("nonce", "1")}, ReasonClaimsInvalid, ""},
		{"stale: two steps back", v1, []dpoptest.Option{dpoptest.Nonce(at(-2 * time.Minute))}, ReasonNonceStale, ""},
		{"stale: a day back", v1, []dpoptest.Option{dpoptest.Nonce(at(-24 * time.Hour))}, ReasonNonceStale, ""},
		{"next step (forged or a clock ahead)", v1, []dpoptest.Option{dpoptest.Nonce(at(time.Minute))}, ReasonNonceInvalid, ""},
		{"forged MAC", v1, []dpoptest.Option{dpoptest.Nonce(string(forged))}, ReasonNonceInvalid, ""},
		{"counter without MAC", v1, []dpoptest.Option{dpoptest.Nonce(counterOnly)}, ReasonNonceInvalid, ""},
		{"another secret's", other, []dpoptest.Option{dpoptest.Nonce(cur)}, ReasonNonceInvalid, ""},
		{"too long", v1, []dpoptest.Option{dpoptest.Nonce(cur + "A")}, ReasonNonceInvalid, ""},
		{"not base64url", v1, []dpoptest.Option{dpoptest.Nonce(strings.Repeat("*", nonceLen))}, ReasonNonceInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.v.Verify(request("GET", testHTU, proof(tt.opts...)), testToken)
			if got := reasonOf(t, err); got != tt.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.want)
			}
			if tt.want == "" {
				if p.NextNonce != tt.next {
					t.Fatalf("NextNonce %q, want %q", p.NextNonce, tt.next)
				}
				return
			}
			var e *Error
			errors.As(err, &e)
			if tt.want == ReasonClaimsInvalid {
				return
			}
			if e.Code != CodeUseNonce || e.Status != 401 || e.Nonce != tt.v.Nonce() || e.Nonce == "" {
				t.Fatalf("refusal %+v, want use_dpop_nonce with the current nonce", e)
			}
		})
	}
}

// TestNonceRotation follows one client across a step boundary on two
// instances: the nonce of step n is accepted during step n+1 with the new
// one in NextNonce, and refused (use_dpop_nonce) in step n+2.
func TestNonceRotation(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	now := t0
	a := newVerifier(t, Config{NonceSecret: secret, NonceStep: time.Minute}, &now)
	b := newVerifier(t, Config{NonceSecret: secret, NonceStep: time.Minute}, &now)
	n0 := a.Nonce()
	now = now.Add(time.Minute)
	p, err := b.Verify(request("GET", testHTU, proof(dpoptest.Nonce(n0), dpoptest.IssuedAt(now))), testToken)
	if err != nil {
		t.Fatal(err)
	}
	if n1 := b.Nonce(); p.NextNonce != n1 || n1 == n0 || a.Nonce() != n1 {
		t.Fatalf("NextNonce %q, nonces %q %q", p.NextNonce, n1, a.Nonce())
	}
	now = now.Add(time.Minute)
	_, err = a.Verify(request("GET", testHTU, proof(dpoptest.Nonce(n0), dpoptest.IssuedAt(now))), testToken)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUseNonce || e.Reason != ReasonNonceStale || e.Nonce != b.Nonce() {
		t.Fatalf("two steps on: %v", err)
	}
}

// TestNonceOff checks that without NonceSecret there is no nonce and a
// proof's nonce is ignored.
func TestNonceOff(t *testing.T) {
	v := newVerifier(t, Config{}, nil)
	if v.Nonce() != "" {
		t.Fatal("a nonce without NonceSecret")
	}
	if _, err := v.Verify(request("GET", testHTU, proof(dpoptest.Nonce("anything"))), testToken); err != nil {
		t.Fatal(err)
	}
}

func TestNonceBeforeEpoch(t *testing.T) {
	ns := newNonces([]byte(strings.Repeat("k", 32)), time.Minute)
	if n := ns.counter(time.Unix(-1, 0)); n != -1 {
		t.Fatalf("counter of -1 s = %d, want -1", n)
	}
	if n := ns.counter(time.Unix(59, 0)); n != 0 {
		t.Fatalf("counter of 59 s = %d, want 0", n)
	}
}
