package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// MaxPolicies caps Config.Policies. With the IP ceilings (one per policy by
// default) a request is decided against at most MaxClaims budgets.
const MaxPolicies = 8

// MaxClaims caps the claims of one AllowBatch call: MaxPolicies policies and
// as many IP ceilings.
const MaxClaims = 2 * MaxPolicies

// A Claim is one budget a request is decided against: a store key under a
// limit.
type Claim struct {
	Key   [32]byte
	Limit Limit
}

// BatchStore is a Store that decides all the claims of one request at once.
// The Limiter uses AllowBatch when its Store has it (MemoryStore and the
// Redis store do); with a plain Store it asks each claim in turn, which is
// not atomic (see Limiter).
//
// AllowBatch takes n requests from every claim's budget at now, atomically,
// only when every claim admits them; otherwise it takes nothing from any
// (a refused request consumes nothing). It reports whether the batch was
// admitted. out[i] is claims[i]'s decision: Allowed says whether that claim
// alone admits n; when the batch is refused, the Remaining and ResetAfter of
// an admitting claim are its state before the call, since nothing was
// taken. group identifies the request's claims as a whole (the IP group's
// key, or the first claim's key when there is no IP ceiling): the Redis
// store keeps all of a batch's keys in group's hash slot. Claims must have
// distinct keys, 1 to MaxClaims of them, and out at least as many entries;
// n must not be negative (0 only reports).
type BatchStore interface {
	Store
	AllowBatch(ctx context.Context, group [32]byte, claims []Claim, now time.Time, n int, out []Decision) (bool, error)
}

// CheckBatch validates the arguments of an AllowBatch call, for stores in
// other packages: the claim count, out's length, n, each limit, and
// distinct keys.
func CheckBatch(claims []Claim, n int, out []Decision) error {
	return checkBatch(claims, n, out, nil)
}

// checkBatch is CheckBatch, also storing each claim's GCRA parameters in
// params when it is not nil.
func checkBatch(claims []Claim, n int, out []Decision, params *[MaxClaims][2]int64) error {
	if len(claims) == 0 || len(claims) > MaxClaims {
		return errors.New("ratelimit: AllowBatch: " + strconv.Itoa(len(claims)) + " claims, want 1 to " + strconv.Itoa(MaxClaims))
	}
	if len(out) < len(claims) {
		return errors.New("ratelimit: AllowBatch: out holds " + strconv.Itoa(len(out)) + " decisions for " + strconv.Itoa(len(claims)) + " claims")
	}
	if n < 0 {
		return errCount
	}
	for i := range claims {
		T, tau, err := claims[i].Limit.params("Claim.Limit")
		if err != nil {
			return err
		}
		if params != nil {
			params[i] = [2]int64{T, tau}
		}
		for j := range i {
			if claims[j].Key == claims[i].Key {
				return errors.New("ratelimit: AllowBatch: claims " + strconv.Itoa(j) + " and " + strconv.Itoa(i) + " have the same key")
			}
		}
	}
	return nil
}

// before turns an admitting claim's decision into its state before the
// take of n (the batch was refused, so nothing was taken).
func before(d *Decision, n int) {
	T := int64(d.Limit.Interval())
	d.ResetAfter -= time.Duration(int64(n) * T)
	d.Remaining = int((int64(d.Limit.Tolerance()) - int64(d.ResetAfter)) / T)
}

// AllowBatch implements BatchStore: the shards of all the claims are
// locked together (in shard order, so concurrent batches never deadlock),
// every claim is decided, and the TATs are written only when all admit n.
// It allocates nothing unless a shard's table doubles.
func (s *MemoryStore) AllowBatch(_ context.Context, _ [32]byte, claims []Claim, now time.Time, n int, out []Decision) (bool, error) {
	var p [MaxClaims][2]int64
	if err := checkBatch(claims, n, out, &p); err != nil {
		return false, err
	}
	var (
		hs     [MaxClaims]uint64
		order  [MaxClaims]uint64 // shard indices, sorted and distinct
		shards int
		next   [MaxClaims]int64
	)
	sm := uint64(len(s.shards) - 1)
	for i := range claims {
		hs[i] = place(s.seed, &claims[i].Key)
		si := hs[i] & sm
		j := shards
		for j > 0 && order[j-1] > si {
			j--
		}
		if j > 0 && order[j-1] == si {
			continue
		}
		copy(order[j+1:shards+1], order[j:shards])
		order[j] = si
		shards++
	}
	for _, si := range order[:shards] {
		s.shards[si].mu.Lock()
	}
	ns := max(now.UnixNano(), 1)
	all := true
	for i := range claims {
		c := &claims[i]
		T, tau := p[i][0], p[i][1]
		sh := &s.shards[hs[i]&sm]
		var tat int64
		if j, tracked := sh.find(&c.Key, hs[i]); tracked {
			tat = sh.slots[j].tat
		}
		out[i], next[i] = gcra(c.Limit, T, tau, tat, ns, n)
		all = all && out[i].Allowed
	}
	switch {
	case !all:
		for i := range claims {
			if out[i].Allowed {
				before(&out[i], n)
			}
		}
	case n > 0:
		for i := range claims {
			s.shards[hs[i]&sm].put(&claims[i].Key, hs[i], next[i], ns, s.perShard)
		}
	}
	for _, si := range order[:shards] {
		s.shards[si].mu.Unlock()
	}
	return all, nil
}

// put stores tat for key (whose place is h) in sh, whose lock is held,
// making room or growing the table for a new key as Allow does.
func (sh *memoryShard) put(key *[32]byte, h uint64, tat, now int64, perShard int) {
	i, tracked := sh.find(key, h)
	if tracked {
		sh.slots[i].tat = tat
		return
	}
	if sh.n >= perShard {
		sh.makeRoom(h, now)
	} else if 2*(sh.n+1) > len(sh.slots) {
		sh.grow()
	}
	i, _ = sh.find(key, h)
	sh.slots[i] = tatEntry{key: *key, tat: tat}
	sh.n++
}
