package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"math/bits"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxKeys is the default cap on keys a memory store tracks: room for
// a large API's active clients, in at most about 10 MB (a MemoryStore's
// tables grow with the keys it holds, up to 2.6 × 40 bytes a key).
const DefaultMaxKeys = 100_000

// evictSample is how many entries a full shard looks at to make room.
const evictSample = 8

// initialSlots is the size a memory shard's table starts at.
const initialSlots = 16

// MemoryOptions configures a MemoryStore or a GuardMemoryStore. The zero
// value is usable.
type MemoryOptions struct {
	// MaxKeys caps the keys tracked across all shards. Default
	// DefaultMaxKeys. It is rounded down to a multiple of the shard count
	// (see MemoryStore for what happens when a shard is full).
	MaxKeys int
	// Shards is the number of independently locked parts, rounded up to a
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

// place is a memory store's one hash of a key, seeded per store so that
// nobody can choose keys that meet, whatever a KeyFunc returns: its low bits
// choose the shard, its high 32 bits the home slot in the shard's table.
func place(seed maphash.Seed, key *[32]byte) uint64 {
	return maphash.Bytes(seed, key[:])
}

// MemoryStore is an in-process GCRA Store. Safe for concurrent use.
//
// Its invariants, which every method keeps:
//
//   - A key lives in one shard, chosen by the low bits of place (a hash
//     seeded per store); each shard has its own mutex, and every read and
//     write of a key holds it, so decisions on one key are exact under any
//     concurrency.
//   - A shard is an open-addressed table of (key, TAT) slots, never more
//     than half full: it starts small and doubles (re-placing every key)
//     before a new key would fill more than half, up to twice the keys the
//     shard may hold.
//     A key's home slot is given by the high bits of place; it sits at home
//     or in the first free slot after it (linear probing), with no free slot
//     between its home and itself. A free slot has TAT 0 (a stored TAT is a
//     unix ns time, always later: Allow reads a clock before 1970 as 1970).
//     Removing a key moves later keys of the
//     run back (backward shift), so no tombstones are needed.
//   - A TAT at or before now holds no information: the key would be decided
//     exactly as if it were absent. Such entries may be dropped at any time.
//   - Only an allowed request with n > 0 writes; a refused one or a report
//     (n = 0) never creates an entry.
//   - A shard holds at most MaxKeys()/shards keys. A new key entering a full
//     shard first reclaims expired entries among the evictSample keys that
//     follow its home slot (a random sample, as keys are spread uniformly);
//     if none has expired, the sampled entry with the earliest TAT (the one
//     closest to a full budget, so forgiving the least) is evicted. A new
//     key is always tracked, so a flood of new keys never stops the store
//     from limiting.
//   - A decision on a tracked key allocates nothing; only a table's
//     doubling does.
type MemoryStore struct {
	shards   []memoryShard
	perShard int
	seed     maphash.Seed // of place
}

type memoryShard struct {
	mu    sync.Mutex
	n     int        // keys held
	slots []tatEntry // len a power of two, doubling up to 2 × perShard
	mask  uint64     // len(slots) - 1
	seed  maphash.Seed
	_     [8]byte // one shard per cache line
}

// tatEntry is one key's GCRA state; TAT 0 marks a free slot.
type tatEntry struct {
	key [32]byte
	tat int64 // unix ns
}

// home returns the home slot of a key whose place is h.
func (sh *memoryShard) home(h uint64) uint64 { return h >> 32 & sh.mask }

// find returns the slot holding key, whose place is h, or the free slot
// ending its run (where it would go) and false.
func (sh *memoryShard) find(key *[32]byte, h uint64) (uint64, bool) {
	for i := sh.home(h); ; i = (i + 1) & sh.mask {
		if e := &sh.slots[i]; e.tat == 0 || e.key == *key {
			return i, e.tat != 0
		}
	}
}

// remove frees slot i and shifts back the keys after it that may not stay
// beyond a free slot.
func (sh *memoryShard) remove(i uint64) {
	sh.n--
	for j := i; ; {
		sh.slots[i] = tatEntry{}
		for {
			j = (j + 1) & sh.mask
			if sh.slots[j].tat == 0 {
				return
			}
			// The key at j may stay when its home lies cyclically in (i, j].
			if h := sh.home(place(sh.seed, &sh.slots[j].key)); (j-h)&sh.mask < (j-i)&sh.mask {
				continue
			}
			sh.slots[i] = sh.slots[j]
			i = j
			break
		}
	}
}

// grow doubles the table, re-placing every key.
func (sh *memoryShard) grow() {
	old := sh.slots
	sh.slots = make([]tatEntry, 2*len(old))
	sh.mask = uint64(len(sh.slots) - 1)
	for _, e := range old {
		if e.tat != 0 {
			i, _ := sh.find(&e.key, place(sh.seed, &e.key))
			sh.slots[i] = e
		}
	}
}

// makeRoom is called before key is added to a full shard (see MemoryStore).
func (sh *memoryShard) makeRoom(h uint64, now int64) {
	var (
		expired  [evictSample][32]byte
		nExpired int
		oldest   [32]byte
		oldestAt int64
	)
	for i, seen := sh.home(h), 0; seen < min(evictSample, sh.n); i = (i + 1) & sh.mask {
		e := &sh.slots[i]
		if e.tat == 0 {
			continue
		}
		if e.tat <= now {
			expired[nExpired] = e.key
			nExpired++
		} else if oldestAt == 0 || e.tat < oldestAt {
			oldest, oldestAt = e.key, e.tat
		}
		seen++
	}
	if nExpired == 0 {
		expired[0], nExpired = oldest, 1
	}
	for _, k := range expired[:nExpired] {
		if i, ok := sh.find(&k, place(sh.seed, &k)); ok {
			sh.remove(i)
		}
	}
}

// NewMemoryStore returns a MemoryStore configured by o.
func NewMemoryStore(o MemoryOptions) (*MemoryStore, error) {
	n, perShard, err := o.layout()
	if err != nil {
		return nil, err
	}
	s := &MemoryStore{shards: make([]memoryShard, n), perShard: perShard, seed: maphash.MakeSeed()}
	slots := min(initialSlots, 1<<bits.Len(uint(2*perShard-1)))
	for i := range s.shards {
		s.shards[i].slots = make([]tatEntry, slots)
		s.shards[i].mask = uint64(slots - 1)
		s.shards[i].seed = s.seed
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
		n += sh.n
		sh.mu.Unlock()
	}
	return n
}

// Allow implements Store using now as the clock. Its only errors are for an
// invalid limit or a negative n.
func (s *MemoryStore) Allow(_ context.Context, key [32]byte, l Limit, now time.Time, n int) (Decision, error) {
	T, tau, err := l.params("Limit")
	if err != nil {
		return Decision{}, err
	}
	if n < 0 {
		return Decision{}, errCount
	}
	// TAT 0 marks a free slot, so a clock before 1970 reads as 1970.
	ns := max(now.UnixNano(), 1)
	h := place(s.seed, &key)
	sh := &s.shards[h&uint64(len(s.shards)-1)]
	sh.mu.Lock()
	i, tracked := sh.find(&key, h)
	var tat int64
	if tracked {
		tat = sh.slots[i].tat
	}
	d, next := gcra(l, T, tau, tat, ns, n)
	switch {
	case !d.Allowed || n == 0:
	case tracked:
		sh.slots[i].tat = next
	default:
		sh.put(&key, h, next, ns, s.perShard)
	}
	sh.mu.Unlock()
	return d, nil
}
