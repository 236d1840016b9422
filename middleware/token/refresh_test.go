package token_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

// refreshStores is the table every store-level behaviour runs over: the same
// assertions hold for the memory store and for the Redis store, on one
// server and on a Redis Cluster.
var refreshStores = []struct {
	name string
	new  func(t *testing.T) token.RefreshStore
}{
	{"memory", func(t *testing.T) token.RefreshStore {
		return token.NewMemoryRefreshStore(nil)
	}},
	{"redis", func(t *testing.T) token.RefreshStore {
		return redisRefreshStore(t, redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr}))
	}},
	{"redis cluster", func(t *testing.T) token.RefreshStore {
		return redisRefreshStore(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: redistest.StartCluster(t, 3).Addrs}))
	}},
}

// redisRefreshStore is a Redis refresh store on c, which closes with t.
func redisRefreshStore(t *testing.T, c redis.UniversalClient) token.RefreshStore {
	t.Helper()
	t.Cleanup(func() { _ = c.Close() })
	st, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Two DPoP key thumbprints: RFC 7638 §3.1's example and another.
const (
	jktA = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	jktB = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
)

// refreshClock is a settable clock; times are whole milliseconds, the
// precision the Redis store keeps.
type refreshClock struct{ ns atomic.Int64 }

func newRefreshClock() *refreshClock {
	c := &refreshClock{}
	c.ns.Store(time.Now().Truncate(time.Millisecond).UnixNano())
	return c
}
func (c *refreshClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *refreshClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// countingStore counts the calls that reach the store.
type countingStore struct {
	token.RefreshStore
	calls atomic.Int64
}

func (s *countingStore) Create(ctx context.Context, f token.Family, h [32]byte) error {
	s.calls.Add(1)
	return s.RefreshStore.Create(ctx, f, h)
}
func (s *countingStore) Lookup(ctx context.Context, h [32]byte, now time.Time) (token.Family, error) {
	s.calls.Add(1)
	return s.RefreshStore.Lookup(ctx, h, now)
}
func (s *countingStore) Spend(ctx context.Context, req token.SpendRequest) (token.SpendResult, error) {
	s.calls.Add(1)
	return s.RefreshStore.Spend(ctx, req)
}
func (s *countingStore) RevokeFamily(ctx context.Context, id string) error {
	s.calls.Add(1)
	return s.RefreshStore.RevokeFamily(ctx, id)
}

func newRefreshTokens(t *testing.T, st token.RefreshStore, mod func(*token.RefreshConfig)) *token.RefreshTokens {
	t.Helper()
	c := token.RefreshConfig{Store: st}
	if mod != nil {
		mod(&c)
	}
	rt, err := token.NewRefreshTokens(c)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestRefreshStores(t *testing.T) {
	ctx := context.Background()
	for _, store := range refreshStores {
		t.Run(store.name, func(t *testing.T) {
			st := store.new(t)

			t.Run("rotate twice, old tokens spent, roles kept", func(t *testing.T) {
				rt := newRefreshTokens(t, st, nil)
				t0, fam0, err := rt.Start(ctx, "alice", []string{"admin", "user"})
				if err != nil {
					t.Fatal(err)
				}
				if len(t0) != token.RefreshTokenLen {
					t.Fatalf("token length %d", len(t0))
				}
				t1, fam1, err := rt.Rotate(ctx, t0)
				if err != nil {
					t.Fatalf("first rotate: %v", err)
				}
				t2, fam2, err := rt.Rotate(ctx, t1)
				if err != nil {
					t.Fatalf("second rotate: %v", err)
				}
				if t0 == t1 || t1 == t2 || t0 == t2 {
					t.Fatal("rotation returned a token already issued")
				}
				for _, f := range []token.Family{fam1, fam2} {
					if f.ID != fam0.ID || f.Subject != "alice" || !slices.Equal(f.Roles, []string{"admin", "user"}) {
						t.Fatalf("family changed across refresh: %+v, started as %+v", f, fam0)
					}
					if !f.ExpiresAt.Equal(fam0.ExpiresAt.Truncate(time.Millisecond)) &&
						!f.ExpiresAt.Equal(fam0.ExpiresAt) {
						t.Fatalf("expiry moved: %v, was %v", f.ExpiresAt, fam0.ExpiresAt)
					}
				}
				if got := fam0.ExpiresAt.Sub(fam0.CreatedAt); got != token.DefaultFamilyTTL {
					t.Fatalf("family lifetime %v, want %v", got, token.DefaultFamilyTTL)
				}
			})

			t.Run("reuse of a spent token revokes the family", func(t *testing.T) {
				var audit bytes.Buffer
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Audit = auditlog.New(&audit, auditlog.Options{})
				})
				t0, fam, err := rt.Start(ctx, "bob", []string{"user"})
				if err != nil {
					t.Fatal(err)
				}
				t1, _, err := rt.Rotate(ctx, t0)
				if err != nil {
					t.Fatal(err)
				}
				// t0 comes back after its successor was used: reuse, even
				// within the retry window.
				t2, _, err := rt.Rotate(ctx, t1)
				if err != nil {
					t.Fatal(err)
				}
				_, got, err := rt.Rotate(ctx, t0)
				if !errors.Is(err, token.ErrRefreshReuse) || !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("replayed spent token: err = %v, want ErrRefreshReuse (and ErrInvalidGrant)", err)
				}
				if got.ID != fam.ID || got.Subject != "bob" {
					t.Fatalf("reuse returned family %+v, want %s of bob", got, fam.ID)
				}
				if _, _, err := rt.Rotate(ctx, t2); !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("current token after reuse: err = %v, want ErrInvalidGrant", err)
				}
				if _, _, err := rt.Rotate(ctx, t0); !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("spent token of a revoked family: err = %v", err)
				}
				line := audit.String()
				for _, want := range []string{`"event":"refresh_reuse"`, `"sub":"bob"`, fam.ID, auditlog.TokenID(t0)} {
					if !strings.Contains(line, want) {
						t.Errorf("audit log lacks %s:\n%s", want, line)
					}
				}
				for _, secret := range []string{t0, t1, t2} {
					if strings.Contains(line, secret) {
						t.Errorf("audit log contains a refresh token:\n%s", line)
					}
				}
			})

			t.Run("50 racing uses, one successor", func(t *testing.T) {
				// Concurrent presentations of one token are indistinguishable
				// from retries: all get the same successor, none is refused,
				// and never two different successors exist.
				rt := newRefreshTokens(t, st, nil)
				t0, _, err := rt.Start(ctx, "carol", nil)
				if err != nil {
					t.Fatal(err)
				}
				const n = 50
				var wg sync.WaitGroup
				var mu sync.Mutex
				got := map[string]int{}
				start := make(chan struct{})
				errs := make(chan error, n)
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						tok, _, err := rt.Rotate(ctx, t0)
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						got[tok]++
						mu.Unlock()
					}()
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("racing rotation: %v", err)
				}
				if len(got) != 1 {
					t.Fatalf("%d different successors, want 1", len(got))
				}
				for next, count := range got {
					if count != n {
						t.Fatalf("%d of %d racers got the successor", count, n)
					}
					// The family is alive: the successor rotates.
					if _, _, err := rt.Rotate(ctx, next); err != nil {
						t.Fatalf("the one successor: %v", err)
					}
				}
			})

			t.Run("retry within the window, reuse after it", func(t *testing.T) {
				clk := newRefreshClock()
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) { c.Now = clk.Now })
				tests := []struct {
					name      string
					advance   time.Duration
					spendNext bool // use the successor before the replay
					wantReuse bool
				}{
					{"immediately", 0, false, false},
					{"just inside the window", token.DefaultRetryWindow - time.Millisecond, false, false},
					{"at the window's end", token.DefaultRetryWindow, false, true},
					{"after the successor was used", 0, true, true},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						t0, fam, err := rt.Start(ctx, "kim", []string{"user"})
						if err != nil {
							t.Fatal(err)
						}
						t1, _, err := rt.Rotate(ctx, t0)
						if err != nil {
							t.Fatal(err)
						}
						live := t1
						if tc.spendNext {
							if live, _, err = rt.Rotate(ctx, t1); err != nil {
								t.Fatal(err)
							}
						}
						clk.Advance(tc.advance)
						again, got, err := rt.Rotate(ctx, t0)
						if tc.wantReuse {
							if !errors.Is(err, token.ErrRefreshReuse) || got.ID != fam.ID {
								t.Fatalf("replay: err = %v (family %q), want ErrRefreshReuse", err, got.ID)
							}
							if _, _, err := rt.Rotate(ctx, live); !errors.Is(err, token.ErrInvalidGrant) {
								t.Fatalf("family alive after reuse: %v", err)
							}
							return
						}
						if err != nil || again != t1 || got.ID != fam.ID || !slices.Equal(got.Roles, []string{"user"}) {
							t.Fatalf("retry: %q, %+v, %v; want the same successor", again, got, err)
						}
						// Retrying again is still the same successor, and the
						// successor itself works: the family is alive.
						if again2, _, err := rt.Rotate(ctx, t0); err != nil || again2 != t1 {
							t.Fatalf("second retry: %v", err)
						}
						if _, _, err := rt.Rotate(ctx, t1); err != nil {
							t.Fatalf("successor after retries: %v", err)
						}
					})
				}
			})

			t.Run("absolute family expiry", func(t *testing.T) {
				clk := newRefreshClock()
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) { c.Now = clk.Now })
				tok, fam, err := rt.Start(ctx, "dave", nil)
				if err != nil {
					t.Fatal(err)
				}
				if !fam.ExpiresAt.Equal(clk.Now().Add(7 * 24 * time.Hour)) {
					t.Fatalf("expires at %v", fam.ExpiresAt)
				}
				// Refreshing keeps the family alive only until its absolute end.
				for range 6 {
					clk.Advance(24 * time.Hour)
					if tok, _, err = rt.Rotate(ctx, tok); err != nil {
						t.Fatal(err)
					}
				}
				clk.Advance(24*time.Hour - time.Millisecond)
				if tok, _, err = rt.Rotate(ctx, tok); err != nil {
					t.Fatalf("1ms before the end: %v", err)
				}
				clk.Advance(time.Millisecond)
				if _, _, err = rt.Rotate(ctx, tok); !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrRefreshReuse) {
					t.Fatalf("at the family's end: err = %v, want ErrInvalidGrant", err)
				}
			})

			t.Run("custom FamilyTTL", func(t *testing.T) {
				clk := newRefreshClock()
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Now, c.FamilyTTL = clk.Now, time.Hour
				})
				tok, _, err := rt.Start(ctx, "erin", nil)
				if err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Hour)
				if _, _, err = rt.Rotate(ctx, tok); !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("after FamilyTTL: err = %v", err)
				}
			})

			t.Run("roles reloaded when Reload is set", func(t *testing.T) {
				roles := []string{"admin"}
				var mu sync.Mutex
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Reload = func(_ context.Context, sub string) ([]string, error) {
						mu.Lock()
						defer mu.Unlock()
						if sub != "frank" {
							return nil, fmt.Errorf("reload for %q", sub)
						}
						return roles, nil
					}
				})
				tok, _, err := rt.Start(ctx, "frank", []string{"admin"})
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				roles = []string{"user"} // demoted
				mu.Unlock()
				tok, fam, err := rt.Rotate(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(fam.Roles, []string{"user"}) {
					t.Fatalf("roles after reload %v, want [user]", fam.Roles)
				}
				if _, _, err := rt.Rotate(ctx, tok); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("Reload failure leaves the token unspent; a denial revokes", func(t *testing.T) {
				var mode atomic.Int32 // 0 ok, 1 backend down, 2 user gone
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Reload = func(context.Context, string) ([]string, error) {
						switch mode.Load() {
						case 1:
							return nil, errors.New("directory down")
						case 2:
							return nil, fmt.Errorf("user disabled: %w", token.ErrInvalidGrant)
						}
						return []string{"user"}, nil
					}
				})
				tok, _, err := rt.Start(ctx, "gina", nil)
				if err != nil {
					t.Fatal(err)
				}
				mode.Store(1)
				if _, _, err := rt.Rotate(ctx, tok); !errors.Is(err, token.ErrStoreUnavailable) || errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("reload down: err = %v, want ErrStoreUnavailable", err)
				}
				mode.Store(0)
				next, _, err := rt.Rotate(ctx, tok)
				if err != nil {
					t.Fatalf("token after a failed reload: %v", err)
				}
				mode.Store(2)
				if _, _, err := rt.Rotate(ctx, next); !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("reload denied: err = %v", err)
				}
				mode.Store(0)
				if _, _, err := rt.Rotate(ctx, next); !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("token of a family revoked by a denied reload: err = %v", err)
				}
			})

			t.Run("RevokeFamily", func(t *testing.T) {
				rt := newRefreshTokens(t, st, nil)
				tok, fam, err := rt.Start(ctx, "hank", nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := rt.RevokeFamily(ctx, fam.ID); err != nil {
					t.Fatal(err)
				}
				if _, _, err := rt.Rotate(ctx, tok); !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("token of a revoked family: err = %v", err)
				}
				if err := rt.RevokeFamily(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); err != nil {
					t.Fatalf("unknown family: %v", err)
				}
				if err := rt.RevokeFamily(ctx, "not a family"); !errors.Is(err, token.ErrInvalidGrant) {
					t.Fatalf("malformed family id: err = %v", err)
				}
			})

			t.Run("bound family: the key rotates, no key or another is refused and spends nothing", func(t *testing.T) {
				var audit bytes.Buffer
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Audit = auditlog.New(&audit, auditlog.Options{})
				})
				t0, fam, err := rt.StartWith(ctx, "ivy", []string{"user"}, token.StartOptions{JKT: jktA})
				if err != nil {
					t.Fatal(err)
				}
				if fam.JKT != jktA {
					t.Fatalf("family JKT %q, want %q", fam.JKT, jktA)
				}
				for i := range 3 { // refusals, repeated, change nothing
					for _, jkt := range []string{"", jktB} {
						next, got, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jkt})
						if !errors.Is(err, token.ErrRefreshKeyMismatch) || !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrRefreshReuse) || next != "" {
							t.Fatalf("round %d, key %q: %q, %v; want ErrRefreshKeyMismatch", i, jkt, next, err)
						}
						if got.ID != fam.ID || got.JKT != jktA {
							t.Fatalf("refusal returned family %+v, want %s bound to A", got, fam.ID)
						}
					}
				}
				if _, _, err := rt.Rotate(ctx, t0); !errors.Is(err, token.ErrRefreshKeyMismatch) {
					t.Fatalf("Rotate (no proof) of a bound family: %v", err)
				}
				// Unspent: the holder of the key rotates, a fresh spend (not
				// a retry of an earlier one), and the family lives on.
				t1, got, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jktA})
				if err != nil || got.ID != fam.ID || got.JKT != jktA {
					t.Fatalf("the right key after refusals: %+v, %v", got, err)
				}
				if _, _, err := rt.RotateWith(ctx, t1, token.RotateOptions{JKT: jktA}); err != nil {
					t.Fatalf("the successor with the key: %v", err)
				}
				// The first refusal is in the log (threat repeats are
				// suppressed by the logger), and another key is told apart.
				var other bytes.Buffer
				rt2 := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Audit = auditlog.New(&other, auditlog.Options{})
				})
				if _, _, err := rt2.RotateWith(ctx, t1, token.RotateOptions{JKT: jktB}); !errors.Is(err, token.ErrRefreshKeyMismatch) {
					t.Fatal(err)
				}
				line := audit.String() + other.String()
				for _, want := range []string{`"event":"security_threat"`, `"reason":"refresh_key_mismatch"`, `"sub":"ivy"`, fam.ID, auditlog.TokenID(t0), "without a proof", "another key"} {
					if !strings.Contains(line, want) {
						t.Errorf("audit log lacks %s:\n%s", want, line)
					}
				}
				if strings.Contains(line, t0) || strings.Contains(line, t1) {
					t.Errorf("audit log contains a refresh token:\n%s", line)
				}
			})

			t.Run("bound family: retries need the key", func(t *testing.T) {
				rt := newRefreshTokens(t, st, nil)
				t0, _, err := rt.StartWith(ctx, "jo", nil, token.StartOptions{JKT: jktA})
				if err != nil {
					t.Fatal(err)
				}
				t1, _, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jktA})
				if err != nil {
					t.Fatal(err)
				}
				// Within the window the sealed successor opens with t0
				// alone: without the key check, a thief holding t0 would
				// receive t1.
				for _, jkt := range []string{"", jktB} {
					if next, _, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jkt}); !errors.Is(err, token.ErrRefreshKeyMismatch) || next != "" {
						t.Fatalf("retry with key %q: %q, %v; want ErrRefreshKeyMismatch", jkt, next, err)
					}
				}
				if again, _, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jktA}); err != nil || again != t1 {
					t.Fatalf("retry with the key: %v, same successor %v", err, again == t1)
				}
				if _, _, err := rt.RotateWith(ctx, t1, token.RotateOptions{JKT: jktA}); err != nil {
					t.Fatalf("successor after the retries: %v", err)
				}
			})

			t.Run("bound family: reuse detection with the key, none without", func(t *testing.T) {
				rt := newRefreshTokens(t, st, nil)
				a := token.RotateOptions{JKT: jktA}
				t0, fam, err := rt.StartWith(ctx, "kai", nil, token.StartOptions{JKT: jktA})
				if err != nil {
					t.Fatal(err)
				}
				t1, _, err := rt.RotateWith(ctx, t0, a)
				if err != nil {
					t.Fatal(err)
				}
				t2, _, err := rt.RotateWith(ctx, t1, a)
				if err != nil {
					t.Fatal(err)
				}
				// A spent token without the key: refused, and the family
				// is not revoked (t2 rotates below).
				for _, jkt := range []string{"", jktB} {
					if _, _, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jkt}); !errors.Is(err, token.ErrRefreshKeyMismatch) {
						t.Fatalf("spent token, key %q: %v; want ErrRefreshKeyMismatch", jkt, err)
					}
				}
				t3, _, err := rt.RotateWith(ctx, t2, a)
				if err != nil {
					t.Fatalf("family revoked by a keyless replay: %v", err)
				}
				// With the key, a spent token is reuse, exactly as unbound.
				if _, got, err := rt.RotateWith(ctx, t1, a); !errors.Is(err, token.ErrRefreshReuse) || got.ID != fam.ID {
					t.Fatalf("spent token with the key: %v, want ErrRefreshReuse", err)
				}
				if _, _, err := rt.RotateWith(ctx, t3, a); !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrRefreshKeyMismatch) {
					t.Fatalf("current token after reuse: %v, want ErrInvalidGrant", err)
				}
			})

			t.Run("unbound family: a proof is refused, never binds it", func(t *testing.T) {
				var audit bytes.Buffer
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Audit = auditlog.New(&audit, auditlog.Options{})
				})
				t0, fam, err := rt.Start(ctx, "lou", nil)
				if err != nil {
					t.Fatal(err)
				}
				if fam.JKT != "" {
					t.Fatalf("unbound family has JKT %q", fam.JKT)
				}
				if _, got, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jktA}); !errors.Is(err, token.ErrRefreshKeyMismatch) || got.ID != fam.ID {
					t.Fatalf("proof on an unbound family: %v", err)
				}
				t1, got, err := rt.Rotate(ctx, t0)
				if err != nil || got.JKT != "" {
					t.Fatalf("unbound rotation after the refused proof: %+v, %v", got, err)
				}
				if _, _, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jktA}); !errors.Is(err, token.ErrRefreshKeyMismatch) {
					t.Fatalf("retry with a proof: %v", err)
				}
				if _, _, err := rt.Rotate(ctx, t1); err != nil {
					t.Fatalf("family bound by the refused proof: %v", err)
				}
				if line := audit.String(); !strings.Contains(line, `"event":"token_rejected","reason":"refresh_family_unbound"`) || !strings.Contains(line, fam.ID) {
					t.Errorf("audit log lacks the refused proof:\n%s", line)
				}
			})

			t.Run("bound family with Reload: no key, no reload and no revocation", func(t *testing.T) {
				var reloads atomic.Int64
				var deny atomic.Bool
				rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
					c.Reload = func(context.Context, string) ([]string, error) {
						reloads.Add(1)
						if deny.Load() {
							return nil, fmt.Errorf("disabled: %w", token.ErrInvalidGrant)
						}
						return []string{"user"}, nil
					}
				})
				t0, _, err := rt.StartWith(ctx, "max", nil, token.StartOptions{JKT: jktA})
				if err != nil {
					t.Fatal(err)
				}
				deny.Store(true) // a denial would revoke the family
				for _, jkt := range []string{"", jktB} {
					if _, _, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jkt}); !errors.Is(err, token.ErrRefreshKeyMismatch) {
						t.Fatalf("key %q: %v", jkt, err)
					}
				}
				if n := reloads.Load(); n != 0 {
					t.Fatalf("Reload called %d times for presentations without the key", n)
				}
				deny.Store(false)
				if _, fam, err := rt.RotateWith(ctx, t0, token.RotateOptions{JKT: jktA}); err != nil || !slices.Equal(fam.Roles, []string{"user"}) {
					t.Fatalf("with the key: %+v, %v", fam, err)
				}
			})

			t.Run("unknown well-formed token", func(t *testing.T) {
				rt := newRefreshTokens(t, st, nil)
				tok := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
				if _, _, err := rt.Rotate(ctx, tok); !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrRefreshReuse) {
					t.Fatalf("err = %v, want ErrInvalidGrant", err)
				}
			})
		})
	}
}

