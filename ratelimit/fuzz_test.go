package ratelimit

import (
	"context"
	"testing"
	"time"
)

// ParseLimit never panics, and what it accepts is valid and reads back the
// same from its String.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"100/1m", "5/15m", "10/s", "1000/h", " 3/90s ", "1/-1s", "9999999999/1ns", "1/2562047h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("ParseLimit(%q) = %v, which is invalid: %v", s, l, err)
		}
		if back, err := ParseLimit(l.String()); err != nil || back != l {
			t.Fatalf("ParseLimit(%q) = %v; its String %q reads back as %v, %v", s, l, l.String(), back, err)
		}
	})
}

// Any sequence of decisions (up to 256 keys in a store of 16, time moving
// forward by chosen steps, reports and multi-request takes) keeps the memory
// store's table invariants and never reports more than the burst remaining.
func FuzzMemoryStore(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff, 0x10, 0x20})
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 16, Shards: 2})
		l := Limit{Rate: 2, Period: time.Second}
		now := t0
		for i := 0; i+1 < len(ops); i += 2 {
			var k [32]byte
			k[0] = ops[i]
			now = now.Add(time.Duration(ops[i+1]>>1) * 20 * time.Millisecond)
			d, err := s.Allow(context.Background(), k, l, now, int(ops[i+1]>>6))
			if err != nil {
				t.Fatal(err)
			}
			if d.Remaining < 0 || d.Remaining > 2 {
				t.Fatalf("op %d: remaining %d outside [0, burst]", i/2, d.Remaining)
			}
		}
		checkTable(t, s)
	})
}
