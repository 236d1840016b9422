package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/middleware"
	"github.com/redis/go-redis/v9"
)

// DefaultChannel is the Pub/Sub channel revocations are announced on.
const DefaultChannel = "apiguard:revocations"

// DefaultResyncInterval is how often a replica is reloaded in full from
// Redis even when nothing seems wrong.
const DefaultResyncInterval = 30 * time.Second

// Audit details of the replica's state switches.
const (
	DetailOutOfSync = "revocation replica out of sync"
	DetailInSync    = "revocation replica back in sync"
)

// RevocationOptions configures a RevocationList. The zero value is usable.
type RevocationOptions struct {
	// Prefix starts every key. Default DefaultPrefix ("apiguard:").
	Prefix string
	// Channel is the Pub/Sub channel of revocations. Default DefaultChannel.
	// Every instance of a deployment must use the same one.
	Channel string
	// FailOpen, when true, lets IsRevoked answer from the last known replica
	// while it is not known to be in sync (Redis unreachable, a resync
	// pending). Default false: fail closed, IsRevoked returns
	// middleware.ErrRevocationUnavailable and the gate answers 503.
	FailOpen bool
	// Audit records every switch between in sync and out of sync, once
	// (auditlog.StoreUnavailable with DetailOutOfSync or DetailInSync). Nil
	// records nothing.
	Audit *auditlog.Logger
	// Now is the clock of the replica's expiry sweeps and of RevokeToken's
	// "already expired" check. Default time.Now. The resync schedule uses
	// real time.
	Now func() time.Time
	// ResyncInterval is how often the replica is reloaded in full and the
	// subscription connection is pinged, as a safety net for a lost
	// message or a silently dead connection. Default DefaultResyncInterval
	// (30s); negative is an error.
	ResyncInterval time.Duration
}

// RevocationList is a middleware.RevocationList shared through Redis.
//
// RevokeToken and RevokeSubject run one Lua script that merges the entry
// with any existing one (a later cut-off or expiry wins, as in the memory
// list), SETs it with PXAT at the moment it can be forgotten, and PUBLISHes it
// on the channel: one round trip, atomic. Each entry is a key of its own,
// <prefix>rv:t:<sha256(iss, jti)> or <prefix>rv:s:<sha256(iss, sub)>.
//
// Every instance keeps a replica (a middleware.MemoryRevocationList) and
// IsRevoked reads only the replica: no Redis command and no allocation. The
// replica is loaded with a SCAN of the prefix at construction, fed by a
// subscription to the channel, and loaded again after every (re)subscription
// and every ResyncInterval. The subscription is made before each load, so no
// revocation published during the load is missed.
//
// From the moment the subscription fails until the reload after the next
// successful subscription, the replica is "out of sync", and IsRevoked
// follows FailOpen.
//
// A RevocationList is safe for concurrent use. Close stops its goroutine.
type RevocationList struct {
	c        redis.UniversalClient
	prefix   string
	channel  string
	failOpen bool
	audit    *auditlog.Logger
	now      func() time.Time
	interval time.Duration

	replica atomic.Pointer[middleware.MemoryRevocationList]
	inSync  atomic.Bool

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex // guards ps and closed
	ps     *redis.PubSub
	closed bool
}

var _ middleware.RevocationList = (*RevocationList)(nil)

// NewRevocationList subscribes to the channel, loads the replica, and starts
// the goroutine that keeps it in sync. It fails when Redis cannot be reached
// within ctx: an instance that starts without its revocations would have to
// fail every request anyway.
func NewRevocationList(ctx context.Context, client redis.UniversalClient, opts RevocationOptions) (*RevocationList, error) {
	if nilClient(client) {
		return nil, errors.New("redisstore: NewRevocationList: client is nil")
	}
	if _, ring := client.(*redis.Ring); ring {
		// A revocation is published by the shard that stores it, and a Ring's
		// shards do not share Pub/Sub: the other instances would not hear it.
		return nil, errors.New("redisstore: NewRevocationList: a *redis.Ring is not supported (its shards do not share Pub/Sub); use a Client, a FailoverClient or a ClusterClient")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Channel == "" {
		opts.Channel = DefaultChannel
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ResyncInterval < 0 {
		return nil, fmt.Errorf("redisstore: RevocationOptions.ResyncInterval is negative (%v)", opts.ResyncInterval)
	}
	if opts.ResyncInterval == 0 {
		opts.ResyncInterval = DefaultResyncInterval
	}
	l := &RevocationList{
		c:        client,
		prefix:   opts.Prefix,
		channel:  opts.Channel,
		failOpen: opts.FailOpen,
		audit:    opts.Audit,
		now:      opts.Now,
		interval: opts.ResyncInterval,
		done:     make(chan struct{}),
	}
	l.replica.Store(middleware.NewMemoryRevocationList(opts.Now))

	ps := client.Subscribe(ctx, l.channel)
	if err := awaitSubscription(ctx, ps); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("redisstore: subscribing to %q: %w", l.channel, err)
	}
	if err := l.reload(ctx); err != nil {
		_ = ps.Close()
		return nil, err
	}
	l.inSync.Store(true)
	l.ps = ps

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	go l.run(runCtx)
	return l, nil
}

// awaitSubscription reads until the confirmation of the subscription.
func awaitSubscription(ctx context.Context, ps *redis.PubSub) error {
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			return err
		}
		if sub, ok := msg.(*redis.Subscription); ok && sub.Kind == "subscribe" {
			return nil
		}
	}
}

