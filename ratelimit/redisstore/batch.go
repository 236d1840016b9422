package redisstore

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apiguard/apiguard/ratelimit"
)

// batchScript decides all the claims of one request in one atomic script:
// KEYS are the claims' keys, ARGV[1] the count n, then each claim's
// emission interval and tolerance (µs). The n requests are taken from every
// key only when every key admits them. Returns {all admitted, then for each
// claim: admitted, reset after (µs), retry after (µs)}; when the batch is
// refused, an admitting claim's reset after is its state before (nothing was
// taken).
const batchScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[1])
local res = {1}
local new = {}
local all = true
for i = 1, #KEYS do
  local T = tonumber(ARGV[2 * i])
  local tau = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if not tat or tat < now then tat = now end
  new[i] = tat + n * T
  local allowAt = new[i] - tau
  if allowAt > now then
    all = false
    res[3 * i - 1] = 0
    res[3 * i] = tat - now
    res[3 * i + 1] = allowAt - now
  else
    res[3 * i - 1] = 1
    res[3 * i] = new[i] - now
    res[3 * i + 1] = 0
  end
end
if not all then
  res[1] = 0
  for i = 1, #KEYS do
    if res[3 * i - 1] == 1 then res[3 * i] = res[3 * i] - n * tonumber(ARGV[2 * i]) end
  end
  return res
end
if n > 0 then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.0f', new[i]), 'PX', math.ceil((new[i] - now) / 1000))
  end
