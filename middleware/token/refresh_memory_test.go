package token

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

type memClock struct{ t time.Time }

func (c *memClock) Now() time.Time { return c.t }

// newMemRefresh returns RefreshTokens over a MemoryRefreshStore built from
// o, both on one fake clock.
func newMemRefresh(t *testing.T, o MemoryRefreshOptions, ttl time.Duration) (*RefreshTokens, *MemoryRefreshStore, *memClock) {
	t.Helper()
	clk := &memClock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.Now = clk.Now
	st, err := NewMemoryRefreshStoreWith(o)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := NewRefreshTokens(RefreshConfig{Store: st, Now: clk.Now, FamilyTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return rt, st, clk
}

func TestMemoryRefreshOptions(t *testing.T) {
	s := NewMemoryRefreshStore(nil)
	if s.maxFamilies != DefaultMaxFamilies || s.maxTokens != DefaultMaxTokens || s.maxRotations != DefaultMaxRotations || s.now == nil {
		t.Fatalf("NewMemoryRefreshStore(nil) caps %d/%d/%d, want the defaults", s.maxFamilies, s.maxTokens, s.maxRotations)
	}
	for _, tt := range []struct {
		o    MemoryRefreshOptions
		want string
	}{
		{MemoryRefreshOptions{MaxFamilies: -1}, "MemoryRefreshOptions.MaxFamilies -1"},
		{MemoryRefreshOptions{MaxTokens: -2}, "MemoryRefreshOptions.MaxTokens -2"},
		{MemoryRefreshOptions{MaxRotations: -3}, "MemoryRefreshOptions.MaxRotations -3"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			if _, err := NewMemoryRefreshStoreWith(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// At MaxFamilies a new family reclaims an expired or revoked one, and is
// otherwise refused with ErrRefreshStoreFull, which RefreshTokens makes
// ErrStoreUnavailable (a 503): no live family is ever dropped for it.
func TestMemoryRefreshFamilyCap(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// free runs with the store full of 4 live families (toks) and
		// makes room, or not.
		free     func(rt *RefreshTokens, st *MemoryRefreshStore, clk *memClock, toks []string, fams []Family)
		admitted int // of 3 new sign-ins
	}{
		{"nothing to reclaim", func(*RefreshTokens, *MemoryRefreshStore, *memClock, []string, []Family) {}, 0},
		{"one revoked", func(rt *RefreshTokens, _ *MemoryRefreshStore, _ *memClock, _ []string, fams []Family) {
			if err := rt.RevokeFamily(ctx, fams[1].ID); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"one reused", func(rt *RefreshTokens, _ *MemoryRefreshStore, clk *memClock, toks []string, _ []Family) {
			next, _, err := rt.Rotate(ctx, toks[2])
			if err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(time.Minute) // past the retry window
			if _, _, err := rt.Rotate(ctx, next); err != nil {
				t.Fatal(err)
			}
			if _, _, err := rt.Rotate(ctx, toks[2]); !errors.Is(err, ErrRefreshReuse) {
				t.Fatalf("reuse: %v", err)
			}
		}, 1},
		{"all expired", func(_ *RefreshTokens, _ *MemoryRefreshStore, clk *memClock, _ []string, _ []Family) {
			clk.t = clk.t.Add(time.Hour)
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, st, clk := newMemRefresh(t, MemoryRefreshOptions{MaxFamilies: 4}, time.Hour)
			var toks []string
			var fams []Family
			for i := range 4 {
				tok, fam, err := rt.Start(ctx, "u"+strconv.Itoa(i), nil)
				if err != nil {
					t.Fatal(err)
				}
				toks, fams = append(toks, tok), append(fams, fam)
			}
			tt.free(rt, st, clk, toks, fams)
			admitted, refused := 0, 0
			for i := range 3 {
				_, _, err := rt.Start(ctx, "new"+strconv.Itoa(i), nil)
				switch {
				case err == nil:
					admitted++
				case errors.Is(err, ErrStoreUnavailable) && errors.Is(err, ErrRefreshStoreFull):
					refused++
				default:
					t.Fatalf("Start at the cap: %v", err)
				}
			}
			if admitted != tt.admitted || refused != 3-tt.admitted {
				t.Fatalf("%d admitted, %d refused; want %d admitted", admitted, refused, tt.admitted)
			}
			if st.Len() > 4 {
				t.Fatalf("%d families held, cap 4", st.Len())
			}
			// Every family still live before is still usable: none was
			// dropped to make room.
			if tt.name == "nothing to reclaim" {
				for i, tok := range toks {
					if _, _, err := rt.Rotate(ctx, tok); err != nil && !errors.Is(err, ErrRefreshStoreFull) {
						t.Fatalf("live family %d after refusals: %v", i, err)
					}
				}
			}
		})
	}
}

// At MaxTokens a spend is refused with ErrRefreshStoreFull and spends
// nothing: the same token works once there is room.
func TestMemoryRefreshTokenCap(t *testing.T) {
	ctx := context.Background()
	rt, st, clk := newMemRefresh(t, MemoryRefreshOptions{MaxTokens: 3}, time.Hour)
	a, _, _ := rt.Start(ctx, "a", nil)
	b, _, _ := rt.Start(ctx, "b", nil)
	a2, _, err := rt.Rotate(ctx, a) // 3 hashes: a, a2, b
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rt.Rotate(ctx, b); !errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, ErrRefreshStoreFull) {
		t.Fatalf("spend at MaxTokens: %v", err)
	}
	if _, _, err := rt.Start(ctx, "c", nil); !errors.Is(err, ErrRefreshStoreFull) {
		t.Fatalf("start at MaxTokens: %v", err)
	}
	clk.t = clk.t.Add(time.Minute)
	if _, _, err := rt.Rotate(ctx, a); !errors.Is(err, ErrRefreshReuse) { // drops a's family
		t.Fatalf("reuse: %v", err)
	}
	if _, _, err := rt.Rotate(ctx, a2); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("revoked family's current token: %v", err)
	}
	if _, _, err := rt.Rotate(ctx, b); err != nil {
		t.Fatalf("the refused token, once there is room: %v", err)
	}
	if st.Tokens() != 2 {
		t.Fatalf("%d hashes, want b and its successor", st.Tokens())
	}
}

// A revoked family (by RevokeFamily, or by reuse) leaves the store at once,
// with every hash, and each of its tokens is answered exactly as an unknown
// one is. A store that kept it would hold the family and its hashes.
func TestMemoryRefreshRevokedReclaimed(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"RevokeFamily", "reuse"} {
		t.Run(how, func(t *testing.T) {
			rt, st, clk := newMemRefresh(t, MemoryRefreshOptions{}, time.Hour)
			tok, fam, _ := rt.Start(ctx, "alice", nil)
			toks := []string{tok}
			for range 5 {
				clk.t = clk.t.Add(time.Minute)
				next, _, err := rt.Rotate(ctx, toks[len(toks)-1])
				if err != nil {
					t.Fatal(err)
				}
				toks = append(toks, next)
			}
			other, _, _ := rt.Start(ctx, "bob", nil)
			if st.Len() != 2 || st.Tokens() != 7 {
				t.Fatalf("before: %d families, %d hashes", st.Len(), st.Tokens())
			}
			if how == "RevokeFamily" {
				if err := rt.RevokeFamily(ctx, fam.ID); err != nil {
					t.Fatal(err)
				}
			} else if _, _, err := rt.Rotate(ctx, toks[1]); !errors.Is(err, ErrRefreshReuse) {
				t.Fatalf("reuse: %v", err)
			}
			if st.Len() != 1 || st.Tokens() != 1 || len(st.expiry) != 1 {
				t.Fatalf("after revocation: %d families, %d hashes, heap %d; want bob's alone", st.Len(), st.Tokens(), len(st.expiry))
			}
			unknown, _ := HashRefreshToken(strings.Repeat("A", RefreshTokenLen))
			for i, tok := range append(toks, strings.Repeat("A", RefreshTokenLen)) {
				h, _ := HashRefreshToken(tok)
				_, lerr := st.Lookup(ctx, h, clk.t)
				_, serr := st.Spend(ctx, SpendRequest{Hash: h, Next: Successor{Hash: unknown}, Now: clk.t, RetryUntil: clk.t.Add(time.Second)})
				if lerr != ErrInvalidGrant || serr != ErrInvalidGrant {
					t.Fatalf("token %d of the revoked family: Lookup %v, Spend %v; want ErrInvalidGrant as for an unknown token", i, lerr, serr)
				}
			}
			if _, _, err := rt.Rotate(ctx, other); err != nil {
				t.Fatalf("another family: %v", err)
			}
		})
	}
}

// MaxRotations ends a family that spends too often, as if it had expired,
// and its spent tokens still detect reuse until it does expire.
func TestMemoryRefreshMaxRotations(t *testing.T) {
	ctx := context.Background()
	rt, st, clk := newMemRefresh(t, MemoryRefreshOptions{MaxRotations: 3}, time.Hour)
	tok, _, _ := rt.Start(ctx, "alice", nil)
	first := tok
	for i := range 3 {
		clk.t = clk.t.Add(time.Minute)
		next, _, err := rt.Rotate(ctx, tok)
		if err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		tok = next
	}
	if _, _, err := rt.Rotate(ctx, tok); !errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrRefreshReuse) {
		t.Fatalf("rotation 4 of at most 3: %v, want ErrInvalidGrant", err)
	}
	if st.Tokens() != 4 {
		t.Fatalf("%d hashes, want 4 (MaxRotations+1)", st.Tokens())
	}
	if _, _, err := rt.Rotate(ctx, first); !errors.Is(err, ErrRefreshReuse) {
		t.Fatalf("a spent token of the exhausted family: %v, want reuse", err)
	}
}

// Under churn (sign-ins, refreshes, logouts, reuses, abandoned sessions, the
// clock moving) the store never holds more than its caps, reclaims what
// expires without any Sweep call, drops sealed successors after their
// window, and ends empty once everything has expired.
func TestMemoryRefreshBoundedUnderChurn(t *testing.T) {
	ctx := context.Background()
	const maxFam, maxTok = 200, 300
	rt, st, clk := newMemRefresh(t, MemoryRefreshOptions{MaxFamilies: maxFam, MaxTokens: maxTok}, time.Minute)
	rng := rand.New(rand.NewPCG(1, 2))
	type session struct {
		tok string
		fam Family
	}
	var live []session
	var full, maxSeenFam, maxSeenTok, maxWindows int
	for i := range 50_000 {
		clk.t = clk.t.Add(time.Duration(rng.IntN(200)) * time.Millisecond)
		switch op := rng.IntN(10); {
		case op < 3 || len(live) == 0:
			tok, fam, err := rt.Start(ctx, "u"+strconv.Itoa(i), []string{"user"})
			if errors.Is(err, ErrRefreshStoreFull) {
				full++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			live = append(live, session{tok, fam})
		case op < 8:
			j := rng.IntN(len(live))
			next, _, err := rt.Rotate(ctx, live[j].tok)
			switch {
			case err == nil:
				live[j].tok = next
			case errors.Is(err, ErrRefreshStoreFull):
				full++
			default: // expired
				live = append(live[:j], live[j+1:]...)
			}
		case op < 9:
			j := rng.IntN(len(live))
			_ = rt.RevokeFamily(ctx, live[j].fam.ID)
			live = append(live[:j], live[j+1:]...)
		default:
			live = live[:len(live)-1] // abandoned: left to expire
		}
		maxSeenFam, maxSeenTok = max(maxSeenFam, st.Len()), max(maxSeenTok, st.Tokens())
		maxWindows = max(maxWindows, len(st.windows))
		if st.Len() != len(st.expiry) {
			t.Fatalf("step %d: %d families, %d in the expiry heap", i, st.Len(), len(st.expiry))
		}
	}
	if maxSeenFam > maxFam || maxSeenTok > maxTok {
		t.Fatalf("held up to %d families and %d hashes; caps %d and %d", maxSeenFam, maxSeenTok, maxFam, maxTok)
	}
	t.Logf("50,000 operations: up to %d families, %d hashes, %d open retry windows; %d refused at the caps", maxSeenFam, maxSeenTok, maxWindows, full)
	st.Sweep() // what the next Create or Spend would do first
	sealed := 0
	for _, f := range st.families {
		if f.prevSealed != nil && !clk.t.Before(f.prevUntil) {
			sealed++
		}
	}
	if sealed > 0 {
		t.Fatalf("%d sealed successors kept past their retry window", sealed)
	}
	clk.t = clk.t.Add(time.Hour)
	if _, _, err := rt.Start(ctx, "last", nil); err != nil {
		t.Fatal(err)
	}
	if st.Len() != 1 || st.Tokens() != 1 || len(st.windows) != 0 {
		t.Fatalf("after everything expired: %d families, %d hashes, %d windows", st.Len(), st.Tokens(), len(st.windows))
	}
}
