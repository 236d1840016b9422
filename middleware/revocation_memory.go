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
	sessions map[tokenRef]time.Time // (iss, sid) -> forget after
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
		sessions: make(map[tokenRef]time.Time),
		subjects: make(map[tokenRef]subjectCut),
	}
}

// IsRevoked implements RevocationList. It never returns an error.
func (l *MemoryRevocationList) IsRevoked(iss, jti, sub, sid string, iat time.Time) (bool, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.tokens) > 0 && jti != "" {
		if _, ok := l.tokens[tokenRef{iss, jti}]; ok {
			return true, nil
		}
	}
	if len(l.sessions) > 0 && sid != "" {
		if _, ok := l.sessions[tokenRef{iss, sid}]; ok {
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
	l.keepLater(l.tokens, tokenRef{iss, jti}, exp)
	return nil
}

// keepLater records k in m until t, unless m keeps it longer already.
func (l *MemoryRevocationList) keepLater(m map[tokenRef]time.Time, k tokenRef, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := m[k]; !ok || t.After(old) {
		m[k] = t
	}
	l.maybeSweepLocked()
}

// RevokeSession implements RevocationList.
func (l *MemoryRevocationList) RevokeSession(_ context.Context, iss, sid string, keepUntil time.Time) error {
	l.keepLater(l.sessions, tokenRef{iss, sid}, keepUntil)
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

// Len returns the number of token, session and subject entries held.
func (l *MemoryRevocationList) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.tokens) + len(l.sessions) + len(l.subjects)
}

// RevocationKind says what a RevocationEntry names.
type RevocationKind byte

// The kinds of revocation entries.
const (
	RevokedToken   RevocationKind = 't' // ID is a jti
	RevokedSubject RevocationKind = 's' // ID is a sub; Before is the cut-off
	RevokedSession RevocationKind = 'x' // ID is a sid
)

// RevocationEntry is one entry of a MemoryRevocationList, as Entries
// returns it.
type RevocationEntry struct {
	Kind   RevocationKind
	Issuer string
	ID     string
	// Before is the subject cut-off (RevokedSubject only).
	Before time.Time
	// KeepUntil is when the entry can be forgotten.
	KeepUntil time.Time
}

// Entries returns a copy of every entry not yet forgotten at now, in no
// particular order. A list that replicates a shared store (the Redis list
// in middleware/redisstore) uses it to write back what the store lost.
func (l *MemoryRevocationList) Entries() []RevocationEntry {
	now := l.now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]RevocationEntry, 0, len(l.tokens)+len(l.sessions)+len(l.subjects))
	for k, exp := range l.tokens {
		if exp.After(now) {
			out = append(out, RevocationEntry{Kind: RevokedToken, Issuer: k.iss, ID: k.id, KeepUntil: exp})
		}
	}
	for k, exp := range l.sessions {
		if exp.After(now) {
			out = append(out, RevocationEntry{Kind: RevokedSession, Issuer: k.iss, ID: k.id, KeepUntil: exp})
		}
	}
	for k, cut := range l.subjects {
		if cut.keepUntil.After(now) {
			out = append(out, RevocationEntry{Kind: RevokedSubject, Issuer: k.iss, ID: k.id, Before: cut.before, KeepUntil: cut.keepUntil})
		}
	}
	return out
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
	for k, exp := range l.sessions {
		if !exp.After(now) {
			delete(l.sessions, k)
		}
	}
	for k, cut := range l.subjects {
		if !cut.keepUntil.After(now) {
			delete(l.subjects, k)
		}
	}
}