func TestRefreshMalformedNeverReachesStore(t *testing.T) {
	valid := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xab}, 32))
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"short", valid[:42]},
		{"long", valid + "A"},
		{"std alphabet", "+" + valid[1:]},
		{"slash", valid[:10] + "/" + valid[11:]},
		{"padded", valid[:42] + "="},
		{"space", valid[:42] + " "},
		{"newline", valid[:20] + "\n" + valid[21:]},
		{"non-ASCII", "é" + valid[2:]},
		{"non-canonical last char", valid[:42] + "B"},
		{"jwt-looking", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig00000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &countingStore{RefreshStore: token.NewMemoryRefreshStore(nil)}
			rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) {
				c.Reload = func(context.Context, string) ([]string, error) { return nil, nil }
			})
			if _, _, err := rt.Rotate(context.Background(), tc.token); !errors.Is(err, token.ErrInvalidGrant) {
				t.Fatalf("err = %v, want ErrInvalidGrant", err)
			}
			if n := st.calls.Load(); n != 0 {
				t.Fatalf("%d store calls for a malformed token", n)
			}
		})
	}
	t.Run("the valid control reaches the store", func(t *testing.T) {
		st := &countingStore{RefreshStore: token.NewMemoryRefreshStore(nil)}
		rt := newRefreshTokens(t, st, nil)
		_, _, _ = rt.Rotate(context.Background(), valid)
		if st.calls.Load() != 1 {
			t.Fatalf("%d store calls, want 1", st.calls.Load())
		}
	})
}

