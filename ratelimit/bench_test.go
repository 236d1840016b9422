package ratelimit

import (
	"context"
	"testing"
	"time"
)

func BenchmarkLimiter(b *testing.B) {
	l := Limit{Rate: 1_000_000, Period: time.Second, Burst: 1 << 30}
	ctx := context.Background()
	keys := make([][32]byte, 1024)
	for i := range keys {
		keys[i] = key(uint64(i))
	}
	b.Run("memory", func(b *testing.B) {
		s, _ := NewMemoryStore(MemoryOptions{})
		cpuLoop(b, func(i int) {
			_, _ = s.Allow(ctx, keys[i&1023], l, t0.Add(time.Duration(i)*time.Microsecond), 1)
		})
	})
	b.Run("memory-parallel", func(b *testing.B) {
		s, _ := NewMemoryStore(MemoryOptions{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				_, _ = s.Allow(ctx, keys[i&1023], l, t0, 1)
				i++
			}
		})
	})
}