// IsRevoked implements middleware.RevocationList from the replica only.
func (l *RevocationList) IsRevoked(iss, jti, sub string, iat time.Time) (bool, error) {
	if !l.inSync.Load() && !l.failOpen {
		return false, middleware.ErrRevocationUnavailable
	}
	return l.replica.Load().IsRevoked(iss, jti, sub, iat)
}

// InSync reports whether the replica is known to hold every revocation.
func (l *RevocationList) InSync() bool { return l.inSync.Load() }

// RevokeToken implements middleware.RevocationList. The local replica is
// updated at once, even when Redis fails (the error is returned all the
// same: other instances may not know).
func (l *RevocationList) RevokeToken(ctx context.Context, iss, jti string, exp time.Time) error {
	if !exp.After(l.now()) {
		return nil // expired already: no gate would accept it
	}
	_ = l.replica.Load().RevokeToken(ctx, iss, jti, exp)
	return l.publish(ctx, 't', iss, jti, 0, exp.UnixMilli())
}

// RevokeSubject implements middleware.RevocationList.
func (l *RevocationList) RevokeSubject(ctx context.Context, iss, sub string, before, keepUntil time.Time) error {
	if !keepUntil.After(l.now()) {
		return nil
	}
	_ = l.replica.Load().RevokeSubject(ctx, iss, sub, before, keepUntil)
	return l.publish(ctx, 's', iss, sub, ceilMicro(before), keepUntil.UnixMilli())
}

// ceilMicro rounds up to the microsecond, so that a cut-off stored in Redis
// never revokes less than the one asked for.
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}

// revokeScript merges an entry into KEYS[1], stores it until its keep-until
// time and announces it.
// ARGV: kind, before (unix µs), keep (unix ms), rest (see encodeEntry), channel.
var revokeEntryScript = redis.NewScript(`
local before = tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
local old = redis.call('GET', KEYS[1])
if old then
  local ob, ok = string.match(old, '^%a:(%d+):(%d+):')
  if ob then
    ob = tonumber(ob)
    ok = tonumber(ok)
    if ob > before then before = ob end
    if ok > keep then keep = ok end
  end
end
local v = ARGV[1] .. ':' .. string.format('%.0f', before) .. ':' .. string.format('%.0f', keep) .. ':' .. ARGV[4]
redis.call('SET', KEYS[1], v, 'PXAT', string.format('%.0f', keep))
redis.call('PUBLISH', ARGV[5], v)
return v
`)

func (l *RevocationList) publish(ctx context.Context, kind byte, iss, id string, before, keep int64) error {
	key := l.entryKey(kind, iss, id)
	rest := strconv.Itoa(len(iss)) + ":" + iss + id
	if err := revokeEntryScript.Run(ctx, l.c, []string{key},
		string(kind), before, keep, rest, l.channel).Err(); err != nil {
		return fmt.Errorf("redisstore: storing revocation: %w", err)
	}
	return nil
}

func (l *RevocationList) entryKey(kind byte, iss, id string) string {
	h := sha256.New()
	var n [8]byte
	for i, v := 0, uint64(len(iss)); i < 8; i++ {
		n[i] = byte(v >> (8 * i))
	}
	h.Write(n[:])
	h.Write([]byte(iss))
	h.Write([]byte(id))
	return l.prefix + "rv:" + string(kind) + ":" + hex.EncodeToString(h.Sum(nil))
}

// entry is a decoded revocation: "<kind>:<before µs>:<keep ms>:<len(iss)>:<iss><id>".
type entry struct {
	kind       byte
	iss, id    string
	before     int64
	keepUntilM int64
}

func decodeEntry(v string) (entry, bool) {
	var e entry
	if len(v) < 2 || v[1] != ':' || (v[0] != 't' && v[0] != 's') {
		return e, false
	}
	e.kind = v[0]
	rest := v[2:]
	var nums [3]int64
	for i := range nums {
		f, r, ok := strings.Cut(rest, ":")
		if !ok {
			return e, false
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return e, false
		}
		nums[i], rest = n, r
	}
	if nums[2] > int64(len(rest)) {
		return e, false
	}
	e.before, e.keepUntilM = nums[0], nums[1]
	e.iss, e.id = rest[:nums[2]], rest[nums[2]:]
	return e, true
}