// failingStore fails every call, as an unreachable backend does.
type failingStore struct{}

var errBackendDown = errors.New("backend down")

func (failingStore) Create(context.Context, token.Family, [32]byte) error { return errBackendDown }
func (failingStore) Lookup(context.Context, [32]byte, time.Time) (token.Family, error) {
	return token.Family{}, errBackendDown
}
func (failingStore) Spend(context.Context, token.SpendRequest) (token.SpendResult, error) {
	return token.SpendResult{}, errBackendDown
}
func (failingStore) RevokeFamily(context.Context, string) error { return errBackendDown }

func TestRefreshStoreFailureIsUnavailable(t *testing.T) {
	ctx := context.Background()
	rt := newRefreshTokens(t, failingStore{}, nil)
	valid := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	checks := map[string]error{}
	_, _, checks["Start"] = rt.Start(ctx, "x", nil)
	_, _, checks["Rotate"] = rt.Rotate(ctx, valid)
	checks["RevokeFamily"] = rt.RevokeFamily(ctx, "AAAAAAAAAAAAAAAAAAAAAA")
	for name, err := range checks {
		if !errors.Is(err, token.ErrStoreUnavailable) || errors.Is(err, token.ErrInvalidGrant) {
			t.Errorf("%s: err = %v, want ErrStoreUnavailable only", name, err)
		}
	}
}

