package ratelimit

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want Limit
		bad  bool
	}{
		{in: "100/1m", want: Limit{Rate: 100, Period: time.Minute}},
		{in: "5/15m", want: Limit{Rate: 5, Period: 15 * time.Minute}},
		{in: "10/s", want: Limit{Rate: 10, Period: time.Second}},
		{in: "1000/h", want: Limit{Rate: 1000, Period: time.Hour}},
		{in: " 3/90s ", want: Limit{Rate: 3, Period: 90 * time.Second}},
		{in: "100", bad: true},
		{in: "0/1m", bad: true},
		{in: "-1/1m", bad: true},
		{in: "10/", bad: true},
		{in: "10/0s", bad: true},
		{in: "10/fortnight", bad: true},
		{in: "x/1m", bad: true},
		{in: "10000000/1ms", bad: true}, // finer than a microsecond
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLimit(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseLimit(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func key(i uint64) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[:], i)
	binary.LittleEndian.PutUint64(k[24:], i*0x9E3779B97F4A7C15)
	return k
}

// GCRA, step by step on an injected clock: 3 per 3s (one per second, burst 3).
func TestGCRAExact(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	l := Limit{Rate: 3, Period: 3 * time.Second}
	ms := time.Millisecond
	steps := []struct {
		at        time.Duration
		n         int
		allowed   bool
		remaining int
		retry     time.Duration
		reset     time.Duration
	}{
		{0, 1, true, 2, 0, 1000 * ms},
		{0, 1, true, 1, 0, 2000 * ms},
		{0, 1, true, 0, 0, 3000 * ms},
		{0, 1, false, 0, 1000 * ms, 3000 * ms},
		{400 * ms, 1, false, 0, 600 * ms, 2600 * ms},
		{1000 * ms, 1, true, 0, 0, 3000 * ms}, // one unit came back after exactly 1s
		{1500 * ms, 1, false, 0, 500 * ms, 2500 * ms},
		{1500 * ms, 0, true, 0, 0, 2500 * ms}, // n=0 only reports
		{5000 * ms, 1, true, 2, 0, 1000 * ms}, // idle: full burst again
		{5000 * ms, 3, false, 2, 1000 * ms, 1000 * ms},
		{5000 * ms, 2, true, 0, 0, 3000 * ms},
	}
	for i, st := range steps {
		d, err := s.Allow(context.Background(), key(1), l, t0.Add(st.at), st.n)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != st.allowed || d.Remaining != st.remaining || d.RetryAfter != st.retry || d.ResetAfter != st.reset {
			t.Fatalf("step %d at %v n=%d: got allowed=%v remaining=%d retry=%v reset=%v; want %v %d %v %v",
				i, st.at, st.n, d.Allowed, d.Remaining, d.RetryAfter, d.ResetAfter, st.allowed, st.remaining, st.retry, st.reset)
		}
	}
}

func TestGCRABurst(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	l := Limit{Rate: 1, Period: time.Second, Burst: 5}
	got := 0
	for i := 0; i < 10; i++ {
		if d, _ := s.Allow(context.Background(), key(2), l, t0, 1); d.Allowed {
			got++
		}
	}
	if got != 5 {
		t.Fatalf("burst allowed %d, want 5", got)
	}
}

// concurrentExact runs 1,000 goroutines against one key and returns how many
// were allowed.
func concurrentExact(t *testing.T, s Store, l Limit) int64 {
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d, err := s.Allow(context.Background(), key(7), l, t0, 1)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return allowed.Load()
}

func TestMemoryConcurrentExact(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	if got := concurrentExact(t, s, Limit{Rate: 100, Period: time.Hour}); got != 100 {
		t.Fatalf("1,000 goroutines got %d allowed, want exactly 100", got)
	}
}

// The lock-free path stays exact while other keys are inserted and evicted
// in the same shard: 1,000 goroutines on one key, each also adding a new
// key, in a store far too small for them all.
func TestMemoryConcurrentExactUnderChurn(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 16, Shards: 1})
	hot := Limit{Rate: 100, Period: time.Hour}
	churn := Limit{Rate: 1000, Period: time.Second}
	ctx := context.Background()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range uint64(1000) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range uint64(3) {
				_, _ = s.Allow(ctx, key(1_000_000+i*3+j), churn, t0, 1)
				if j == 1 {
					if d, _ := s.Allow(ctx, key(7), hot, t0, 1); d.Allowed {
						allowed.Add(1)
					}
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != 100 {
		t.Fatalf("1,000 goroutines got %d allowed, want exactly 100", got)
	}
	if n := s.Len(); n > s.MaxKeys() {
		t.Fatalf("store holds %d keys, cap %d", n, s.MaxKeys())
	}
}

// A flood of distinct keys never grows the store past its cap, and the
// limits still hold for a key that is being limited.
func TestMemoryCap(t *testing.T) {
	s, err := NewMemoryStore(MemoryOptions{MaxKeys: 10_000, Shards: 8})
	if err != nil {
		t.Fatal(err)
	}
	l := Limit{Rate: 10, Period: time.Hour}
	ctx := context.Background()
	for i := uint64(0); i < 1_000_000; i++ {
		_, _ = s.Allow(ctx, key(i+100), l, t0.Add(time.Duration(i)*time.Microsecond), 1)
	}
	if n, max := s.Len(), s.MaxKeys(); n > max || max != 10_000 {
		t.Fatalf("store holds %d keys, cap %d (want 10,000)", n, max)
	}
}

// The shards' value slabs stay consistent and bounded under churn: every
// tracked key owns one slot, freed slots are zero and reused, and a slab
// never outgrows the shard's share of the cap.
func TestMemorySlabsUnderChurn(t *testing.T) {
	if sz := unsafe.Sizeof(shard[*tatEntry]{}); sz != 64 {
		t.Errorf("a shard is %d bytes, not one cache line", sz)
	}
	s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 64, Shards: 2})
	ctx := context.Background()
	short := Limit{Rate: 5, Period: time.Millisecond * 5}
	for i := uint64(0); i < 50_000; i++ {
		now := t0.Add(time.Duration(i) * time.Microsecond)
		_, _ = s.Allow(ctx, key(1000+i%700), short, now, 1)
	}
	// Once everything has expired, a new key reclaims several slots at once
	// and reuses one: the others wait on the free list.
	_, _ = s.Allow(ctx, key(1), short, t0.Add(time.Hour), 1)
	_, _ = s.Allow(ctx, key(2), short, t0.Add(time.Hour), 1)
	free := 0
	for si := range s.t.shards {
		free += len(s.t.shards[si].free)
	}
	if free == 0 {
		t.Fatal("no slot was freed: the test does not exercise the free list")
	}
	for si := range s.t.shards {
		sh := &s.t.shards[si]
		if len(sh.vals) > s.t.perShard || len(sh.vals) != len(sh.m)+len(sh.free) {
			t.Fatalf("shard %d: %d slots, %d keys, %d free, cap %d", si, len(sh.vals), len(sh.m), len(sh.free), s.t.perShard)
		}
		owner := make(map[int32]bool)
		for _, i := range sh.m {
			if owner[i] {
				t.Fatalf("shard %d: slot %d owned twice", si, i)
			}
			owner[i] = true
		}
		for _, i := range sh.free {
			if owner[i] || sh.vals[i] != nil {
				t.Fatalf("shard %d: free slot %d is owned or not nil", si, i)
			}
			owner[i] = true
		}
	}
}

