package dpop

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// ErrReplay: the proof's (jkt, jti) was used before within its window.
var ErrReplay = errors.New("dpop: proof replayed")

// ErrReplayCacheFull: a MemoryReplayCache holds as many live proofs as it
// may, so it cannot record one more; Verify refuses the proof with 503
// rather than forget a live one.
var ErrReplayCacheFull = errors.New("dpop: replay cache full of live proofs")

// DefaultReplayCacheSize is the number of live proofs a
// NewMemoryReplayCache(0) remembers: with the default window (MaxAge +
// Leeway, 90 s) about 11,600 proofs a second, sustained.
const DefaultReplayCacheSize = 1 << 20

// ReplayCache remembers used proofs. Use records that the proof with this
// jti, signed by the key whose RFC 7638 SHA-256 thumbprint (base64url) is
// jkt, is used, until expires. It returns nil when the pair is fresh (and is
// now recorded), ErrReplay when it was used before and has not expired, and
// any other error when it cannot tell: the proof is then refused (fail
// closed, answered 503). Implementations are safe for concurrent use.
type ReplayCache interface {
	Use(ctx context.Context, jkt, jti string, expires time.Time) error
}

// MemoryReplayCache is a bounded in-memory ReplayCache, for one instance
// (several instances share one in Redis). It is safe for concurrent use.
// Use allocates nothing: it costs one time.Now, two maphash.Bytes over a
// stack copy of the pair, a shard lock and a short linear probe
// (BenchmarkMemoryReplayCache).
//
// It never forgets a live entry: when it holds max of them, Use returns
// ErrReplayCacheFull until some expire. Expired entries are reused in place
// and swept when room is needed. Memory grows with use, to at most about
// 50 bytes per entry (24 per slot, at least 3/4 of the slots usable).
//
// A pair is stored as 128 bits: two 64-bit maphash values of (jkt, jti),
// each under its own random seed, made at construction and never shown. The
// only effect of two pairs sharing those 128 bits is that the second is
// refused as a replay (fail closed: never is a replay accepted, since a
// replay hashes to its own bits). With n live entries the chance that some
// fresh pair is refused that way is about n/2^128 per Use (1 in 2^108 at
// 2^20 entries); and it cannot be steered, because choosing colliding pairs
// needs the seeds, which no answer reveals beyond "replayed or not" for
// pairs one already sent.
//
// The capacity is split evenly over up to 64 shards, each with its own
// lock, chosen by the hash; a shard is full at max/shards entries.
type MemoryReplayCache struct {
	// Now is the clock that decides expiry; nil is time.Now. Set it before
	// the first Use.
	Now func() time.Time

	seed1, seed2 maphash.Seed
	shards       []replayShard
	mask         uint64
}

type replayShard struct {
	mu        sync.Mutex
	slots     []replaySlot // open addressing, linear probing; a power of two, nil before the first Use
	used      int          // slots not empty (live or expired)
	limit     int          // live entries at most
	maxSlots  int
	fullUntil int64 // after a sweep found the shard full: its earliest expiry, before which no sweep can help
	_         [64]byte
}

// replaySlot is one remembered pair; exp (Unix nanoseconds) 0 is an empty
// slot, exp <= now an expired one, reusable.
type replaySlot struct {
	k1, k2 uint64
	exp    int64
}

// NewMemoryReplayCache returns a cache that remembers at most max live
// proofs; max <= 0 means DefaultReplayCacheSize.
func NewMemoryReplayCache(max int) *MemoryReplayCache {
	if max <= 0 {
		max = DefaultReplayCacheSize
	}
	n := 1
	for n < 64 && max/(2*n) >= 1024 {
		n *= 2
	}
	c := &MemoryReplayCache{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), shards: make([]replayShard, n), mask: uint64(n - 1)}
	for i := range c.shards {
		s := &c.shards[i]
		s.limit = max / n
		if i < max%n {
			s.limit++
		}
		// At most 3/4 of the slots are used, so a probe always ends.
		s.maxSlots = 16
		for s.maxSlots*3/4 < s.limit+1 {
			s.maxSlots *= 2
		}
	}
	return c
}

// Use implements ReplayCache. A pair whose expires is not after now is not
// recorded (a verifier refuses its proof anyway).
func (c *MemoryReplayCache) Use(_ context.Context, jkt, jti string, expires time.Time) error {
	var now int64
	if c.Now != nil {
		now = c.Now().UnixNano()
	} else {
		now = time.Now().UnixNano()
	}
	exp := expires.UnixNano()
	if exp <= now {
		return nil
	}
	k1, k2 := c.key(jkt, jti)
	s := &c.shards[k1&c.mask]
	s.mu.Lock()
	err := s.use(k1, k2, exp, now)
	s.mu.Unlock()
	return err
}