func applyEntry(r *middleware.MemoryRevocationList, e entry) {
	keep := time.UnixMilli(e.keepUntilM)
	if e.kind == 't' {
		_ = r.RevokeToken(context.Background(), e.iss, e.id, keep)
		return
	}
	_ = r.RevokeSubject(context.Background(), e.iss, e.id, time.UnixMicro(e.before), keep)
}

// reload builds a new replica from a SCAN of the prefix and swaps it in. A
// Redis Cluster is scanned master by master, since a SCAN covers only the
// node it is sent to.
func (l *RevocationList) reload(ctx context.Context) error {
	fresh := middleware.NewMemoryRevocationList(l.now)
	now := l.now().UnixMilli()
	var err error
	switch c := l.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return l.load(ctx, node, fresh, now)
		})
	default:
		err = l.load(ctx, l.c, fresh, now)
	}
	if err != nil {
		return fmt.Errorf("redisstore: loading revocations: %w", err)
	}
	l.replica.Store(fresh)
	return nil
}

// load adds to replica every live entry that a SCAN of node finds. The
// values are read through l.c with pipelined GETs rather than one MGET, which
// a cluster refuses for keys of different slots.
func (l *RevocationList) load(ctx context.Context, node redis.UniversalClient, replica *middleware.MemoryRevocationList, now int64) error {
	iter := node.Scan(ctx, 0, escapeGlob(l.prefix)+"rv:*", 512).Iterator()
	batch := make([]string, 0, 512)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		cmds, err := l.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.Get(ctx, k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, cmd := range cmds {
			v, err := cmd.(*redis.StringCmd).Result()
			if err != nil {
				continue // expired since the SCAN
			}
			if e, ok := decodeEntry(v); ok && e.keepUntilM > now {
				applyEntry(replica, e)
			}
		}
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}

func escapeGlob(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// setSync records a switch of the replica's state, once per switch.
func (l *RevocationList) setSync(ok bool) {
	if l.inSync.CompareAndSwap(!ok, ok) {
		detail := DetailOutOfSync
		if ok {
			detail = DetailInSync
		}
		l.audit.Record(nil, auditlog.Event{
			Name:   auditlog.StoreUnavailable,
			Reason: "revocation_replica",
			Detail: detail,
		})
	}
}

// Backoff bounds of the retries while out of sync.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// run applies announced revocations, reloads after every (re)subscription
// and every interval, and marks the replica out of sync on any failure.
func (l *RevocationList) run(ctx context.Context) {
	defer close(l.done)
	lastSync := time.Now()
	subscribed := true // the constructor saw the confirmation
	pingPending := false
	backoff := minBackoff
	for ctx.Err() == nil {
		l.mu.Lock()
		ps := l.ps
		l.mu.Unlock()

		inSync := l.inSync.Load()
		if subscribed && (!inSync || time.Since(lastSync) >= l.interval) {
			if err := l.reload(ctx); err != nil {
				l.setSync(false)
			} else {
				lastSync = time.Now()
				l.setSync(true)
				backoff = minBackoff
			}
			inSync = l.inSync.Load()
		}
		wait := l.interval
		if !inSync {
			wait = backoff
			backoff = min(backoff*2, maxBackoff)
		}

		msg, err := ps.ReceiveTimeout(ctx, wait)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) {
				switch {
				case !inSync:
					// Retrying: the loop top reloads when subscribed.
				case pingPending:
					// No answer for a whole interval: the connection is
					// dead without having said so. Start a new one.
					l.setSync(false)
					subscribed, pingPending = false, false
					l.resubscribe(ctx)
				case ps.Ping(ctx) != nil:
					l.setSync(false)
					subscribed = false
				default:
					pingPending = true
				}
				continue
			}
			// The connection failed; go-redis dials again (and
			// resubscribes) on the next receive.
			l.setSync(false)
			subscribed, pingPending = false, false
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		pingPending = false
		switch m := msg.(type) {
		case *redis.Message:
			if e, ok := decodeEntry(m.Payload); ok {
				applyEntry(l.replica.Load(), e)
			}
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// A (re)subscription: what was published while we were
				// away is only in the keys, so reload at the loop top.
				subscribed = true
				lastSync = time.Time{}
			}
		}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// resubscribe replaces the subscription connection.
func (l *RevocationList) resubscribe(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	_ = l.ps.Close()
	l.ps = l.c.Subscribe(ctx, l.channel)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Close stops the subscription goroutine and closes the subscription. The
// client is left open. IsRevoked keeps answering from the last replica,
// following FailOpen as if out of sync.
func (l *RevocationList) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.cancel()
	err := l.ps.Close()
	l.mu.Unlock()
	<-l.done
	l.inSync.Store(false)
	return err
}