// Expired entries are reclaimed before live ones are evicted.
func TestMemoryReclaimsExpiredFirst(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 8, Shards: 1})
	ctx := context.Background()
	long := Limit{Rate: 1, Period: time.Hour}
	short := Limit{Rate: 1, Period: time.Second}
	// the hot key has used its budget for an hour
	if d, _ := s.Allow(ctx, key(1), long, t0, 1); !d.Allowed {
		t.Fatal("first request refused")
	}
	for i := uint64(2); i <= 8; i++ {
		_, _ = s.Allow(ctx, key(i), short, t0, 1)
	}
	// later, the short entries have expired; new keys must reclaim them and
	// leave the hot key's state alone.
	later := t0.Add(time.Minute)
	for i := uint64(100); i < 107; i++ {
		_, _ = s.Allow(ctx, key(i), short, later, 1)
	}
	if d, _ := s.Allow(ctx, key(1), long, later, 1); d.Allowed {
		t.Fatal("the limited key was evicted while expired keys were available")
	}
}

// A request that found an entry through the lock-free index just before the
// entry was reclaimed must not be counted on the orphan: it goes back to the
// shard map, so a key gets exactly its budget across a reclamation.
func TestMemoryReclaimedEntryTakesNoUpdate(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 8, Shards: 1})
	ctx := context.Background()
	hourly := Limit{Rate: 1, Period: time.Hour}
	k := key(1)
	if d, _ := s.Allow(ctx, k, hourly, t0, 1); !d.Allowed {
		t.Fatal("first request refused")
	}
	later := t0.Add(2 * time.Hour) // k's entry has expired
	stale := s.slot(&k).Load()     // a request reads the index...
	if stale == nil || stale.key != k {
		t.Fatal("the entry is not in the index")
	}
	for i := uint64(2); i <= 9; i++ { // ...while new keys reclaim k's entry
		_, _ = s.Allow(ctx, key(i), hourly, later, 1)
	}
	if s.slot(&k).Load() == stale {
		t.Error("the reclaimed entry is still in the index")
	}
	allowed := 0
	T := int64(hourly.interval())
	var d Decision
	if update(stale, &d, &hourly, T, T, later.UnixNano(), 1) && d.Allowed {
		allowed++ // the stale request counted on the orphan
	}
	for range 2 {
		if d, _ := s.Allow(ctx, k, hourly, later, 1); d.Allowed {
			allowed++
		}
	}
	if allowed != 1 {
		t.Fatalf("%d requests allowed within an hour at 1/h", allowed)
	}
}

