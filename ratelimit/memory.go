package ratelimit

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxKeys is the default cap on keys a memory store tracks: about
// 10 MB of state, room for a large API's active clients.
const DefaultMaxKeys = 100_000

// evictSample is how many entries a full shard looks at to find one to drop.
const evictSample = 8

// MemoryOptions configures a memory store. The zero value is usable.
type MemoryOptions struct {
	// MaxKeys caps the keys tracked (across all shards). Default
	// DefaultMaxKeys. When a shard is full, a new key first reclaims expired
	// entries among a sample of evictSample; if none has expired, the sampled
	// entry with the oldest stored time is evicted. That entry is the one
	// closest to a full budget anyway, so evicting it forgives the least; a
	// new key is always tracked, so a flood of new keys can never make the
	// store stop limiting.
	MaxKeys int
	// Shards is the number of independently locked maps, rounded up to a power
	// of two. Default 16 × GOMAXPROCS.
	Shards int
}

// entry is what a table stores: a deadline after which it can be dropped.
type entry interface {
	comparable
	expiry() int64 // unix ns after which the entry holds no information
}

// table is a sharded, bounded map from 32-byte keys to entries, the memory
// behind both the limiter and the guard.
type table[V entry] struct {
	shards   []shard[V]
	mask     uint64
	perShard int
	// removed, when set, is told of each entry leaving the table (with the
	// shard lock held).
	removed func(key *[32]byte, v V)
}

// A shard maps each key to the index of its value in vals, so that
// updating a tracked key's value writes it in place, after one map lookup
// instead of a lookup and an assignment. Freed indexes are reused; vals
// never grows beyond the most keys the shard has held, which makeRoom caps.
type shard[V entry] struct {
	mu   sync.Mutex
	m    map[[32]byte]int32
	vals []V
	free []int32
	// 64 bytes in all: shards sit on separate cache lines
}

// lookup returns a pointer to key's value, valid until the shard is next
// changed, or false. Called with s.mu held.
func (s *shard[V]) lookup(key *[32]byte) (*V, bool) {
	i, ok := s.m[*key]
	if !ok {
		return nil, false
	}
	return &s.vals[i], true
}

// insert adds a key that is not in s. Called with s.mu held.
func (s *shard[V]) insert(key *[32]byte, v V) {
	var i int32
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
		s.vals[i] = v
	} else {
		i = int32(len(s.vals))
		s.vals = append(s.vals, v)
	}
	s.m[*key] = i
}

// remove drops key if present. Called with s.mu held.
func (s *shard[V]) remove(key *[32]byte) {
	i, ok := s.m[*key]
	if !ok {
		return
	}
	delete(s.m, *key)
	var zero V
	s.vals[i] = zero
	s.free = append(s.free, i)
}

