package ratelimit

import (
	"context"
	"encoding/binary"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// Decisions stay exact while other keys are inserted and evicted in the same
// shard: 1,000 goroutines on one key, each also adding a new
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

// Refused requests and reports (n = 0) never create an entry: a flood of
// them cannot evict the keys being limited.
func TestMemoryOnlyAllowedRequestsWrite(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 8, Shards: 1})
	ctx := context.Background()
	tests := []struct {
		name string
		l    Limit
		n    int
	}{
		{"report", Limit{Rate: 1, Period: time.Hour}, 0},
		{"refused", Limit{Rate: 1, Period: time.Hour, Burst: 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := uint64(0); i < 100; i++ {
				d, err := s.Allow(ctx, key(500+i), tt.l, t0, tt.n)
				if err != nil || (tt.n > 0 && d.Allowed) {
					t.Fatalf("Allow: %+v %v", d, err)
				}
			}
			if n := s.Len(); n != 0 {
				t.Fatalf("%d entries created", n)
			}
		})
	}
}

// A full shard with nothing expired evicts the sampled entry closest to a
// full budget (the earliest TAT), never the one that is being limited.
func TestMemoryEvictsEarliestTAT(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{MaxKeys: evictSample, Shards: 1})
	ctx := context.Background()
	hourly := Limit{Rate: 1, Period: time.Hour}
	// key 1 has spent its budget for an hour; the others for less, the
	// earlier the smaller i.
	if d, _ := s.Allow(ctx, key(1), hourly, t0.Add(time.Minute), 1); !d.Allowed {
		t.Fatal("first request refused")
	}
	for i := uint64(2); i <= evictSample; i++ {
		_, _ = s.Allow(ctx, key(i), hourly, t0.Add(time.Duration(i)*time.Second), 1)
	}
	_, _ = s.Allow(ctx, key(100), hourly, t0.Add(time.Hour), 1) // full: one goes
	if n := s.Len(); n != evictSample {
		t.Fatalf("%d keys after an eviction, want %d", n, evictSample)
	}
	if d, _ := s.Allow(ctx, key(1), hourly, t0.Add(time.Hour), 0); d.Remaining != 0 {
		t.Fatal("the key with the latest TAT was evicted")
	}
	if d, _ := s.Allow(ctx, key(2), hourly, t0.Add(time.Hour), 0); d.Remaining != 1 {
		t.Fatal("the key with the earliest TAT was kept")
	}
}

