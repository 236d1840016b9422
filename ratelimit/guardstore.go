package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Lockout is the progressive lockout policy: the n-th lockout of a key within
// Memory of the previous one lasts Base × 2^(n-1), at most Max.
type Lockout struct {
	Base   time.Duration
	Max    time.Duration
	Memory time.Duration // how long past offences are remembered
}

func (p Lockout) duration(offences int) time.Duration {
	d := p.Base
	for i := 1; i < offences && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// GuardStore keeps brute-force state per key: a GCRA failure counter, the
// lockout deadline and the count of recent offences. Implementations are safe
// for concurrent use. GuardMemoryStore keeps it in the process; package
// ratelimit/redisstore shares it between instances.
type GuardStore interface {
	// Fail records one failure of key under limit. When it uses up the
	// limit, a lockout starts and Fail returns its length; while key is
	// locked, failures are not counted and Fail returns 0.
	Fail(ctx context.Context, key [32]byte, limit Limit, p Lockout, now time.Time) (started time.Duration, err error)
	// Locked returns how long key remains locked out; 0 when it is not.
	Locked(ctx context.Context, key [32]byte, now time.Time) (time.Duration, error)
	// Reset forgets key entirely: failures, lockout and offences.
	Reset(ctx context.Context, key [32]byte) error
}

// guardEntry is a key's brute-force state (unix ns).
type guardEntry struct {
	tat, lockUntil, offExpire int64
	offences                  int32
}

// expiry is when the entry stops holding information.
func (e guardEntry) expiry() int64 { return max(e.tat, e.lockUntil, e.offExpire) }

// fail counts one failure at now under a limit of params T and tau; at the limit (the last unit taken) it
// locks, and returns the lockout's length. The Redis guard store runs the
// same arithmetic in Lua.
func (e *guardEntry) fail(T, tau int64, p Lockout, now int64) time.Duration {
	if e.lockUntil > now {
		return 0
	}
	if e.offExpire <= now {
		e.offences = 0
	}
	tat := max(e.tat, now) + T
	if tat-now <= tau-T { // a unit is left after this one
		e.tat = tat
		return 0
	}
	if e.offences < 62 {
		e.offences++
	}
	d := p.duration(int(e.offences))
	e.tat = 0
	e.lockUntil = now + int64(d)
	e.offExpire = e.lockUntil + int64(p.Memory)
	return d
}

// makeRoom is called, with the shard locked, before a new key goes into a
// full shard. Among the first evictSample entries of a map iteration (which
// Go starts at a random place) it drops those that have expired at now;
// when none has, it drops the sampled entry that expires first.
func (sh *guardShard) makeRoom(now int64) {
	var (
		oldest    [32]byte
		oldestExp int64
		found     bool // a live entry was sampled
		freed     bool
		seen      int
	)
	for k, e := range sh.entries {
		if exp := e.expiry(); exp <= now {
			delete(sh.entries, k) // deleting during iteration is allowed
			freed = true
		} else if !found || exp < oldestExp {
			oldest, oldestExp, found = k, exp, true
		}
		if seen++; seen >= evictSample {
			break
		}
	}
	if !freed && found {
		delete(sh.entries, oldest)
	}
}

// GuardMemoryStore is an in-process GuardStore, sharded and bounded like
// MemoryStore, on a plain map per shard (it is off the hot path: it runs on
// failures and logins only): an entry past its expiry holds no information
// and may be dropped, and a new key in a full shard reclaims expired entries
// among a sample, or evicts the one expiring first. Safe for concurrent use.
type GuardMemoryStore struct {
	shards   []guardShard
	perShard int
	seed     maphash.Seed // of place, which chooses the shard
}

type guardShard struct {
	mu      sync.Mutex
	entries map[[32]byte]guardEntry
}

// NewGuardMemoryStore returns a GuardMemoryStore configured by o.
func NewGuardMemoryStore(o MemoryOptions) (*GuardMemoryStore, error) {
	n, perShard, err := o.layout()
	if err != nil {
		return nil, err
	}
	s := &GuardMemoryStore{shards: make([]guardShard, n), perShard: perShard, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].entries = make(map[[32]byte]guardEntry)
	}
	return s, nil
}

func (s *GuardMemoryStore) shard(key *[32]byte) *guardShard {
	return &s.shards[place(s.seed, key)&uint64(len(s.shards)-1)]
}

// Len returns the number of keys tracked.
func (s *GuardMemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

// Fail implements GuardStore.
func (s *GuardMemoryStore) Fail(_ context.Context, key [32]byte, l Limit, p Lockout, now time.Time) (time.Duration, error) {
	T, tau, err := l.params("Limit")
	if err != nil {
		return 0, err
	}
	ns := now.UnixNano()
	sh := s.shard(&key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, tracked := sh.entries[key]
	old := e
	started := e.fail(T, tau, p, ns)
	if e != old {
		if !tracked && len(sh.entries) >= s.perShard {
			sh.makeRoom(ns)
		}
		sh.entries[key] = e
	}
	return started, nil
}

// Locked implements GuardStore.
func (s *GuardMemoryStore) Locked(_ context.Context, key [32]byte, now time.Time) (time.Duration, error) {
	sh := s.shard(&key)
	sh.mu.Lock()
	e := sh.entries[key]
	sh.mu.Unlock()
	if d := e.lockUntil - now.UnixNano(); d > 0 {
		return time.Duration(d), nil
	}
	return 0, nil
}

// Reset implements GuardStore.
func (s *GuardMemoryStore) Reset(_ context.Context, key [32]byte) error {
	sh := s.shard(&key)
	sh.mu.Lock()
	delete(sh.entries, key)
	sh.mu.Unlock()
	return nil
}
