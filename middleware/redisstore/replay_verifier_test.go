package redisstore_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestDPoPReplayThroughVerifier: two instances' verifiers, each with its
// own Redis replay cache on its own client, one redis-server. A proof
// accepted by one is refused by the other (401 dpop_replayed); with Redis
// stopped, a fresh proof is refused with 503 (dpop_replay_unavailable).
func TestDPoPReplayThroughVerifier(t *testing.T) {
	s := redistest.Start(t)
	const htu = "https://api.example/me"
	verifier := func() *dpop.Verifier {
		c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		t.Cleanup(func() { _ = c.Close() })
		v, err := dpop.New(dpop.Config{Replay: newReplay(t, c, redisstore.DPoPReplayOptions{}), PublicURL: "https://api.example"})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v1, v2 := verifier(), verifier()
	key := dpoptest.NewKeys().P256
	verify := func(v *dpop.Verifier, proof string) (*dpop.Proof, *dpop.Error) {
		r := httptest.NewRequest("GET", htu, nil)
		r.Header.Set("DPoP", proof)
		p, err := v.Verify(r, "")
		if err == nil {
			return p, nil
		}
		var e *dpop.Error
		if !errors.As(err, &e) {
			t.Fatalf("Verify error %T %v, want *dpop.Error", err, err)
		}
		return nil, e
	}
	proof := dpoptest.NewProof(key, "ES256", "GET", htu)
	if _, e := verify(v1, proof); e != nil {
		t.Fatalf("fresh proof: %+v", e)
	}
	for i, v := range []*dpop.Verifier{v1, v2} {
		if _, e := verify(v, proof); e == nil || e.Status != http.StatusUnauthorized || e.Reason != dpop.ReasonReplayed || !errors.Is(e, dpop.ErrReplay) {
			t.Fatalf("replay on instance %d: %+v", i+1, e)
		}
	}
	s.Stop()
	if _, e := verify(v2, dpoptest.NewProof(key, "ES256", "GET", htu)); e == nil || e.Status != http.StatusServiceUnavailable || e.Reason != dpop.ReasonReplayUnavailable {
		t.Fatalf("Redis down, fresh proof: %+v, want 503", e)
	}
}

// TestDPoPReplayFullFront: a local front full of live proofs
// (dpop.ErrReplayCacheFull) decides nothing; Redis does, so fresh proofs
// are still accepted and replays still refused.
func TestDPoPReplayFullFront(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 10*time.Second)
	front := dpop.NewMemoryReplayCache(1)
	rc := newReplay(t, newClient(t, s.Addr), redisstore.DPoPReplayOptions{Local: front})
	other := newReplay(t, newClient(t, s.Addr), redisstore.DPoPReplayOptions{})
	exp := time.Now().Add(time.Minute)
	if err := rc.Use(ctx, jktA, "first", exp); err != nil {
		t.Fatal(err)
	}
	if err := front.Use(ctx, jktA, "probe", exp); !errors.Is(err, dpop.ErrReplayCacheFull) {
		t.Fatalf("front not full: %v", err)
	}
	for _, jti := range []string{"second", "third"} {
		if err := rc.Use(ctx, jktA, jti, exp); err != nil {
			t.Fatalf("fresh %s with a full front: %v", jti, err)
		}
		if err := other.Use(ctx, jktA, jti, exp); !errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("replay of %s: %v", jti, err)
		}
		if err := rc.Use(ctx, jktA, jti, exp); !errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("replay of %s on the instance with a full front: %v", jti, err)
		}
	}
}