func TestMemoryAllowErrors(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	tests := []struct {
		name string
		l    Limit
		n    int
		want string
	}{
		{"zero rate", Limit{Period: time.Second}, 1, "Limit.Rate 0"},
		{"zero period", Limit{Rate: 1}, 1, "Limit.Period 0s"},
		{"negative burst", Limit{Rate: 1, Period: time.Second, Burst: -2}, 1, "Limit.Burst -2"},
		{"too fine", Limit{Rate: 10_000_000, Period: time.Millisecond}, 1, "finer than one request per microsecond"},
		{"negative n", PerSecond(1), -1, "n must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Allow(context.Background(), key(1), tt.l, t0, tt.n); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// checkTable fails t unless every shard of s keeps the table invariants
// (see MemoryStore): its count is the number of used slots, within the cap,
// at most half the slots; every key is found where find looks, with no free
// slot between its home and itself; no key is held twice.
func checkTable(t *testing.T, s *MemoryStore) {
	t.Helper()
	for si := range s.shards {
		sh := &s.shards[si]
		used, seen := 0, map[[32]byte]bool{}
		for i := range sh.slots {
			e := &sh.slots[i]
			if e.tat == 0 {
				if e.key != ([32]byte{}) {
					t.Fatalf("shard %d: free slot %d keeps a key", si, i)
				}
				continue
			}
			used++
			if seen[e.key] {
				t.Fatalf("shard %d: key held twice", si)
			}
			seen[e.key] = true
			h := place(s.seed, &e.key)
			if h&uint64(len(s.shards)-1) != uint64(si) {
				t.Fatalf("shard %d holds a key of shard %d", si, h&uint64(len(s.shards)-1))
			}
			for j := sh.home(h); j != uint64(i); j = (j + 1) & sh.mask {
				if sh.slots[j].tat == 0 {
					t.Fatalf("shard %d: free slot %d between the home %d of the key at %d", si, j, sh.home(h), i)
				}
			}
			if got, ok := sh.find(&e.key, h); !ok || got != uint64(i) {
				t.Fatalf("shard %d: key at %d found at %d, %v", si, i, got, ok)
			}
		}
		if used != sh.n || sh.n > s.perShard || 2*sh.n > len(sh.slots) || len(sh.slots) > 2*s.perShard && len(sh.slots) > initialSlots {
			t.Fatalf("shard %d: %d used slots, count %d, cap %d, %d slots", si, used, sh.n, s.perShard, len(sh.slots))
		}
	}
}

// crowdedKeys returns n keys that s places in its first shard with home
// slots 0 to 3 at any table size: found by trying keys, as nobody without
// the store's seed could choose them.
func crowdedKeys(s *MemoryStore, n int) [][32]byte {
	var keys [][32]byte
	for i := uint64(0); len(keys) < n; i++ {
		k := key(i)
		if h := place(s.seed, &k); h&uint64(len(s.shards)-1) == 0 && h>>32&0xff < 4 {
			keys = append(keys, k)
		}
	}
	return keys
}

// The tables stay consistent under churn, whatever removals shift back:
// keys crowded onto a few home slots, keys expiring at different times,
// growth, evictions of live keys and reclamation of expired ones.
func TestMemoryTableUnderChurn(t *testing.T) {
	spread := func(s *MemoryStore) [][32]byte {
		keys := make([][32]byte, 700)
		for i := range keys {
			keys[i] = key(uint64(1000 + i))
		}
		return keys
	}
	tests := []struct {
		name  string
		keys  func(s *MemoryStore) [][32]byte
		limit Limit
	}{
		{"spread keys", spread, Limit{Rate: 5, Period: 5 * time.Millisecond}},
		{"crowded homes", func(s *MemoryStore) [][32]byte { return crowdedKeys(s, 300) }, Limit{Rate: 5, Period: 5 * time.Millisecond}},
		{"live keys evicted", spread, Limit{Rate: 1, Period: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 256, Shards: 2})
			keys := tt.keys(s)
			ctx := context.Background()
			for i := 0; i < 20_000; i++ {
				now := t0.Add(time.Duration(i) * time.Microsecond)
				if _, err := s.Allow(ctx, keys[i%len(keys)], tt.limit, now, 1); err != nil {
					t.Fatal(err)
				}
				if i%997 == 0 {
					checkTable(t, s)
				}
			}
			checkTable(t, s)
			// once everything has expired, new keys reclaim several at once
			for i := uint64(0); i < 10; i++ {
				_, _ = s.Allow(ctx, key(i), tt.limit, t0.Add(2*time.Hour), 1)
			}
			checkTable(t, s)
			if n := s.Len(); n < 10 || n > s.MaxKeys() {
				t.Fatalf("%d keys after reclamation, cap %d", n, s.MaxKeys())
			}
		})
	}
}

// Without evictions the store decides exactly as a plain map of TATs does,
// for every key and at every step, even when keys share home slots.
func TestMemoryMatchesModel(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 4096, Shards: 1})
	crowded := crowdedKeys(s, 100)
	model := map[[32]byte]int64{}
	l := Limit{Rate: 3, Period: 30 * time.Millisecond}
	ctx := context.Background()
	for i := uint64(0); i < 50_000; i++ {
		k := key((i * 7919) % 300)
		if i%2 == 0 {
			k = crowded[(i/2)%100]
		}
		now := t0.Add(time.Duration(i) * time.Microsecond * 3)
		n := int(i % 3) // reports, single and double requests
		want, next := gcraModel(l, model[k], now.UnixNano(), n)
		if want.Allowed && n > 0 {
			model[k] = next
		}
		got, err := s.Allow(ctx, k, l, now, n)
		if err != nil || got != want {
			t.Fatalf("step %d: store %+v %v, model %+v", i, got, err, want)
		}
	}
	checkTable(t, s)
}

// gcraModel is the textbook GCRA, written apart from gcra on purpose.
func gcraModel(l Limit, tat, now int64, n int) (Decision, int64) {
	T := int64(l.Period) / int64(l.Rate)
	tau := int64(l.burst()) * T
	if tat < now {
		tat = now
	}
	next := tat + int64(n)*T
	if next-tau > now {
		return Decision{Limit: l, RetryAfter: time.Duration(next - tau - now), ResetAfter: time.Duration(tat - now), Remaining: int((tau - (tat - now)) / T)}, tat
	}
	return Decision{Allowed: true, Limit: l, ResetAfter: time.Duration(next - now), Remaining: int((tau - (next - now)) / T)}, next
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
	// A full shard of expired keys: one new key reclaims every sampled one.
	full, _ := NewMemoryStore(MemoryOptions{MaxKeys: evictSample, Shards: 1})
	for i := uint64(0); i < evictSample; i++ {
		_, _ = full.Allow(ctx, key(200+i), short, t0, 1)
	}
	_, _ = full.Allow(ctx, key(300), short, later, 1)
	if n := full.Len(); n != 1 {
		t.Fatalf("%d keys after a new key met %d expired ones, want 1", n, evictSample)
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

// A clock before 1970 (a zero time.Time, a broken Now) must not store a TAT
// that reads as a free slot: the key is still limited and the table intact.
func TestMemoryClockBefore1970(t *testing.T) {
	for _, now := range []time.Time{{}, time.Unix(-3600, 0), time.Unix(0, 0)} {
		t.Run(now.String(), func(t *testing.T) {
			s, _ := NewMemoryStore(MemoryOptions{MaxKeys: 64, Shards: 1})
			l := Limit{Rate: 1, Period: time.Nanosecond * 1000}
			if d, _ := s.Allow(context.Background(), key(1), l, now, 1); !d.Allowed {
				t.Fatal("first request refused")
			}
			if d, _ := s.Allow(context.Background(), key(1), l, now, 1); d.Allowed {
				t.Fatal("second request at the same instant allowed")
			}
			checkTable(t, s)
		})
	}
}