func TestRefreshRedisDown(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	st, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt := newRefreshTokens(t, st, nil)
	tok, _, err := rt.Start(ctx, "ivy", nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if _, _, err := rt.Rotate(ctx, tok); !errors.Is(err, token.ErrStoreUnavailable) || errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("Redis down: err = %v, want ErrStoreUnavailable", err)
	}
	if _, _, err := rt.Start(ctx, "ivy", nil); !errors.Is(err, token.ErrStoreUnavailable) {
		t.Fatalf("Start with Redis down: err = %v", err)
	}
}

func TestRefreshMemorySweep(t *testing.T) {
	ctx := context.Background()
	clk := newRefreshClock()
	st := token.NewMemoryRefreshStore(clk.Now)
	rt := newRefreshTokens(t, st, func(c *token.RefreshConfig) { c.Now, c.FamilyTTL = clk.Now, time.Hour })
	var toks []string
	for i := range 10 {
		tok, _, err := rt.Start(ctx, fmt.Sprint("u", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := rt.Rotate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok) // spent: must stay known until expiry
	}
	st.Sweep()
	if st.Len() != 10 {
		t.Fatalf("sweep before expiry dropped families: %d left", st.Len())
	}
	clk.Advance(token.DefaultRetryWindow) // past the retry window
	if _, _, err := rt.Rotate(ctx, toks[0]); !errors.Is(err, token.ErrRefreshReuse) {
		t.Fatalf("spent token forgotten before expiry: err = %v", err)
	}
	clk.Advance(time.Hour)
	st.Sweep()
	if st.Len() != 0 {
		t.Fatalf("%d families left after expiry and sweep", st.Len())
	}
}

func TestNewRefreshTokensConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  token.RefreshConfig
		want string
	}{
		{"no store", token.RefreshConfig{}, "Store"},
		{"negative TTL", token.RefreshConfig{Store: token.NewMemoryRefreshStore(nil), FamilyTTL: -time.Second}, "FamilyTTL"},
		{"negative RetryWindow", token.RefreshConfig{Store: token.NewMemoryRefreshStore(nil), RetryWindow: -time.Second}, "RetryWindow"},
		{"RetryWindow too long", token.RefreshConfig{Store: token.NewMemoryRefreshStore(nil), RetryWindow: 2 * time.Minute}, "RetryWindow"},
		{"Revocation without Issuer", token.RefreshConfig{Store: token.NewMemoryRefreshStore(nil),
			Revocation: middleware.NewMemoryRevocationList(nil)}, "Issuer"},
		{"negative AccessTTL", token.RefreshConfig{Store: token.NewMemoryRefreshStore(nil), AccessTTL: -time.Second}, "AccessTTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.NewRefreshTokens(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestRefreshTokenHashOnly(t *testing.T) {
	// The store sees SHA-256(token), never the token.
	st := &recordingStore{MemoryRefreshStore: token.NewMemoryRefreshStore(nil)}
	rt := newRefreshTokens(t, st, nil)
	tok, _, err := rt.Start(context.Background(), "jo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.created != sha256.Sum256([]byte(tok)) {
		t.Fatal("store was given something other than SHA-256 of the token")
	}
}

type recordingStore struct {
	*token.MemoryRefreshStore
	created [32]byte
}

func (s *recordingStore) Create(ctx context.Context, f token.Family, h [32]byte) error {
	s.created = h
	return s.MemoryRefreshStore.Create(ctx, f, h)
}

func FuzzHashRefreshToken(f *testing.F) {
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	f.Add("")
	f.Add(strings.Repeat("_", 43))
	f.Add(strings.Repeat("A", 42) + "=")
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := token.HashRefreshToken(s)
		if !ok {
			return
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted non-canonical token %q", s)
		}
		if h != sha256.Sum256([]byte(s)) {
			t.Fatal("hash is not SHA-256 of the token")
		}
	})
}

