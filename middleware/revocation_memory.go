package middleware

import (
	"context"
	"sync"
	"time"
)

// MemoryRevocationList is an in-process RevocationList. Entries are forgotten
// once the token they name would have expired. It is safe for concurrent use;
// IsRevoked takes a read lock and does not allocate. The Redis-backed list
// uses one as its local replica.
type MemoryRevocationList struct {
	now func() time.Time

	mu       sync.RWMutex
	tokens   map[tokenRef]time.Time // (iss, jti) -> forget after
	subjects map[tokenRef]subjectCut
	writes   int
}

type tokenRef struct{ iss, id string }

type subjectCut struct {
	before    time.Time
	keepUntil time.Time
}

// sweepEvery is how many writes pass between sweeps of expired entries, so
// the list stays bounded by the number of live revoked tokens.
const sweepEvery = 256

// NewMemoryRevocationList returns an empty list. now is the clock (nil means
// time.Now); tests pass a fixed one.
func NewMemoryRevocationList(now func() time.Time) *MemoryRevocationList {
	if now == nil {
		now = time.Now
	}
	return &MemoryRevocationList{
		now:      now,
		tokens:   make(map[tokenRef]time.Time),
		subjects: make(map[tokenRef]subjectCut),
	}
}

// IsRevoked implements RevocationList. It never returns an error.
func (l *MemoryRevocationList) IsRevoked(iss, jti, sub string, iat time.Time) (bool, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.tokens) > 0 && jti != "" {
		if _, ok := l.tokens[tokenRef{iss, jti}]; ok {
			return true, nil
		}
	}
	if len(l.subjects) > 0 && sub != "" {
		if cut, ok := l.subjects[tokenRef{iss, sub}]; ok && iat.Before(cut.before) {
			return true, nil
		}
	}
	return false, nil
}

// RevokeToken implements RevocationList.
func (l *MemoryRevocationList) RevokeToken(_ context.Context, iss, jti string, exp time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.tokens[tokenRef{iss, jti}]; !ok || exp.After(old) {
		l.tokens[tokenRef{iss, jti}] = exp
	}
	l.maybeSweepLocked()
	return nil
}

// RevokeSubject implements RevocationList. A later cut-off replaces an
// earlier one; an earlier one never shortens a later one.
func (l *MemoryRevocationList) RevokeSubject(_ context.Context, iss, sub string, before, keepUntil time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := l.subjects[tokenRef{iss, sub}]
	if before.After(cut.before) {
		cut.before = before
	}
	if keepUntil.After(cut.keepUntil) {
		cut.keepUntil = keepUntil
	}
	l.subjects[tokenRef{iss, sub}] = cut
	l.maybeSweepLocked()
	return nil
}

// Len returns the number of token and subject entries held.
func (l *MemoryRevocationList) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.tokens) + len(l.subjects)
}

// Sweep forgets every entry whose token would have expired by now.
func (l *MemoryRevocationList) Sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked()
}

func (l *MemoryRevocationList) maybeSweepLocked() {
	l.writes++
	if l.writes%sweepEvery == 0 {
		l.sweepLocked()
	}
}

func (l *MemoryRevocationList) sweepLocked() {
	now := l.now()
	for k, exp := range l.tokens {
		if !exp.After(now) {
			delete(l.tokens, k)
		}
	}
	for k, cut := range l.subjects {
		if !cut.keepUntil.After(now) {
			delete(l.subjects, k)
		}
	}
}
