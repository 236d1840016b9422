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

// DefaultMaxKeys is the default cap on keys a memory store tracks: a few MB
// of state, room for a large API's active clients.
const DefaultMaxKeys = 100_000

// evictSample is how many entries a full shard looks at to make room.
const evictSample = 8

// MemoryOptions configures a MemoryStore or a GuardMemoryStore. The zero
// value is usable.
type MemoryOptions struct {
	// MaxKeys caps the keys tracked across all shards. Default
	// DefaultMaxKeys. It is rounded down to a multiple of the shard count
	// (see MemoryStore for what happens when a shard is full).
	MaxKeys int
	// Shards is the number of independently locked maps, rounded up to a
	// power of two (and lowered so that each shard holds at least
	// evictSample keys). Default 16 × GOMAXPROCS.
	Shards int
}

// layout validates o and returns the shard count (a power of two) and the
// keys each shard may hold.
func (o MemoryOptions) layout() (shards, perShard int, err error) {
	if o.MaxKeys < 0 {
		return 0, 0, errors.New("ratelimit: MemoryOptions.MaxKeys " + strconv.Itoa(o.MaxKeys) + " must not be negative")
	}
	if o.Shards < 0 {
		return 0, 0, errors.New("ratelimit: MemoryOptions.Shards " + strconv.Itoa(o.Shards) + " must not be negative")
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
	return n, max(o.MaxKeys/n, 1), nil
}

// shardIndex places a key in one of n shards (a power of two). Store keys
// are uniformly distributed (HMAC outputs), so their bits are the hash.
func shardIndex(key *[32]byte, n int) int {
	return int(binary.LittleEndian.Uint64(key[24:]) & uint64(n-1))
}

// makeRoom is called, with the shard locked, before a new key goes into a
// shard map holding perShard keys or more. Among the first evictSample
// entries of a map iteration (which Go starts at a random place) it drops
// those that have expired at now; when none has, it drops the sampled entry
// that expires first.
func makeRoom[V any](m map[[32]byte]V, perShard int, now int64, expiry func(V) int64) {
	if len(m) < perShard {
		return
	}
	var (
		oldest    [32]byte
		oldestExp int64
		found     bool // a live entry was sampled
		freed     bool
		seen      int
	)
	for k, v := range m {
		if e := expiry(v); e <= now {
			delete(m, k) // deleting during iteration is allowed
			freed = true
		} else if !found || e < oldestExp {
			oldest, oldestExp, found = k, e, true
		}
		if seen++; seen >= evictSample {
			break
		}
	}
	if !freed && found {
		delete(m, oldest)
	}
}

// MemoryStore is an in-process GCRA Store. Safe for concurrent use.
//
// Its invariants, which every method keeps:
//
//   - A key lives in one shard, chosen by its own bits (store keys are HMAC
//     outputs, so they are already uniformly spread); each shard is a map
//     from key to TAT (unix ns) behind its own mutex, and every read and
//     write of a key holds that mutex, so decisions on one key are exact
//     under any concurrency.
//   - A TAT at or before now holds no information: the key would be decided
//     exactly as if it were absent. Such entries may be dropped at any time.
//   - Only an allowed request with n > 0 writes; a refused one or a report
//     (n = 0) never creates an entry.
//   - A shard holds at most MaxKeys()/shards keys. A new key entering a full
//     shard first reclaims expired entries among a sample of evictSample;
//     if none has expired, the sampled entry with the earliest TAT (the one
//     closest to a full budget, so forgiving the least) is evicted. A new
//     key is always tracked, so a flood of new keys never stops the store
//     from limiting.
//   - A decision on a tracked key allocates nothing.
type MemoryStore struct {
	shards   []memoryShard
	perShard int
}

type memoryShard struct {
	mu   sync.Mutex
	tats map[[32]byte]int64
	_    [48]byte // one shard per cache line
}

func tatExpiry(tat int64) int64 { return tat }

// NewMemoryStore returns a MemoryStore configured by o.
func NewMemoryStore(o MemoryOptions) (*MemoryStore, error) {
	n, perShard, err := o.layout()
	if err != nil {
		return nil, err
	}
	s := &MemoryStore{shards: make([]memoryShard, n), perShard: perShard}
	for i := range s.shards {
		s.shards[i].tats = make(map[[32]byte]int64)
	}
	return s, nil
}

// MaxKeys returns the cap on tracked keys actually applied.
func (s *MemoryStore) MaxKeys() int { return s.perShard * len(s.shards) }

// Len returns the number of keys tracked.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.tats)
		sh.mu.Unlock()
	}
	return n
}

// Allow implements Store using now as the clock. Its only errors are for an
// invalid limit or a negative n.
func (s *MemoryStore) Allow(_ context.Context, key [32]byte, l Limit, now time.Time, n int) (Decision, error) {
	if err := l.Validate(); err != nil {
		return Decision{}, err
	}
	if n < 0 {
		return Decision{}, errCount
	}
	ns := now.UnixNano()
	sh := &s.shards[shardIndex(&key, len(s.shards))]
	sh.mu.Lock()
	tat, tracked := sh.tats[key]
	d, next := gcra(l, tat, ns, n)
	if d.Allowed && n > 0 {
		if !tracked {
			makeRoom(sh.tats, s.perShard, ns, tatExpiry)
		}
		sh.tats[key] = next
	}
	sh.mu.Unlock()
	return d, nil
}
