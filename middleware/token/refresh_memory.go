package token

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// MemoryRefreshStore is an in-process RefreshStore for a single instance. It
// is safe for concurrent use: one mutex guards everything, which is plenty for
// refreshes (one per access-token lifetime per client) and makes Spend
// trivially atomic. Families, with all their token hashes, are dropped once
// expired, so memory is bounded by the number of live families and their
// rotations.
type MemoryRefreshStore struct {
	now func() time.Time

	mu       sync.Mutex
	families map[string]*memFamily
	hashes   map[[32]byte]*memFamily // current and spent hashes
	creates  int
}

type memFamily struct {
	fam     Family
	current [32]byte
	hashes  [][32]byte // every hash ever issued, the current one included
	revoked bool

	// The spend most recently made: the hash it spent, the end of its retry
	// window, and the sealed successor (current), dropped after the window.
	prev       [32]byte
	prevUntil  time.Time
	prevSealed []byte
}

var _ RefreshStore = (*MemoryRefreshStore)(nil)

// refreshSweepEvery is how many Creates pass between sweeps of expired
// families.
const refreshSweepEvery = 64

// NewMemoryRefreshStore returns an empty store. now is the clock used by
// sweeps (nil means time.Now); the expiry checks of Lookup and Spend use the
// time they are given.
func NewMemoryRefreshStore(now func() time.Time) *MemoryRefreshStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryRefreshStore{
		now:      now,
		families: make(map[string]*memFamily),
		hashes:   make(map[[32]byte]*memFamily),
	}
}

// Create implements RefreshStore.
func (s *MemoryRefreshStore) Create(_ context.Context, fam Family, tokenHash [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if s.creates%refreshSweepEvery == 0 {
		s.sweepLocked(s.now())
	}
	if old, ok := s.families[fam.ID]; ok {
		s.dropLocked(old)
	}
	fam.Roles = slices.Clone(fam.Roles)
	f := &memFamily{fam: fam, current: tokenHash, hashes: [][32]byte{tokenHash}}
	s.families[fam.ID] = f
	s.hashes[tokenHash] = f
	return nil
}

// Lookup implements RefreshStore.
func (s *MemoryRefreshStore) Lookup(_ context.Context, tokenHash [32]byte, now time.Time) (Family, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.hashes[tokenHash]
	if !ok || f.revoked || !now.Before(f.fam.ExpiresAt) {
		return Family{}, ErrInvalidGrant
	}
	return f.copyFamily(), nil
}

// Spend implements RefreshStore, with the same decisions as the Redis
// store's script.
func (s *MemoryRefreshStore) Spend(_ context.Context, req SpendRequest) (SpendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.hashes[req.Hash]
	if !ok || f.revoked || !req.Now.Before(f.fam.ExpiresAt) {
		return SpendResult{}, ErrInvalidGrant
	}
	if f.current == req.Hash {
		if _, taken := s.hashes[req.Next.Hash]; taken {
			// 256 random bits never collide; a broken random source might.
			return SpendResult{}, errRefreshHashTaken
		}
		f.prev, f.prevUntil, f.prevSealed = req.Hash, req.RetryUntil, slices.Clone(req.Next.Sealed)
		f.current = req.Next.Hash
		f.hashes = append(f.hashes, req.Next.Hash)
		s.hashes[req.Next.Hash] = f
		return SpendResult{Family: f.copyFamily(), Next: req.Next}, nil
	}
	if f.prev == req.Hash && req.Now.Before(f.prevUntil) && f.prevSealed != nil {
		return SpendResult{
			Family: f.copyFamily(),
			Next:   Successor{Hash: f.current, Sealed: slices.Clone(f.prevSealed)},
			Retry:  true,
		}, nil
	}
	f.revoked = true
	f.prevSealed = nil
	return SpendResult{Family: f.copyFamily()}, ErrRefreshReuse
}

// RevokeFamily implements RefreshStore.
func (s *MemoryRefreshStore) RevokeFamily(_ context.Context, familyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.families[familyID]; ok {
		f.revoked = true
		f.prevSealed = nil
	}
	return nil
}

// Len returns the number of families held, expired ones not yet swept
// included.
func (s *MemoryRefreshStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.families)
}

// Sweep drops every family expired by now, with all its token hashes.
func (s *MemoryRefreshStore) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.now())
}

func (s *MemoryRefreshStore) sweepLocked(now time.Time) {
	for _, f := range s.families {
		if !now.Before(f.fam.ExpiresAt) {
			s.dropLocked(f)
		} else if f.prevSealed != nil && !now.Before(f.prevUntil) {
			f.prevSealed = nil // the retry window is over
		}
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
}

func (f *memFamily) copyFamily() Family {
	fam := f.fam
	fam.Roles = slices.Clone(fam.Roles)
	return fam
}

// errRefreshHashTaken is a store failure, not a decision: the new hash is
// already in use.
var errRefreshHashTaken = errors.New("apiguard: refresh: new token hash already in use")