// key hashes the pair, framed by jkt's length so that ("ab", "c") and
// ("a", "bc") differ: one maphash.Bytes per seed over a stack copy (a third
// of the cost of a streaming maphash.Hash), or the stream for a pair too
// long for the buffer (never from Verify: jkt is 43 bytes, jti at most
// MaxJTILength).
func (c *MemoryReplayCache) key(jkt, jti string) (uint64, uint64) {
	var buf [2 + 64 + MaxJTILength]byte
	if len(jkt) <= 0xffff && 2+len(jkt)+len(jti) <= len(buf) {
		binary.LittleEndian.PutUint16(buf[:2], uint16(len(jkt)))
		n := 2 + copy(buf[2:], jkt)
		n += copy(buf[n:], jti)
		return maphash.Bytes(c.seed1, buf[:n]), maphash.Bytes(c.seed2, buf[:n])
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(jkt)))
	var h maphash.Hash
	h.SetSeed(c.seed1)
	h.Write(n[:])
	h.WriteString(jkt)
	h.WriteString(jti)
	k1 := h.Sum64()
	h.SetSeed(c.seed2)
	h.Write(n[:])
	h.WriteString(jkt)
	h.WriteString(jti)
	return k1, h.Sum64()
}

func (s *replayShard) use(k1, k2 uint64, exp, now int64) error {
	if s.slots == nil {
		s.slots = make([]replaySlot, 16)
	}
	mask := uint64(len(s.slots) - 1)
	i := k2 & mask
	reuse := -1
	for {
		sl := &s.slots[i]
		if sl.exp == 0 {
			break
		}
		if sl.k1 == k1 && sl.k2 == k2 {
			if sl.exp > now {
				return ErrReplay
			}
			sl.exp = exp // the same pair, expired: fresh again
			return nil
		}
		if reuse < 0 && sl.exp <= now {
			reuse = int(i)
		}
		i = (i + 1) & mask
	}
	if reuse >= 0 {
		s.slots[reuse] = replaySlot{k1, k2, exp}
		return nil
	}
	if s.used+1 > s.limit || (s.used+1)*4 > len(s.slots)*3 {
		if err := s.makeRoom(now); err != nil {
			return err
		}
		mask = uint64(len(s.slots) - 1)
		for i = k2 & mask; s.slots[i].exp != 0; i = (i + 1) & mask {
		}
	}
	s.slots[i] = replaySlot{k1, k2, exp}
	s.used++
	return nil
}

// makeRoom sweeps the expired entries out and grows the table as needed for
// one more entry, or reports the shard full of live ones.
func (s *replayShard) makeRoom(now int64) error {
	if now < s.fullUntil {
		return ErrReplayCacheFull
	}
	live, earliest := s.sweep(now)
	if live+1 > s.limit {
		s.fullUntil = earliest
		return ErrReplayCacheFull
	}
	s.fullUntil = 0
	size := len(s.slots)
	for (live+1)*4 > size*3 && size < s.maxSlots {
		size *= 2
	}
	if size != len(s.slots) {
		old := s.slots
		s.slots = make([]replaySlot, size)
		mask := uint64(size - 1)
		for _, e := range old {
			if e.exp != 0 {
				i := e.k2 & mask
				for s.slots[i].exp != 0 {
					i = (i + 1) & mask
				}
				s.slots[i] = e
			}
		}
	}
	return nil
}

// sweep empties the expired slots in place and re-places the live entries
// so that each is reachable again from its home slot; it returns how many
// are live and the earliest expiry among them.
//
// The walk starts from a slot that is empty before the sweep: no probe path
// crosses it, so every entry's home lies between that slot and the entry.
// Walking forward, each live entry leaves its slot and is re-inserted from
// its home: it lands at or before the slot it left, never across a slot
// still to be walked, so every entry already walked stays reachable.
// (Starting from a slot that only the sweep emptied would not do: an entry
// whose path crossed it could be re-placed beyond a slot emptied later.)
func (s *replayShard) sweep(now int64) (live int, earliest int64) {
	n := len(s.slots)
	mask := uint64(n - 1)
	start := 0
	for s.slots[start].exp != 0 { // there is an empty slot: at most 3/4 are used
		start++
	}
	for j := 1; j < n; j++ {
		i := uint64(start+j) & mask
		e := s.slots[i]
		if e.exp == 0 {
			continue
		}
		s.slots[i] = replaySlot{}
		if e.exp <= now {
			continue
		}
		live++
		if earliest == 0 || e.exp < earliest {
			earliest = e.exp
		}
		k := e.k2 & mask
		for s.slots[k].exp != 0 {
			k = (k + 1) & mask
		}
		s.slots[k] = e
	}
	s.used = live
	return live, earliest
}
