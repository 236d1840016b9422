package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/token"
)

// Two DPoP key thumbprints: RFC 7638 §3.1's example and another.
const (
	jktA = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	jktB = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
)

// TestRefreshBindingInRedis: the family hash keeps its key; a presentation
// without it leaves Redis exactly as it was (the new token's index key,
// written before the script, is removed again), and the family spends with
// the key afterwards. The check is in the script: the store alone decides,
// whatever the caller.
func TestRefreshBindingInRedis(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s.Addr)
	ctx := context.Background()
	rt := newRefresh(t, c, "")
	tok, fam, err := rt.StartWith(ctx, "alice", nil, token.StartOptions{JKT: jktA})
	if err != nil {
		t.Fatal(err)
	}
	famKey := "apiguard:rf:{" + fam.ID + "}"
	if got, _ := c.HGet(ctx, famKey, "jkt").Result(); got != jktA {
		t.Fatalf("family hash jkt = %q, want %q", got, jktA)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, k := range allKeys(t, c) {
			typ, _ := c.Type(ctx, k).Result()
			if typ == "hash" {
				h, _ := c.HGetAll(ctx, k).Result()
				m[k] = typ + ":" + formatHash(h)
			} else {
				v, _ := c.Get(ctx, k).Result()
				m[k] = typ + ":" + v
			}
		}
		return m
	}
	before := snapshot()
	for _, jkt := range []string{"", jktB} {
		for range 20 {
			if _, _, err := rt.RotateWith(ctx, tok, token.RotateOptions{JKT: jkt}); !errors.Is(err, token.ErrRefreshKeyMismatch) {
				t.Fatalf("key %q: %v", jkt, err)
			}
		}
	}
	after := snapshot()
	if len(after) != len(before) {
		t.Fatalf("%d keys after 40 refusals, %d before", len(after), len(before))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("key %s changed by refusals: %q -> %q", k, v, after[k])
		}
	}
	if _, _, err := rt.RotateWith(ctx, tok, token.RotateOptions{JKT: jktA}); err != nil {
		t.Fatalf("with the key: %v", err)
	}
}

// A family written before families had a jkt field is unbound: it rotates
// without a proof and refuses one.
func TestRefreshFamilyWithoutJKTField(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s.Addr)
	ctx := context.Background()
	rt := newRefresh(t, c, "")
	tok, fam, err := rt.Start(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.HDel(ctx, "apiguard:rf:{"+fam.ID+"}", "jkt").Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rt.RotateWith(ctx, tok, token.RotateOptions{JKT: jktA}); !errors.Is(err, token.ErrRefreshKeyMismatch) {
		t.Fatalf("proof on an old unbound family: %v", err)
	}
	if _, got, err := rt.Rotate(ctx, tok); err != nil || got.JKT != "" {
		t.Fatalf("old unbound family: %+v, %v", got, err)
	}
}

func formatHash(h map[string]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := ""
	for _, k := range keys {
		out += k + "=" + h[k] + ";"
	}
	return out
}
