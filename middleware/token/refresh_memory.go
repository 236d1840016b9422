package token

import (
	"container/heap"
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Defaults of MemoryRefreshOptions. At the defaults a full store holds about
// 650 MB (some 300 bytes a family with its roles, 85 a token hash).
const (
	// DefaultMaxFamilies caps the live families of a MemoryRefreshStore.
	DefaultMaxFamilies = 1_000_000
	// DefaultMaxTokens caps the token hashes (current and spent) of a
	// MemoryRefreshStore.
	DefaultMaxTokens = 4_000_000
	// DefaultMaxRotations caps the rotations of one family: ten thousand is
	// a refresh a minute for a week, far more than any client refreshing
	// once an access-token lifetime.
	DefaultMaxRotations = 10_000
)

// ErrRefreshStoreFull is a MemoryRefreshStore's refusal to start a family or
// spend a token at its cap (MaxFamilies or MaxTokens) when nothing expired
// could make room. It is a store failure, not a decision: RefreshTokens
// wraps it in ErrStoreUnavailable, which a token endpoint answers with 503
// and Retry-After, and the presented token stays unspent.
var ErrRefreshStoreFull = errors.New("apiguard: refresh: memory store full")

// MemoryRefreshOptions configures a MemoryRefreshStore. The zero value is
// usable; each zero field means the default its doc names.
type MemoryRefreshOptions struct {
	// Now is the clock of housekeeping (reclaiming expired families and
	// ended retry windows); the decisions of Lookup and Spend use the time
	// they are given. Give it the clock of the RefreshTokens using the
	// store. Default time.Now.
	Now func() time.Time
	// MaxFamilies caps the families held. Default DefaultMaxFamilies
	// (1,000,000).
	MaxFamilies int
	// MaxTokens caps the token hashes held, current and spent, across all
	// families. Default DefaultMaxTokens (4,000,000).
	MaxTokens int
	// MaxRotations caps the spends of one family: the family's next spend
	// answers ErrInvalidGrant, as if it had expired, and the user signs in
	// again. The family stays until it expires, so each of its spent tokens
	// still detects reuse. It keeps one family from filling MaxTokens.
	// Default DefaultMaxRotations (10,000).
	MaxRotations int
}

// MemoryRefreshStore is an in-process RefreshStore for a single instance. It
// is safe for concurrent use: one mutex guards everything, which is plenty for
// refreshes (one per access-token lifetime per client) and makes Spend
// trivially atomic.
//
// It is bounded, and counts entries rather than bytes:
//
//   - at most MaxFamilies families and MaxTokens token hashes, at most
//     MaxRotations+1 hashes a family (see MemoryRefreshOptions);
//   - an expired family is dropped, with all its hashes, at the first
//     Create or Spend after its expiry (a heap by expiry finds it);
//   - a revoked family is dropped at once, with all its hashes: a token of
//     a revoked family and an unknown token get the same answer
//     (ErrInvalidGrant, no reuse event, no change) from Lookup and Spend,
//     and RevokeFamily of an unknown family is not an error, so nothing of
//     it can matter any more; its access tokens are revoked by the session
//     revocation (RefreshConfig.Revocation), which keeps it as long as they
//     live;
//   - a spend's sealed successor is dropped when its retry window ends (a
//     small entry per spend remembers the window until then).
//
// At a cap, a new family or a new token first reclaims expired families; if
// none has expired, Create or Spend fails with ErrRefreshStoreFull (503).
// A live family is never dropped to make room: that would silently sign a
// user out and forget the spent tokens that detect a theft.
type MemoryRefreshStore struct {
	now          func() time.Time
	maxFamilies  int
	maxTokens    int
	maxRotations int

	mu       sync.Mutex
	families map[string]*memFamily
	hashes   map[[32]byte]*memFamily // current and spent hashes
	expiry   familyHeap              // every family held, earliest expiry first
	windows  []retryWindow           // open retry windows, in spend order
}

type memFamily struct {
	fam     Family
	current [32]byte
	hashes  [][32]byte // every hash ever issued, the current one included
	index   int        // in the expiry heap

	// The spend most recently made: the hash it spent, the end of its retry
	// window, and the sealed successor (current), dropped after the window.
	prev       [32]byte
	prevUntil  time.Time
	prevSealed []byte
}

// retryWindow is a spend whose sealed successor is dropped at until, unless
// the family has spent again (or gone) since.
type retryWindow struct {
	f     *memFamily
	until time.Time
}

var _ RefreshStore = (*MemoryRefreshStore)(nil)

// NewMemoryRefreshStore returns an empty store with the default caps. now
// is the clock of housekeeping (nil means time.Now); the expiry checks of
// Lookup and Spend use the time they are given.
func NewMemoryRefreshStore(now func() time.Time) *MemoryRefreshStore {
	s, _ := NewMemoryRefreshStoreWith(MemoryRefreshOptions{Now: now})
	return s
}

// NewMemoryRefreshStoreWith validates o and returns an empty store.
func NewMemoryRefreshStoreWith(o MemoryRefreshOptions) (*MemoryRefreshStore, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxFamilies", &o.MaxFamilies, DefaultMaxFamilies},
		{"MaxTokens", &o.MaxTokens, DefaultMaxTokens},
		{"MaxRotations", &o.MaxRotations, DefaultMaxRotations},
	} {
		if *f.v < 0 {
			return nil, errors.New("apiguard: MemoryRefreshOptions." + f.name + " " + strconv.Itoa(*f.v) + " must not be negative")
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MemoryRefreshStore{
		now:          o.Now,
		maxFamilies:  o.MaxFamilies,
		maxTokens:    o.MaxTokens,
		maxRotations: o.MaxRotations,
		families:     make(map[string]*memFamily),
		hashes:       make(map[[32]byte]*memFamily),
	}, nil
}

// Create implements RefreshStore. At MaxFamilies or MaxTokens, with no
// expired family to reclaim, it fails with ErrRefreshStoreFull.
func (s *MemoryRefreshStore) Create(_ context.Context, fam Family, tokenHash [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.housekeepLocked(s.now())
	if old, ok := s.families[fam.ID]; ok {
		s.dropLocked(old)
	}
	if len(s.families) >= s.maxFamilies || len(s.hashes) >= s.maxTokens {
		return ErrRefreshStoreFull
	}
	if _, taken := s.hashes[tokenHash]; taken {
		return errRefreshHashTaken
	}
	fam.Roles = slices.Clone(fam.Roles)
	f := &memFamily{fam: fam, current: tokenHash, hashes: [][32]byte{tokenHash}}
	s.families[fam.ID] = f
	s.hashes[tokenHash] = f
	heap.Push(&s.expiry, f)
	return nil
}

// Lookup implements RefreshStore.
func (s *MemoryRefreshStore) Lookup(_ context.Context, tokenHash [32]byte, now time.Time) (Family, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.hashes[tokenHash]
	if !ok || !now.Before(f.fam.ExpiresAt) {
		return Family{}, ErrInvalidGrant
	}
	return f.copyFamily(), nil
}

// Spend implements RefreshStore, with the same decisions as the Redis
// store's script, and MaxRotations: a family's spend beyond it answers
// ErrInvalidGrant. A new token at MaxTokens, with no expired family to
// reclaim, fails with ErrRefreshStoreFull and spends nothing.
func (s *MemoryRefreshStore) Spend(_ context.Context, req SpendRequest) (SpendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.housekeepLocked(s.now())
	f, ok := s.hashes[req.Hash]
	if !ok || !req.Now.Before(f.fam.ExpiresAt) {
		return SpendResult{}, ErrInvalidGrant
	}
	if f.fam.JKT != req.JKT {
		// Before any decision about the hash: nothing spent, no retry
		// answered, no reuse (see RefreshStore.Spend).
		return SpendResult{Family: f.copyFamily()}, ErrRefreshKeyMismatch
	}
	if f.current == req.Hash {
		if len(f.hashes) > s.maxRotations {
			return SpendResult{}, ErrInvalidGrant
		}
		if _, taken := s.hashes[req.Next.Hash]; taken {
			// 256 random bits never collide; a broken random source might.
			return SpendResult{}, errRefreshHashTaken
		}
		if len(s.hashes) >= s.maxTokens {
			return SpendResult{}, ErrRefreshStoreFull
		}
		f.prev, f.prevUntil, f.prevSealed = req.Hash, req.RetryUntil, slices.Clone(req.Next.Sealed)
		f.current = req.Next.Hash
		f.hashes = append(f.hashes, req.Next.Hash)
		s.hashes[req.Next.Hash] = f
		s.windows = append(s.windows, retryWindow{f: f, until: req.RetryUntil})
		return SpendResult{Family: f.copyFamily(), Next: req.Next}, nil
	}
	if f.prev == req.Hash && req.Now.Before(f.prevUntil) && f.prevSealed != nil {
		return SpendResult{
			Family: f.copyFamily(),
			Next:   Successor{Hash: f.current, Sealed: slices.Clone(f.prevSealed)},
			Retry:  true,
		}, nil
	}
	fam := f.copyFamily()
	s.dropLocked(f) // revoked: nothing of it matters any more
	return SpendResult{Family: fam}, ErrRefreshReuse
}

// RevokeFamily implements RefreshStore: the family is dropped at once (see
// MemoryRefreshStore).
func (s *MemoryRefreshStore) RevokeFamily(_ context.Context, familyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.families[familyID]; ok {
		s.dropLocked(f)
	}
	return nil
}

// Len returns the number of families held, expired ones not yet reclaimed
// included.
func (s *MemoryRefreshStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.families)
}

// Tokens returns the number of token hashes held, current and spent.
func (s *MemoryRefreshStore) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hashes)
}

