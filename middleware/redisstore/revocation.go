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
	"github.com/apiguard/apiguard/internal/breaker"
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

// Audit reasons of the revocation list's auditlog.StoreUnavailable events.
const (
	// ReasonReplica marks a switch between in sync and out of sync
	// (DetailOutOfSync, DetailInSync).
	ReasonReplica = "revocation_replica"
	// ReasonRestartedEmpty: the Redis run_id changed across a reconnect
	// (a restart, or a failover to another node) and Redis had lost
	// revocations this instance still held. They were written back.
	ReasonRestartedEmpty = "redis_restarted_empty"
	// ReasonRestarted: the run_id changed, and Redis lacked nothing this
	// instance held (its persistence kept them, or another instance had
	// already written them back).
	ReasonRestarted = "redis_restarted"
	// ReasonLostRevocations: same run_id, yet Redis lacked revocations this
	// instance held (a FLUSHDB, a DEL, an eviction under maxmemory). They
	// were written back.
	ReasonLostRevocations = "redis_lost_revocations"
	// ReasonWrites marks a transition of the breaker of the list's writes
	// (DetailWritesFailFast, DetailWritesResumed).
	ReasonWrites = "revocation_writes"
)

// Audit details of the write breaker's transitions.
const (
	DetailWritesFailFast = "redis unreachable; revocation writes fail at once (kept locally, written back at the next resync)"
	DetailWritesResumed  = "redis reachable again; revocation writes resumed"
)

// RevocationOptions configures a RevocationList. The zero value is usable.
type RevocationOptions struct {
	// Prefix names the list's keys, which all share the hash tag
	// {<Prefix>rv} (see RevocationList). Default DefaultPrefix ("apiguard:").
	// It must not contain a brace.
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
	// (auditlog.StoreUnavailable, ReasonReplica, with DetailOutOfSync or
	// DetailInSync), and every resync that found Redis restarted or missing
	// revocations (ReasonRestartedEmpty, ReasonRestarted,
	// ReasonLostRevocations), once per occurrence. Nil records nothing.
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
	// Breaker configures the circuit breaker of RevokeToken, RevokeSession
	// and RevokeSubject (the zero value: on, with its defaults; see
	// BreakerOptions). While it is open they update the replica and fail
	// at once with an error matching ErrCircuitOpen; the next resync writes
	// the revocations back. Each transition is recorded once in Audit
	// (ReasonWrites). The read path (IsRevoked) never touches Redis and
	// keeps following FailOpen.
	Breaker BreakerOptions
}

// RevocationList is a middleware.RevocationList shared through Redis.
//
// RevokeToken, RevokeSession and RevokeSubject run one Lua script that merges
// the entry with any existing one (a later cut-off or expiry wins, as in the
// memory list), SETs it with PXAT at the moment it can be forgotten, and
// PUBLISHes it on the channel: one round trip, atomic. Each entry is a key of
// its own, {<prefix>rv}:t:<sha256(iss, jti)>, {<prefix>rv}:x:<sha256(iss,
// sid)> or {<prefix>rv}:s:<sha256(iss, sub)>. Every key of one list shares the
// hash tag {<prefix>rv}, so on a Redis Cluster they all live in one slot: the
// script is single-slot, the load SCANs the one master owning that slot and
// MGETs within it. (One slot holds them all; revocations are small and live
// no longer than a token, so one node carries them easily.)
//
// Every instance keeps a replica (a middleware.MemoryRevocationList) and
// IsRevoked reads only the replica: no Redis command and no allocation. The
// replica is loaded at construction, fed by a subscription to the channel,
// and re-synced after every (re)subscription and every ResyncInterval. The
// subscription is made before each resync, so no revocation published during
// it is missed.
//
// A resync MERGES what Redis holds into the replica: revocations only ever
// expire, so an unexpired local entry is never dropped, whatever Redis says.
// What the replica holds and Redis lacks (a Redis restarted without
// persistence, a FLUSHDB, an eviction, a revocation made while Redis was
// unreachable) is WRITTEN BACK, with the same merging script, which
// publishes only what it changed. Each resync also reads the run_id of the
// Redis holding the keys (INFO server): a run_id that changed means Redis
// restarted (or failed over), and the audit log says so (ReasonRestartedEmpty
// or ReasonRestarted); a loss without a restart is ReasonLostRevocations.
//
// From the moment the subscription fails until the resync after the next
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
	br       *breaker.Breaker // of the Revoke* writes

	replica *middleware.MemoryRevocationList
	inSync  atomic.Bool
	runID   string // of the Redis holding the keys at the last resync; resyncs are serial

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
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: RevocationOptions.Prefix %q contains a brace, which would change the hash tag", opts.Prefix)
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
	l.replica = middleware.NewMemoryRevocationList(opts.Now)
	bo := opts.Breaker
	onChange := bo.OnChange
	bo.OnChange = func(open bool) {
		detail := DetailWritesResumed
		if open {
			detail = DetailWritesFailFast
		}
		l.audit.Record(nil, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: ReasonWrites, Detail: detail})
		if onChange != nil {
			onChange(open)
		}
	}
	br, err := newBreaker(client, bo, "RevocationOptions")
	if err != nil {
		return nil, err
	}
	l.br = br

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
func (l *RevocationList) IsRevoked(iss, jti, sub, sid string, iat time.Time) (bool, error) {
	if !l.inSync.Load() && !l.failOpen {
		return false, middleware.ErrRevocationUnavailable
	}
	return l.replica.IsRevoked(iss, jti, sub, sid, iat)
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
	_ = l.replica.RevokeToken(ctx, iss, jti, exp)
	return l.store(ctx, entry{kind: 't', iss: iss, id: jti, keepUntilM: exp.UnixMilli()}, false)
}

