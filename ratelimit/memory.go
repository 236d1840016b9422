package ratelimit

import (
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"runtime"
	"strconv"
	"sync"
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
		if e := s.vals[i].expiry(); e <= now {
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
		s.remove(&oldestKey)
	}
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

// tat is the GCRA stored time. It holds information until it passes.
type tat int64

func (v tat) expiry() int64 { return int64(v) }

// MemoryStore is an in-process GCRA Store: sharded, bounded, and
// allocation-free per decision. Safe for concurrent use.
type MemoryStore struct {
	t *table[tat]
}

// NewMemoryStore returns a MemoryStore configured by o.
func NewMemoryStore(o MemoryOptions) (*MemoryStore, error) {
	t, err := newTable[tat](o)
	if err != nil {
		return nil, err
	}
	return &MemoryStore{t: t}, nil
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
	sh := s.t.shard(key)
	sh.mu.Lock()
	p, ok := sh.lookup(key)
	var old int64
	if ok {
		old = int64(*p)
	}
	next := gcra(d, l, T, tau, old, ns, n)
	if d.Allowed && n > 0 {
		if ok {
			*p = tat(next)
		} else {
			s.t.makeRoom(sh, ns)
			sh.insert(key, tat(next))
		}
	}
	sh.mu.Unlock()
}
