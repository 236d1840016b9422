package redisstore

// TEMPORARY, until branch dpop (package middleware/dpop) is merged: the
// contract's dpop.ReplayCache, dpop.ErrReplay and dpop.NewMemoryReplayCache,
// copied here so the Redis replay cache compiles and is tested against a
// real redis-server before the package exists. The merge replaces this file
// with the real names.

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayCache is dpop.ReplayCache.
type ReplayCache interface {
	Use(ctx context.Context, jkt, jti string, expires time.Time) error
}

// ErrReplay is dpop.ErrReplay.
var ErrReplay = errors.New("dpop: proof replayed")

type premergeMemory struct {
	mu   sync.Mutex
	max  int
	seen map[[2]string]time.Time
}

func newMemoryFront() ReplayCache {
	return &premergeMemory{max: 100_000, seen: map[[2]string]time.Time{}}
}

func (m *premergeMemory) Use(_ context.Context, jkt, jti string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	k := [2]string{jkt, jti}
	if exp, ok := m.seen[k]; ok && now.Before(exp) {
		return ErrReplay
	}
	if len(m.seen) >= m.max {
		for k, exp := range m.seen {
			if !now.Before(exp) {
				delete(m.seen, k)
			}
		}
		if len(m.seen) >= m.max {
			return errors.New("dpop: memory replay cache full")
		}
	}
	m.seen[k] = expires
	return nil
}