// A malformed thumbprint is the caller's bug, named in the error, and never
// reaches the store.
func TestRefreshBindingMalformedJKT(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{RefreshStore: token.NewMemoryRefreshStore(nil)}
	rt := newRefreshTokens(t, st, nil)
	tok, _, err := rt.StartWith(ctx, "alice", nil, token.StartOptions{JKT: jktA})
	if err != nil {
		t.Fatal(err)
	}
	before := st.calls.Load()
	for _, bad := range []string{jktA[:42], jktA + "A", jktA[:42] + "=", "+" + jktA[1:], jktA[:42] + "t", strings.Repeat("x", 4096)} {
		if _, _, err := rt.StartWith(ctx, "alice", nil, token.StartOptions{JKT: bad}); err == nil || !strings.Contains(err.Error(), "StartOptions.JKT") {
			t.Errorf("StartWith(JKT %.50q): %v, want an error naming StartOptions.JKT", bad, err)
		}
		_, _, err := rt.RotateWith(ctx, tok, token.RotateOptions{JKT: bad})
		if err == nil || !strings.Contains(err.Error(), "RotateOptions.JKT") || errors.Is(err, token.ErrInvalidGrant) {
			t.Errorf("RotateWith(JKT %.50q): %v, want an error naming RotateOptions.JKT", bad, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("error of %d bytes echoes the input", len(err.Error()))
		}
	}
	if n := st.calls.Load() - before; n != 0 {
		t.Fatalf("%d store calls for malformed thumbprints", n)
	}
	if _, _, err := rt.RotateWith(ctx, tok, token.RotateOptions{JKT: jktA}); err != nil {
		t.Fatalf("the token after the refusals: %v", err)
	}
}