end
return res
`

// AllowBatch implements ratelimit.BatchStore with one EVALSHA (EVAL when the
// script is not yet loaded) for all the claims, whatever their number. Every
// key is "{<prefix>:rlb:<hex group>}:<hex key>": the group is the hash tag,
// so one request's keys share a slot and Redis Cluster runs the script.
//
// A claim Redis refused is remembered locally (Options.OverLimit) until it
// could fit again, at most OverLimitOptions.MaxAge: while it is, a request
// with that claim and at least that cost is refused without asking Redis,
// and the other claims of such a decision are reported as admitting, with
// Remaining and ResetAfter zero (they were not asked).
func (s *LimiterStore) AllowBatch(ctx context.Context, group [32]byte, claims []ratelimit.Claim, _ time.Time, n int, out []ratelimit.Decision) (bool, error) {
	if err := ratelimit.CheckBatch(claims, n, out); err != nil {
		return false, err
	}
	if s.over != nil && n > 0 && s.over.refuse(claims, n, out) {
		return false, nil
	}
	if err := s.br.Allow(); err != nil {
		return false, fmt.Errorf("redisstore: %w", err)
	}
	keys := make([]string, len(claims))
	args := make([]any, 1+2*len(claims))
	args[0] = n
	for i := range claims {
		keys[i] = batchKey(s.prefix, &group, &claims[i].Key)
		args[1+2*i] = claims[i].Limit.Interval().Microseconds()
		args[2+2*i] = claims[i].Limit.Tolerance().Microseconds()
	}
	res, err := s.batch.Run(ctx, s.c, keys, args...).Int64Slice()
	if s.br.Done(err) != nil {
		return false, fmt.Errorf("redisstore: %w", err)
	}
	if len(res) != 1+3*len(claims) {
		return false, errors.New("redisstore: unexpected script reply")
	}
	for i := range claims {
		l := claims[i].Limit
		T, tau := l.Interval().Microseconds(), l.Tolerance().Microseconds()
		r := res[1+3*i:]
		out[i] = ratelimit.Decision{
			Allowed:    r[0] == 1,
			Limit:      l,
			ResetAfter: time.Duration(r[1]) * time.Microsecond,
			RetryAfter: time.Duration(r[2]) * time.Microsecond,
		}
		if rem := (tau - r[1]) / T; rem > 0 {
			out[i].Remaining = int(rem)
		}
	}
	if res[0] != 1 && s.over != nil && n > 0 {
		s.over.remember(claims, n, out)
	}
	return res[0] == 1, nil
}

// batchKey returns "{<prefix>:rlb:<hex group>}:<hex key>".
func batchKey(prefix string, group, k *[32]byte) string {
	var buf [192]byte
	b := append(buf[:0], '{')
	b = append(b, prefix...)
	b = append(b, ":rlb:"...)
	b = hex.AppendEncode(b, group[:])
	b = append(b, "}:"...)
	b = hex.AppendEncode(b, k[:])
	return string(b)
}

// Defaults and bounds of OverLimitOptions.
const (
	DefaultOverLimitSlots  = 4096
	MaxOverLimitSlots      = 1 << 20
	DefaultOverLimitMaxAge = time.Second
	MaxOverLimitMaxAge     = time.Minute
)

// OverLimitOptions configures a limiter store's local memory of claims known
// to be over their limit, so that a flood from one client (or one IP group
// over its ceiling) costs about one Redis round trip per MaxAge instead of
// one per request. Such a claim is remembered when Redis refuses it, until
// its RetryAfter or MaxAge, whichever is sooner; meanwhile a request with
// that key, that limit and at least that cost is refused locally, and
// consumes nothing (as a refusal by Redis would not). The memory only ever
// refuses: it never admits a request Redis would refuse.
//
// Why this is exact, and why MaxAge: a GCRA key's stored time only moves
// forward (every instance's admitted requests push it later), so a claim
// refused now stays refused until its RetryAfter, whatever the other
// instances do. Only a key removed from Redis (an operator's reset, a
// flushed or failed-over Redis) frees it sooner; MaxAge (default 1 s)
// bounds how long this instance may keep refusing such a client, and how far
// the local clock may drift from Redis's meanwhile.
//
// The memory is a direct-mapped table of Slots entries (default 4,096),
// lock-free: a collision replaces an entry, which costs at most one more
// round trip. The guard store has no such memory.
type OverLimitOptions struct {
	// Disabled turns the memory off: every decision asks Redis.
	Disabled bool
	// Slots is the table's size, rounded up to a power of two; at most
	// MaxOverLimitSlots. Default DefaultOverLimitSlots.
	Slots int
	// MaxAge caps how long a refusal is remembered: > 0 and at most
	// MaxOverLimitMaxAge. Default DefaultOverLimitMaxAge.
	MaxAge time.Duration
	// Now is the local clock of the memory. Default time.Now.
	Now func() time.Time
}

// overLimit is the memory of OverLimitOptions.
type overLimit struct {
	slots  []atomic.Pointer[overEntry]
	mask   uint64
	maxAge time.Duration
	now    func() time.Time
}

// overEntry is one remembered refusal; immutable once stored.
type overEntry struct {
	key   [32]byte
	limit ratelimit.Limit
	n     int       // the refused cost: at least as much is refused
	at    time.Time // when Redis refused it (local clock)
	until time.Time
	d     ratelimit.Decision
}

// newOverLimit validates o and returns its memory, nil when disabled.
func newOverLimit(o OverLimitOptions) (*overLimit, error) {
	if o.Disabled {
		return nil, nil
	}
	switch {
	case o.Slots < 0 || o.Slots > MaxOverLimitSlots:
		return nil, errors.New("redisstore: Options.OverLimit.Slots " + strconv.Itoa(o.Slots) + " must be 0 (default) to " + strconv.Itoa(MaxOverLimitSlots))
	case o.MaxAge < 0 || o.MaxAge > MaxOverLimitMaxAge:
		return nil, errors.New("redisstore: Options.OverLimit.MaxAge " + o.MaxAge.String() + " must be 0 (default) to " + MaxOverLimitMaxAge.String())
	}
	if o.Slots == 0 {
		o.Slots = DefaultOverLimitSlots
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultOverLimitMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	n := 1 << bits.Len(uint(o.Slots-1))
	return &overLimit{slots: make([]atomic.Pointer[overEntry], n), mask: uint64(n - 1), maxAge: o.MaxAge, now: o.Now}, nil
}

// slot returns the slot of key (keys are uniformly spread hashes).
func (m *overLimit) slot(key *[32]byte) *atomic.Pointer[overEntry] {
	return &m.slots[binary.LittleEndian.Uint64(key[:8])&m.mask]
}

// refuse reports whether a claim of the batch is remembered as over its
// limit for a cost of n, and then fills out.
func (m *overLimit) refuse(claims []ratelimit.Claim, n int, out []ratelimit.Decision) bool {
	var now time.Time
	hit := false
	for i := range claims {
		c := &claims[i]
		e := m.slot(&c.Key).Load()
		if e == nil || e.key != c.Key || e.limit != c.Limit || n < e.n {
			continue
		}
		if !hit {
			now = m.now()
		}
		if !now.Before(e.until) {
			continue
		}
		if !hit {
			for j := range claims {
				out[j] = ratelimit.Decision{Allowed: true, Limit: claims[j].Limit}
			}
			hit = true
		}
		el := now.Sub(e.at)
		d := e.d
		d.RetryAfter = max(d.RetryAfter-el, time.Microsecond)
		d.ResetAfter = max(d.ResetAfter-el, 0)
		out[i] = d
	}
	return hit
}

// remember stores the refused claims of a batch Redis refused for n.
func (m *overLimit) remember(claims []ratelimit.Claim, n int, out []ratelimit.Decision) {
	now := m.now()
	for i := range claims {
		d := out[i]
		if d.Allowed {
			continue
		}
		ttl := min(d.RetryAfter, m.maxAge)
		if ttl <= 0 {
			continue
		}
		slot := m.slot(&claims[i].Key)
		if e := slot.Load(); e != nil && e.key == claims[i].Key && e.n < n && now.Before(e.until) {
			continue // a smaller cost is already refused
		}
		slot.Store(&overEntry{key: claims[i].Key, limit: claims[i].Limit, n: n, at: now, until: now.Add(ttl), d: d})
	}
}