// The lock-free index places keys by a hash drawn per store: the same keys
// land in different places in two stores (an attacker who learns one
// layout, or shapes keys through a KeyFunc, cannot aim at a place), and
// keys differing in any one word spread out.
func TestMemoryIndexSeeded(t *testing.T) {
	a, _ := NewMemoryStore(MemoryOptions{})
	b, _ := NewMemoryStore(MemoryOptions{})
	place := func(s *MemoryStore, k *[32]byte) uintptr {
		return uintptr(unsafe.Pointer(s.slot(k))) - uintptr(unsafe.Pointer(&s.index[0]))
	}
	for w := 0; w < 32; w += 4 {
		same, seen := 0, map[uintptr]bool{}
		for i := range 64 {
			var k [32]byte
			k[w] = byte(i) // keys differing in word w/4 only
			seen[place(a, &k)] = true
			if place(a, &k) == place(b, &k) {
				same++
			}
		}
		if same > 8 || len(seen) < 48 {
			t.Errorf("word %d: %d of 64 keys in the same place in two stores, %d distinct places", w/4, same, len(seen))
		}
	}
}

func TestMemoryOptionsErrors(t *testing.T) {
	if _, err := NewMemoryStore(MemoryOptions{MaxKeys: -1}); err == nil {
		t.Error("negative MaxKeys accepted")
	}
	if _, err := NewMemoryStore(MemoryOptions{Shards: -1}); err == nil {
		t.Error("negative Shards accepted")
	}
}

func TestMemoryAllowAllocs(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	l := Limit{Rate: 1000, Period: time.Second}
	ctx := context.Background()
	k := key(3)
	now := t0
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		_, _ = s.Allow(ctx, k, l, now, 1)
	})
	if allocs != 0 {
		t.Fatalf("Allow allocated %.1f times per call", allocs)
	}
}

// cpuLoop runs f b.N times on one locked OS thread and reports the thread's
// CPU time per operation as cpu-ns/op next to the wall-clock ns/op.
func cpuLoop(b *testing.B, f func(i int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start := threadCPU()
	for i := 0; i < b.N; i++ {
		f(i)
	}
	if end := threadCPU(); start > 0 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}
