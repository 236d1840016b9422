package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

// TestRefreshMaxRotations: a family's hash grows by one field per spend, so
// the Redis store caps the spends as the memory store does: the spend
// beyond MaxRotations is invalid_grant (not reuse), the hash stops growing,
// and a spent token of the family still detects reuse.
func TestRefreshMaxRotations(t *testing.T) {
	s := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	st, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{Prefix: "rot:", MaxRotations: 3})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, fam, err := rt.Start(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := tok
	for i := range 3 {
		if tok, _, err = rt.Rotate(ctx, tok); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
	}
	fields := func() int64 {
		n, err := c.HLen(ctx, "rot:rf:{"+fam.ID+"}").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := fields()
	if _, _, err := rt.Rotate(ctx, tok); !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrRefreshReuse) {
		t.Fatalf("rotation 4 of at most 3: %v, want ErrInvalidGrant", err)
	}
	if after := fields(); after != before {
		t.Fatalf("the refused spend grew the family's hash from %d to %d fields", before, after)
	}
	if _, _, err := rt.Rotate(ctx, first); !errors.Is(err, token.ErrRefreshReuse) {
		t.Fatalf("a spent token of the exhausted family: %v, want reuse", err)
	}
}

func TestRefreshMaxRotationsNegative(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	_, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{MaxRotations: -1})
	if err == nil || !strings.Contains(err.Error(), "MaxRotations") || !strings.Contains(err.Error(), strconv.Itoa(-1)) {
		t.Fatalf("err = %v, want one naming MaxRotations and the value", err)
	}
}