// Sweep drops every family expired by now, with all its token hashes, and
// every sealed successor whose retry window has ended. Create and Spend do
// the same, so calling it is never needed to stay bounded.
func (s *MemoryRefreshStore) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.housekeepLocked(s.now())
}

// housekeepLocked reclaims the families expired by now and the sealed
// successors whose retry windows have ended: each costs O(log n) once.
func (s *MemoryRefreshStore) housekeepLocked(now time.Time) {
	for len(s.expiry) > 0 && !now.Before(s.expiry[0].fam.ExpiresAt) {
		s.dropLocked(s.expiry[0])
	}
	n := 0
	for n < len(s.windows) && !now.Before(s.windows[n].until) {
		if w := s.windows[n]; w.f.prevUntil.Equal(w.until) {
			w.f.prevSealed = nil // the retry window is over
		}
		n++
	}
	if n > 0 {
		clear(s.windows[:n])
		s.windows = s.windows[n:] // append reallocates the live part only
	}
}

func (s *MemoryRefreshStore) dropLocked(f *memFamily) {
	for _, h := range f.hashes {
		if s.hashes[h] == f {
			delete(s.hashes, h)
		}
	}
	if s.families[f.fam.ID] == f {
		delete(s.families, f.fam.ID)
	}
	if f.index >= 0 && f.index < len(s.expiry) && s.expiry[f.index] == f {
		heap.Remove(&s.expiry, f.index)
	}
	f.index = -1
	f.prevSealed = nil
}

func (f *memFamily) copyFamily() Family {
	fam := f.fam
	fam.Roles = slices.Clone(fam.Roles)
	return fam
}

// familyHeap orders families by expiry (container/heap), each knowing its
// index so that a revoked one leaves at once.
type familyHeap []*memFamily

func (h familyHeap) Len() int           { return len(h) }
func (h familyHeap) Less(i, j int) bool { return h[i].fam.ExpiresAt.Before(h[j].fam.ExpiresAt) }
func (h familyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *familyHeap) Push(x any) {
	f := x.(*memFamily)
	f.index = len(*h)
	*h = append(*h, f)
}
func (h *familyHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return f
}

// errRefreshHashTaken is a store failure, not a decision: the new hash is
// already in use.
var errRefreshHashTaken = errors.New("apiguard: refresh: new token hash already in use")
