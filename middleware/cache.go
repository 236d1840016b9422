package middleware

import (
	"sync"
	"time"
)

// cache is the validation cache: valid results only, keyed by the exact
// token string (the map compares whole tokens, so no collision can hand one
// token's claims to another), bounded by an entry cap, each entry living at
// most until min(TTL, exp, iat+MaxAge). Safe for concurrent use: 64 shards,
// each a map under its own RWMutex; a hit takes one read lock.
//
// The shard is chosen from the token's last bytes, which are signature bytes:
// only tokens whose signature verified are ever stored, so they spread
// evenly and an attacker cannot aim many entries at one shard.
type cache struct {
	ttl    time.Duration
	perCap int
	shards [cacheShards]cacheShard
}

const cacheShards = 64

// evictProbe is how many entries a full shard examines to make room.
const evictProbe = 8

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
	_  [40]byte // keep shards on separate cache lines
}

type cacheEntry struct {
	claims *Claims
	until  int64 // unix nanoseconds; the entry is dead from then on
}

func newCache(size int, ttl time.Duration) *cache {
	per := (size + cacheShards - 1) / cacheShards
	if per < 1 {
		per = 1
	}
	c := &cache{ttl: ttl, perCap: per}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *cache) shard(token string) *cacheShard {
	var h uint32 = 2166136261
	for i := max(0, len(token)-8); i < len(token); i++ {
		h = (h ^ uint32(token[i])) * 16777619
	}
	return &c.shards[h%cacheShards]
}

// get returns the live entry for token at now.
func (c *cache) get(token string, now time.Time) (*Claims, bool) {
	s := c.shard(token)
	s.mu.RLock()
	e, ok := s.m[token]
	s.mu.RUnlock()
	if !ok || now.UnixNano() >= e.until {
		return nil, false
	}
	return e.claims, true
}

// put stores claims for token until min(now+TTL, until). When the shard is
// full it evicts in constant time (see evictProbe).
func (c *cache) put(token string, claims *Claims, now, until time.Time) {
	if lim := now.Add(c.ttl); lim.Before(until) {
		until = lim
	}
	if !until.After(now) {
		return
	}
	e := cacheEntry{claims: claims, until: until.UnixNano()}
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[token]; !ok && len(s.m) >= c.perCap {
		// Look at a few entries from a random starting point (Go randomizes
		// map iteration): drop the expired ones, or else the first one seen.
		nowNano := now.UnixNano()
		var victim string
		seen, dropped := 0, false
		for k, old := range s.m {
			if seen == 0 {
				victim = k
			}
			if nowNano >= old.until {
				delete(s.m, k)
				dropped = true
			}
			if seen++; seen == evictProbe {
				break
			}
		}
		if !dropped {
			delete(s.m, victim)
		}
	}
	// The token usually lives in a larger request buffer; keep only its bytes.
	s.m[string([]byte(token))] = e
}

// len returns the number of entries held.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