// RevokeSession implements middleware.RevocationList: every token whose sid
// claim is sid (the access tokens of one refresh-token family) is refused.
func (l *RevocationList) RevokeSession(ctx context.Context, iss, sid string, keepUntil time.Time) error {
	if !keepUntil.After(l.now()) {
		return nil
	}
	_ = l.replica.RevokeSession(ctx, iss, sid, keepUntil)
	return l.store(ctx, entry{kind: 'x', iss: iss, id: sid, keepUntilM: keepUntil.UnixMilli()}, false)
}

// RevokeSubject implements middleware.RevocationList.
func (l *RevocationList) RevokeSubject(ctx context.Context, iss, sub string, before, keepUntil time.Time) error {
	if !keepUntil.After(l.now()) {
		return nil
	}
	_ = l.replica.RevokeSubject(ctx, iss, sub, before, keepUntil)
	return l.store(ctx, entry{kind: 's', iss: iss, id: sub, before: ceilMicro(before), keepUntilM: keepUntil.UnixMilli()}, false)
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

// revokeEntryScript merges an entry into KEYS[1], stores it until its
// keep-until time and announces it. In write-back mode (ARGV[6] == '1') an
// entry that Redis already holds as strong is left alone and not announced
// again, so N instances writing back after a restart announce each entry
// about once.
// ARGV: kind, before (unix µs), keep (unix ms), rest (see encodeEntry),
// channel, write-back flag.
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
if ARGV[6] == '1' and old == v then return 0 end
redis.call('SET', KEYS[1], v, 'PXAT', string.format('%.0f', keep))
redis.call('PUBLISH', ARGV[5], v)
return 1
`)

// store writes e to Redis through revokeEntryScript. A revocation (not a
// write-back, which the resync makes from its own goroutine) goes through
// the write breaker.
func (l *RevocationList) store(ctx context.Context, e entry, writeBack bool) error {
	if !writeBack {
		if err := l.br.Allow(); err != nil {
			return fmt.Errorf("redisstore: storing revocation: %w", err)
		}
	}
	rest := strconv.Itoa(len(e.iss)) + ":" + e.iss + e.id
	flag := "0"
	if writeBack {
		flag = "1"
	}
	err := revokeEntryScript.Run(ctx, l.c, []string{l.entryKey(e.kind, e.iss, e.id)},
		string(e.kind), e.before, e.keepUntilM, rest, l.channel, flag).Err()
	if !writeBack {
		l.br.Done(err)
	}
	if err != nil {
		return fmt.Errorf("redisstore: storing revocation: %w", err)
	}
	return nil
}

// tag is the hash tag every key of the list shares: {<prefix>rv}.
func (l *RevocationList) tag() string { return "{" + l.prefix + "rv}" }

func (l *RevocationList) entryKey(kind byte, iss, id string) string {
	h := sha256.New()
	var n [8]byte
	for i, v := 0, uint64(len(iss)); i < 8; i++ {
		n[i] = byte(v >> (8 * i))
	}
	h.Write(n[:])
	h.Write([]byte(iss))
	h.Write([]byte(id))
	return l.tag() + ":" + string(kind) + ":" + hex.EncodeToString(h.Sum(nil))
}

// entry is a decoded revocation: "<kind>:<before µs>:<keep ms>:<len(iss)>:<iss><id>",
// kind 't' (token), 'x' (session) or 's' (subject).
type entry struct {
	kind       byte
	iss, id    string
	before     int64
	keepUntilM int64
}

func decodeEntry(v string) (entry, bool) {
	var e entry
	if len(v) < 2 || v[1] != ':' || (v[0] != 't' && v[0] != 's' && v[0] != 'x') {
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

// entryOf is the entry Redis would hold for a replica entry.
func entryOf(r middleware.RevocationEntry) entry {
	e := entry{kind: byte(r.Kind), iss: r.Issuer, id: r.ID, keepUntilM: r.KeepUntil.UnixMilli()}
	if r.Kind == middleware.RevokedSubject {
		e.before = ceilMicro(r.Before)
	}
	return e
}

func applyEntry(r *middleware.MemoryRevocationList, e entry) {
	keep := time.UnixMilli(e.keepUntilM)
	switch e.kind {
	case 't':
		_ = r.RevokeToken(context.Background(), e.iss, e.id, keep)
	case 'x':
		_ = r.RevokeSession(context.Background(), e.iss, e.id, keep)
	default:
		_ = r.RevokeSubject(context.Background(), e.iss, e.id, time.UnixMicro(e.before), keep)
	}
}

// reload re-syncs the replica with Redis: it reads the run_id of the Redis
// holding the keys, merges every live entry Redis holds into the replica,
// writes back every live replica entry Redis lacks (or holds weaker), and
// records a restart or a loss in the audit log.
func (l *RevocationList) reload(ctx context.Context) error {
	runID, held, err := l.load(ctx)
	if err != nil {
		return fmt.Errorf("redisstore: loading revocations: %w", err)
	}
	now := l.now().UnixMilli()
	for _, e := range held {
		if e.keepUntilM > now {
			applyEntry(l.replica, e)
		}
	}
	lost := 0
	for _, r := range l.replica.Entries() {
		e := entryOf(r)
		if e.keepUntilM <= now {
			continue
		}
		if h, ok := held[l.entryKey(e.kind, e.iss, e.id)]; ok && h.keepUntilM >= e.keepUntilM && h.before >= e.before {
			continue
		}
		if err := l.store(ctx, e, true); err != nil {
			return fmt.Errorf("redisstore: writing back revocations: %w", err)
		}
		lost++
	}
	l.replica.Sweep()

	restarted := l.runID != "" && runID != l.runID
	l.runID = runID
	var reason, detail string
	switch {
	case restarted && lost > 0:
		reason = ReasonRestartedEmpty
		detail = "redis restarted without " + strconv.Itoa(lost) + " revocations; written back"
	case restarted:
		reason, detail = ReasonRestarted, "redis restarted; no revocation lost"
	case lost > 0:
		reason = ReasonLostRevocations
		detail = "redis lost " + strconv.Itoa(lost) + " revocations; written back"
	default:
		return nil
	}
	l.audit.Record(nil, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: reason, Detail: detail})
	return nil
}

// load returns the run_id of the Redis node holding the list's keys and
// every entry it holds, by key. On a Redis Cluster that is the one master
// owning the hash tag's slot.
func (l *RevocationList) load(ctx context.Context) (string, map[string]entry, error) {
	held := make(map[string]entry)
	switch c := l.c.(type) {
	case *redis.ClusterClient:
		node, err := c.MasterForKey(ctx, l.tag())
		if err != nil {
			return "", nil, err
		}
		id, err := runIDOf(ctx, node)
		if err != nil {
			return "", nil, err
		}
		return id, held, l.scan(ctx, node, held)
	default:
		id, err := runIDOf(ctx, l.c)
		if err != nil {
			return "", nil, err
		}
		return id, held, l.scan(ctx, l.c, held)
	}
}

// runIDOf reads run_id from INFO server: a new one each time redis-server
// starts.
func runIDOf(ctx context.Context, c redis.UniversalClient) (string, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return v, nil
		}
	}
	return "", errors.New("redisstore: INFO server has no run_id")
}

// scan adds to held every entry a SCAN of node finds under the tag. The
// values are read with MGET through node, which owns the tag's slot.
func (l *RevocationList) scan(ctx context.Context, node redis.UniversalClient, held map[string]entry) error {
	iter := node.Scan(ctx, 0, escapeGlob(l.tag())+":*", 512).Iterator()
	batch := make([]string, 0, 512)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		vals, err := node.MGet(ctx, batch...).Result()
		if err != nil {
			return err
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue // expired since the SCAN
			}
			if e, ok := decodeEntry(s); ok {
				held[batch[i]] = e
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
			Reason: ReasonReplica,
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
				applyEntry(l.replica, e)
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