func newTable[V entry](o MemoryOptions) (*table[V], error) {
	if o.MaxKeys < 0 {
		return nil, errors.New("ratelimit: MemoryOptions.MaxKeys " + strconv.Itoa(o.MaxKeys) + " must not be negative")
	}
	if o.Shards < 0 {
		return nil, errors.New("ratelimit: MemoryOptions.Shards " + strconv.Itoa(o.Shards) + " must not be negative")
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Shards == 0 {
		o.Shards = 16 * runtime.GOMAXPROCS(0)
	}
	n := 1 << bits.Len(uint(o.Shards-1))
	for n > 1 && o.MaxKeys/n < evictSample {
		n /= 2
	}
	t := &table[V]{shards: make([]shard[V], n), mask: uint64(n - 1), perShard: o.MaxKeys / n}
	if t.perShard < 1 {
		t.perShard = 1
	}
	for i := range t.shards {
		t.shards[i].m = make(map[[32]byte]int32)
	}
	return t, nil
}

func (t *table[V]) shard(key *[32]byte) *shard[V] {
	return &t.shards[binary.LittleEndian.Uint64(key[24:])&t.mask]
}

// makeRoom is called with s.mu held before inserting a new key into s.
func (t *table[V]) makeRoom(s *shard[V], now int64) {
	if len(s.m) < t.perShard {
		return
	}
	var (
		oldestKey [32]byte
		oldest    int64
		found     bool
		freed     bool
		seen      int
	)
	for k, i := range s.m { // Go starts map iteration at a random place
		if e := s.vals[i].expiry(); e <= now && retire(s.vals[i], e, false) {
			if t.removed != nil {
				t.removed(&k, s.vals[i])
			}
			s.remove(&k)
			freed = true
		} else if !found || e < oldest {
			oldestKey, oldest, found = k, e, true
		}
		if seen++; seen >= evictSample {
			break
		}
	}
	if !freed && found {
		if i, ok := s.m[oldestKey]; ok {
			retire(s.vals[i], oldest, true)
			if t.removed != nil {
				t.removed(&oldestKey, s.vals[i])
			}
		}
		s.remove(&oldestKey)
	}
}

// retirer is an entry updated outside the shard lock (a *tatEntry): before
// its key leaves the map it must be marked so that no update lands on it
// after it is gone.
type retirer interface {
	// retire marks the entry removed and reports true, if its expiry is still
	// seen or force is set; it reports false when a concurrent update
	// changed the expiry (the entry is live again and stays).
	retire(seen int64, force bool) bool
}

func retire[V entry](v V, seen int64, force bool) bool {
	if r, ok := any(v).(retirer); ok {
		return r.retire(seen, force)
	}
	return true
}

// Len returns the number of keys tracked.
func (t *table[V]) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// dead is the stored time of a tatEntry removed from its table.
const dead = math.MinInt64

// tatEntry is one key's GCRA state (its TAT). The key is set before the
// entry is published and never changes; tat is updated by compare-and-swap,
// with or without the shard lock, and set to dead when the entry leaves the
// table, after which no update succeeds on it.
type tatEntry struct {
	key [32]byte
	tat atomic.Int64
}

func (e *tatEntry) expiry() int64 { return e.tat.Load() }

func (e *tatEntry) retire(seen int64, force bool) bool {
	if force {
		e.tat.Store(dead)
		return true
	}
	return e.tat.CompareAndSwap(seen, dead)
}

// MemoryStore is an in-process GCRA Store: sharded, bounded, and
// allocation-free per decision for tracked keys. Safe for concurrent use.
//
// A key already tracked is decided without a lock: a direct-mapped index of
// recently used entries, at a place given by a hash seeded per store (so
// that chosen keys cannot be aimed at one place), leads to the entry, whose
// whole key is compared, and the new TAT is stored by compare-and-swap. Any
// miss (an empty or reused place, a removed entry) falls back to the
// locked shard map, which stays the one record of what is tracked; the
// index only speeds up finding it. Entries are never reused (a reader may
// still hold a removed one), so a new key costs one 48-byte allocation, as
// a new client's identity already does.
type MemoryStore struct {
	t     *table[*tatEntry]
	index []atomic.Pointer[tatEntry]
	// shift and mul choose a key's place in index: the top bits of
	// sum(mul[i] * key word i) + mul[8], with random multipliers drawn per
	// store (Dietzfelbinger's multiply-shift hash for vectors: keys chosen
	// without knowing mul collide no more often than random ones).
	shift uint
	mul   [9]uint64
}

// maxIndex bounds the index of recently used entries (8 bytes a place).
const maxIndex = 1 << 17

// NewMemoryStore returns a MemoryStore configured by o.
func NewMemoryStore(o MemoryOptions) (*MemoryStore, error) {
	t, err := newTable[*tatEntry](o)
	if err != nil {
		return nil, err
	}
	n := 1 << bits.Len(uint(t.perShard*len(t.shards)-1))
	n = min(max(n, 64), maxIndex)
	s := &MemoryStore{t: t, index: make([]atomic.Pointer[tatEntry], n), shift: uint(64 - bits.Len(uint(n-1)))}
	for i := range s.mul {
		s.mul[i] = rand.Uint64()
	}
	t.removed = func(key *[32]byte, e *tatEntry) {
		s.slot(key).CompareAndSwap(e, nil)
	}
	return s, nil
}

// slot returns key's place in the index.
func (s *MemoryStore) slot(key *[32]byte) *atomic.Pointer[tatEntry] {
	m := &s.mul
	h := m[8]
	for i := 0; i < 32; i += 4 {
		h += m[i/4] * uint64(binary.LittleEndian.Uint32(key[i:]))
	}
	return &s.index[h>>s.shift]
}

// MaxKeys returns the cap on tracked keys actually applied (it is rounded
// down to a multiple of the shard count).
func (s *MemoryStore) MaxKeys() int { return s.t.perShard * len(s.t.shards) }

// Len returns the number of keys tracked.
func (s *MemoryStore) Len() int { return s.t.Len() }

// Allow implements Store using now as the clock. It never returns an error
// other than for an invalid limit.
func (s *MemoryStore) Allow(_ context.Context, key [32]byte, l Limit, now time.Time, n int) (Decision, error) {
	if n < 0 || l.Rate <= 0 || l.Period < time.Duration(l.Rate) {
		return Decision{}, errors.New("ratelimit: invalid limit or count")
	}
	T := int64(l.interval())
	var d Decision
	s.allow(&d, &key, &l, T, int64(l.burst())*T, now.UnixNano(), n)
	return d, nil
}

// allow is Allow, deciding into *d, for a valid limit whose GCRA interval T and tolerance tau
// the caller has computed, at now in unix ns. The Limiter calls it directly
// when its store is a *MemoryStore, skipping the interface call, the
// validation it did in New, the divisions and the copies.
func (s *MemoryStore) allow(d *Decision, key *[32]byte, l *Limit, T, tau, ns int64, n int) {
	slot := s.slot(key)
	if e := slot.Load(); e != nil && e.key == *key && update(e, d, l, T, tau, ns, n) {
		return
	}
	sh := s.t.shard(key)
	sh.mu.Lock()
	if p, ok := sh.lookup(key); ok {
		// An entry in the map is not dead: entries are marked dead only as
		// they leave the map, under this lock.
		update(*p, d, l, T, tau, ns, n)
		slot.Store(*p)
	} else if next := gcra(d, l, T, tau, 0, ns, n); d.Allowed && n > 0 {
		s.t.makeRoom(sh, ns)
		e := &tatEntry{key: *key}
		e.tat.Store(next)
		sh.insert(key, e)
		slot.Store(e)
	}
	sh.mu.Unlock()
}

// update decides n requests against e and stores the new TAT (n = 0 only
// reports, as without an entry, and stores nothing), reporting
// false, without deciding, when e has been removed from the table.
func update(e *tatEntry, d *Decision, l *Limit, T, tau, ns int64, n int) bool {
	for {
		old := e.tat.Load()
		if old == dead {
			return false
		}
		next := gcra(d, l, T, tau, old, ns, n)
		if n == 0 || next == old || e.tat.CompareAndSwap(old, next) {
			return true
		}
	}
}
