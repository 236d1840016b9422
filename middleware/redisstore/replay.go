package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apiguard/apiguard/internal/breaker"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/redis/go-redis/v9"
)

// DPoPReplayOptions configures a DPoPReplayCache. The zero value is usable.
type DPoPReplayOptions struct {
	// Prefix starts every key (see DPoPReplayCache). Default DefaultPrefix
	// ("apiguard:"). It must not contain a brace.
	Prefix string
	// Local is the in-memory front consulted before Redis. Default a
	// dpop.NewMemoryReplayCache(0) of its own, on the clock Now. Give each
	// cache its own: a front shared by two caches on different Redis
	// deployments would mix their decisions. Its answers other than
	// dpop.ErrReplay (fresh, or dpop.ErrReplayCacheFull) decide nothing:
	// Redis does.
	Local dpop.ReplayCache
	// Breaker configures the cache's circuit breaker (the zero value: on,
	// with its defaults; see BreakerOptions). While it is open, every proof
	// the front does not already know is refused at once with an error
	// matching ErrCircuitOpen (the gate answers 503).
	Breaker BreakerOptions
	// Now is the clock of the "expiry not in the future" check, and of the
	// default Local. Default time.Now.
	Now func() time.Time
}

// DPoPReplayCache is a dpop.ReplayCache shared through Redis, so that a DPoP
// proof used on one instance is refused on every other (RFC 9449 §11.1).
// It is safe for concurrent use, by any number of instances sharing the
// Redis.
//
// Use first asks the local front (Local): a pair this instance has seen is
// refused (dpop.ErrReplay) without a Redis command. Otherwise it sends one
// command, SET <key> 1 NX PXAT <expires, in ms, rounded up>: stored, the
// proof is fresh; already there, it is a replay from another instance (or
// from this one, forgotten by the front). Any error, a cancelled context or
// an open breaker included, is returned as it is: not dpop.ErrReplay, so the
// proof is refused and the gate answers 503 (fail closed). The front
// records the pair before Redis answers, so a proof refused for an outage
// and presented again is a replay here; a client makes a fresh proof for
// every request anyway (RFC 9449 §4.2).
//
// # Keys
//
// One key per proof, <prefix>dpop:<hex SHA-256 of the thumbprint's length,
// the thumbprint and the jti>: 64 hex digits whatever the proof carries, so
// no attacker-chosen byte reaches a key, and a jti cannot collide with
// another key's thumbprint. The key expires (PXAT) when the proof's window
// ends, so Redis holds only the proofs that could still be replayed: at
// most the proofs accepted within one window (DPoP MaxAge + leeway). PXAT is
// Redis's clock; the instances' clocks and Redis's must agree (NTP) to
// within the verifier's leeway.
//
// Unlike the revocation list's, these keys share no hash tag: each is a
// single-key command, so on a Redis Cluster they spread over every master,
// and the check on every DPoP request does not load one node alone.
type DPoPReplayCache struct {
	c      redis.UniversalClient
	prefix string
	local  dpop.ReplayCache
	br     *breaker.Breaker
	now    func() time.Time
}

var _ dpop.ReplayCache = (*DPoPReplayCache)(nil)

// NewDPoPReplayCache returns a DPoPReplayCache on client. It sends nothing
// to Redis until the first Use.
func NewDPoPReplayCache(client redis.UniversalClient, opts DPoPReplayOptions) (*DPoPReplayCache, error) {
	if nilClient(client) {
		return nil, errors.New("redisstore: NewDPoPReplayCache: client is nil")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: DPoPReplayOptions.Prefix %q contains a brace, which would put every key in one hash slot", opts.Prefix)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Local == nil {
		front := dpop.NewMemoryReplayCache(0)
		front.Now = opts.Now
		opts.Local = front
	}
	br, err := newBreaker(client, opts.Breaker, "DPoPReplayOptions")
	if err != nil {
		return nil, err
	}
	return &DPoPReplayCache{c: client, prefix: opts.Prefix + "dpop:", local: opts.Local, br: br, now: opts.Now}, nil
}

// Use implements dpop.ReplayCache: nil when the proof (jkt, jti) is fresh
// and is now recorded until expires, dpop.ErrReplay when it was used before,
// any other error when it cannot tell (see DPoPReplayCache).
func (c *DPoPReplayCache) Use(ctx context.Context, jkt, jti string, expires time.Time) error {
	if !expires.After(c.now()) {
		// Redis would store and drop it at once, answering "fresh": a
		// proof whose window has ended cannot be recorded, so refuse it.
		return fmt.Errorf("redisstore: dpop replay cache: expiry %s is not in the future", expires.UTC().Format(time.RFC3339Nano))
	}
	if err := c.local.Use(ctx, jkt, jti, expires); errors.Is(err, dpop.ErrReplay) {
		return dpop.ErrReplay // known here: no round trip
	}
	// Any other answer of the front (fresh, or full) is no decision for
	// several instances: Redis decides.
	if err := c.br.Allow(); err != nil {
		return fmt.Errorf("redisstore: dpop replay cache: %w", err)
	}
	ms := expires.UnixMilli()
	if expires.Nanosecond()%int(time.Millisecond) != 0 {
		ms++ // never forget a proof before its window ends
	}
	err := c.c.Do(ctx, "SET", c.key(jkt, jti), "1", "NX", "PXAT", strconv.FormatInt(ms, 10)).Err()
	switch c.br.Done(err); {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return dpop.ErrReplay // NX: already recorded, by another instance
	default:
		return fmt.Errorf("redisstore: dpop replay cache: %w", err)
	}
}

// key is the proof's key: the prefix and 64 hex digits of SHA-256(len(jkt)
// as 8 bytes big-endian, jkt, jti).
func (c *DPoPReplayCache) key(jkt, jti string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(jkt)))
	h.Write(n[:])
	h.Write([]byte(jkt))
	h.Write([]byte(jti))
	var sum [sha256.Size]byte
	var out [len("apiguard:dpop:") + 2*sha256.Size]byte
	b := append(out[:0], c.prefix...)
	return string(hex.AppendEncode(b, h.Sum(sum[:0])))
}
