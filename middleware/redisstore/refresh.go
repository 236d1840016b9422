package redisstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apiguard/apiguard/internal/breaker"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key apiguard writes to Redis.
const DefaultPrefix = "apiguard:"

// RefreshStoreOptions configures a RefreshStore. The zero value is usable.
type RefreshStoreOptions struct {
	// Prefix starts every key. Default DefaultPrefix ("apiguard:"). Give each
	// deployment sharing one Redis its own.
	Prefix string
	// Breaker configures the store's circuit breaker (the zero value: on,
	// with its defaults; see BreakerOptions). While it is open every call
	// fails at once with an error matching ErrCircuitOpen, which
	// token.RefreshTokens reports as token.ErrStoreUnavailable.
	Breaker BreakerOptions
	// MaxRotations caps the spends of one family, as in
	// token.MemoryRefreshOptions: every spend adds a field to the family's
	// hash, so without a cap one client refreshing as fast as its rate limit
	// lets it would grow the hash for the family's whole lifetime. The
	// family's next spend beyond it answers token.ErrInvalidGrant (the user
	// signs in again) and the family stays until it expires, its spent
	// tokens still detecting reuse. Default token.DefaultMaxRotations.
	MaxRotations int
}

// RefreshStore is a token.RefreshStore in Redis. It is safe for
// concurrent use, by any number of instances sharing the Redis.
//
// # Key layout, and why
//
// A family lives in one hash, <prefix>rf:{<familyID>}, holding its subject,
// roles, creation time, expiry, the thumbprint of the DPoP key it is bound
// to (jkt, empty or absent for an unbound family), the hash of its current
// token, a revoked flag, one field s:<hash> per spent token, and the hash spent most recently
// with the end of its retry window. The sealed successor of that spend is a
// key of its own, <prefix>rs:{<familyID>}, expiring (PXAT) when the retry
// window ends, so Redis forgets it even for a family that is never touched
// again. Both keys share the hash tag {<familyID>}, so the spend is one Lua
// script over one slot: atomic on a single Redis and valid on Redis Cluster.
//
// A token's hash must lead to its family, so each issued hash also has an
// index key <prefix>rt:<hex hash> whose value is the family ID. The index
// keys of one family cannot share its hash slot (the slot of a token is not
// known before the lookup), so the index is kept out of the script: Spend
// first GETs the family ID (with the index key's remaining TTL), then writes
// the new token's index key, then runs the spend script, which re-checks
// atomically that the presented hash is the family's current one. A stale
// read in between is harmless: the script decides. The new index key is
// written before the script so that no successful spend can leave a token
// without an index; when the script answers without installing it, the new
// index key is deleted again, and when its outcome is unknown (the reply was
// lost) it is kept, since the new token may be current (an orphan names a
// hash the script refuses, and expires with the family).
//
// Every key expires at the family's absolute expiry (PEXPIREAT / PXAT), and
// the script also compares the stored expiry with the now it is given, so an
// injected clock is honoured and clock skew between instances cannot stretch
// a family. The retry window is compared the same way: instances whose
// clocks differ by d stretch or shrink it by d.
type RefreshStore struct {
	c            redis.UniversalClient
	prefix       string
	br           *breaker.Breaker
	maxRotations int
}

var _ token.RefreshStore = (*RefreshStore)(nil)

// NewRefreshStore returns a RefreshStore using client.
func NewRefreshStore(client redis.UniversalClient, opts RefreshStoreOptions) (*RefreshStore, error) {
	if nilClient(client) {
		return nil, errors.New("redisstore: NewRefreshStore: client is nil")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: RefreshStoreOptions.Prefix %q contains a brace, which would change the hash tag", opts.Prefix)
	}
	switch {
	case opts.MaxRotations < 0:
		return nil, fmt.Errorf("redisstore: RefreshStoreOptions.MaxRotations is negative (%d)", opts.MaxRotations)
	case opts.MaxRotations == 0:
		opts.MaxRotations = token.DefaultMaxRotations
	}
	br, err := newBreaker(client, opts.Breaker, "RefreshStoreOptions")
	if err != nil {
		return nil, err
	}
	return &RefreshStore{c: client, prefix: opts.Prefix, br: br, maxRotations: opts.MaxRotations}, nil
}

// allow fails at once while the breaker is open.
func (s *RefreshStore) allow() error {
	if err := s.br.Allow(); err != nil {
		return fmt.Errorf("redisstore: refresh store: %w", err)
	}
	return nil
}

func (s *RefreshStore) familyKey(id string) string { return s.prefix + "rf:{" + id + "}" }

// successorKey holds the family's sealed successor during the retry window.
func (s *RefreshStore) successorKey(id string) string { return s.prefix + "rs:{" + id + "}" }

func (s *RefreshStore) indexKey(h [32]byte) string {
	return s.prefix + "rt:" + hex.EncodeToString(h[:])
}

// createScript stores a new family in KEYS[1] unless it exists.
// ARGV: id, sub, roles (JSON), created (unix ms), expires (unix ms), current
// hash, jkt ("" for an unbound family).
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'sub', ARGV[2], 'roles', ARGV[3],
  'created', ARGV[4], 'exp', ARGV[5], 'cur', ARGV[6], 'jkt', ARGV[7])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 1
`)

// spendScript is the whole spend decision, atomic in Redis; the same
// decisions as token.MemoryRefreshStore.Spend.
// KEYS[1]: the family. KEYS[2]: its sealed successor (same hash tag).
// ARGV: presented hash, new hash, now (unix ms), sealed successor,
// retry-until (unix ms), the most spends a family may have (field n counts
// them), the jkt the request proved ("" without a proof).
// Reply: {status, id, sub, roles, created, exp, jkt, current hash, sealed}
// with status "ok" (spent; the new hash is current), "retry" (the presented
// hash was spent within its window and its successor is current: nothing
// changed), "reuse" (the family is now revoked; no hash, no sealed),
// "mismatch" (a token of the family presented with a jkt other than the
// family's: nothing changed; no hash, no sealed) or "invalid" (unknown,
// revoked or expired). The key is compared before the presented hash is
// looked at any further, so a mismatch never spends, retries or revokes.
var spendScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'cur', 'exp', 'rev', 'id', 'sub', 'roles', 'created', 'prev', 'prevUntil', 'jkt')
if not f[1] or not f[2] then return {'invalid'} end
local now = tonumber(ARGV[3])
if f[3] == '1' or tonumber(f[2]) <= now then return {'invalid'} end
local jkt = f[10] or ''
if jkt ~= ARGV[7] then
  if f[1] == ARGV[1] or redis.call('HEXISTS', KEYS[1], 's:' .. ARGV[1]) == 1 then
    return {'mismatch', f[4], f[5], f[6], f[7], f[2], jkt}
  end
  return {'invalid'}
end
if f[1] == ARGV[1] then
  local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
  if n >= tonumber(ARGV[6]) then return {'invalid'} end
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 's:' .. ARGV[1], '1', 'prev', ARGV[1], 'prevUntil', ARGV[5], 'n', n + 1)
  local keep = math.min(tonumber(ARGV[5]), tonumber(f[2]))
  if keep > now then
    redis.call('SET', KEYS[2], ARGV[4], 'PXAT', string.format('%.0f', keep))
  else
    redis.call('DEL', KEYS[2])
  end
  return {'ok', f[4], f[5], f[6], f[7], f[2], jkt, ARGV[2], ARGV[4]}
end
if f[8] == ARGV[1] and tonumber(f[9]) > now then
  local sealed = redis.call('GET', KEYS[2])
  if sealed then return {'retry', f[4], f[5], f[6], f[7], f[2], jkt, f[1], sealed} end
end
if redis.call('HEXISTS', KEYS[1], 's:' .. ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'rev', '1')
  redis.call('DEL', KEYS[2])
  return {'reuse', f[4], f[5], f[6], f[7], f[2], jkt}
end
return {'invalid'}
`)

// revokeScript marks an existing family revoked (and never creates a key
// without a TTL for an unknown one), and drops its sealed successor.
var revokeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'rev', '1') end
redis.call('DEL', KEYS[2])
return 1
`)

// Create implements token.RefreshStore.
func (s *RefreshStore) Create(ctx context.Context, fam token.Family, tokenHash [32]byte) error {
	if err := s.allow(); err != nil {
		return err
	}
	roles, err := json.Marshal(fam.Roles)
	if err != nil {
		return fmt.Errorf("redisstore: encoding roles: %w", err)
	}
	exp := fam.ExpiresAt.UnixMilli()
	cur := hex.EncodeToString(tokenHash[:])
	n, err := createScript.Run(ctx, s.c, []string{s.familyKey(fam.ID)},
		fam.ID, fam.Subject, roles, fam.CreatedAt.UnixMilli(), exp, cur, fam.JKT).Int()
	if s.br.Done(err) != nil {
		return fmt.Errorf("redisstore: creating refresh family: %w", err)
	}
	if n != 1 {
		return errors.New("redisstore: refresh family ID already in use")
	}
	ok, err := s.c.SetArgs(ctx, s.indexKey(tokenHash), fam.ID, redis.SetArgs{Mode: "NX", ExpireAt: time.UnixMilli(exp)}).Result()
	if s.br.Done(err) != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: indexing refresh token: %w", err)
	}
	if ok != "OK" {
		return errors.New("redisstore: refresh token hash already in use")
	}
	return nil
}

// familyOf returns the family ID a token hash leads to and the index key's
// remaining lifetime.
func (s *RefreshStore) familyOf(ctx context.Context, h [32]byte) (string, time.Duration, error) {
	if err := s.allow(); err != nil {
		return "", 0, err
	}
	key := s.indexKey(h)
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		ttl = p.PTTL(ctx, key)
		return nil
	})
	s.br.Done(err)
	if errors.Is(err, redis.Nil) || (err == nil && get.Err() == redis.Nil) {
		return "", 0, token.ErrInvalidGrant
	}
	if err != nil {
		return "", 0, fmt.Errorf("redisstore: looking up refresh token: %w", err)
	}
	d := ttl.Val()
	if d <= 0 { // expiring right now, or no TTL (never written so)
		return "", 0, token.ErrInvalidGrant
	}
	return get.Val(), d, nil
}

// Lookup implements token.RefreshStore.
func (s *RefreshStore) Lookup(ctx context.Context, tokenHash [32]byte, now time.Time) (token.Family, error) {
	id, _, err := s.familyOf(ctx, tokenHash)
	if err != nil {
		return token.Family{}, err
	}
	f, err := s.c.HMGet(ctx, s.familyKey(id), "id", "sub", "roles", "created", "exp", "rev", "jkt").Result()
	if s.br.Done(err) != nil {
		return token.Family{}, fmt.Errorf("redisstore: reading refresh family: %w", err)
	}
	if f[0] == nil || f[4] == nil || f[5] == "1" {
		return token.Family{}, token.ErrInvalidGrant
	}
	fam, err := decodeFamily(f[0], f[1], f[2], f[3], f[4], f[6])
	if err != nil {
		return token.Family{}, err
	}
	if !now.Before(fam.ExpiresAt) {
		return token.Family{}, token.ErrInvalidGrant
	}
	return fam, nil
}

// Spend implements token.RefreshStore.
//
// Every step may be retried by go-redis after a lost reply, and each is
// safe to repeat: the index key of the new hash is written with NX, and
// finding it already naming this family is our own earlier write; the
// script recognises its own earlier run (the presented hash is the one it
// spent last, within the window) and answers with the same successor.
func (s *RefreshStore) Spend(ctx context.Context, req token.SpendRequest) (token.SpendResult, error) {
	id, ttl, err := s.familyOf(ctx, req.Hash)
	if err != nil {
		return token.SpendResult{}, err
	}
	newKey := s.indexKey(req.Next.Hash)
	ok, err := s.c.SetArgs(ctx, newKey, id, redis.SetArgs{Mode: "NX", TTL: ttl}).Result()
	if s.br.Done(err) != nil && !errors.Is(err, redis.Nil) {
		return token.SpendResult{}, fmt.Errorf("redisstore: indexing refresh token: %w", err)
	}
	if ok != "OK" {
		// A retried SET whose first reply was lost finds its own key.
		if cur, err := s.c.Get(ctx, newKey).Result(); s.br.Done(err) != nil || cur != id {
			return token.SpendResult{}, errors.New("redisstore: refresh token hash already in use")
		}
	}
	reply, err := spendScript.Run(ctx, s.c, []string{s.familyKey(id), s.successorKey(id)},
		hex.EncodeToString(req.Hash[:]), hex.EncodeToString(req.Next.Hash[:]), req.Now.UnixMilli(),
		req.Next.Sealed, req.RetryUntil.UnixMilli(), s.maxRotations, req.JKT).Slice()
	if s.br.Done(err) != nil {
		// Not knowing whether the script ran, keep the new index key: if it
		// did, the new token is current and needs it. An orphan expires
		// with the family, and names a hash the script refuses.
		return token.SpendResult{}, fmt.Errorf("redisstore: spending refresh token: %w", err)
	}
	res, err := decodeSpend(reply)
	if err != nil || res.Next.Hash != req.Next.Hash {
		// Best effort: the new hash was not installed (refused, reuse, or
		// a retry answered with an earlier spend's successor).
		_ = s.br.Done(s.c.Del(context.WithoutCancel(ctx), newKey).Err())
	}
	return res, err
}

// decodeSpend decodes the spend script's reply.
func decodeSpend(reply []any) (token.SpendResult, error) {
	if len(reply) == 0 {
		return token.SpendResult{}, errors.New("redisstore: spend script replied nothing")
	}
	status, _ := reply[0].(string)
	switch status {
	case "invalid":
		return token.SpendResult{}, token.ErrInvalidGrant
	case "ok", "retry", "reuse", "mismatch":
	default:
		return token.SpendResult{}, fmt.Errorf("redisstore: spend script replied %q", status)
	}
	refused := status == "reuse" || status == "mismatch"
	if (refused && len(reply) != 7) || (!refused && len(reply) != 9) {
		return token.SpendResult{}, fmt.Errorf("redisstore: spend script replied %d values", len(reply))
	}
	fam, err := decodeFamily(reply[1], reply[2], reply[3], reply[4], reply[5], reply[6])
	if err != nil {
		return token.SpendResult{}, err
	}
	switch status {
	case "reuse":
		return token.SpendResult{Family: fam}, token.ErrRefreshReuse
	case "mismatch":
		return token.SpendResult{Family: fam}, token.ErrRefreshKeyMismatch
	}
	res := token.SpendResult{Family: fam, Retry: status == "retry"}
	cur, _ := reply[7].(string)
	sealed, _ := reply[8].(string)
	b, err := hex.DecodeString(cur)
	if err != nil || len(b) != len(res.Next.Hash) {
		return token.SpendResult{}, errors.New("redisstore: spend script replied a malformed hash")
	}
	copy(res.Next.Hash[:], b)
	res.Next.Sealed = []byte(sealed)
	return res, nil
}

// RevokeFamily implements token.RefreshStore.
func (s *RefreshStore) RevokeFamily(ctx context.Context, familyID string) error {
	if err := s.allow(); err != nil {
		return err
	}
	if err := s.br.Done(revokeScript.Run(ctx, s.c, []string{s.familyKey(familyID), s.successorKey(familyID)}).Err()); err != nil {
		return fmt.Errorf("redisstore: revoking refresh family: %w", err)
	}
	return nil
}

func decodeFamily(id, sub, roles, created, exp, jkt any) (token.Family, error) {
	str := func(v any) string { s, _ := v.(string); return s }
	var fam token.Family
	fam.ID, fam.Subject, fam.JKT = str(id), str(sub), str(jkt) // absent: a family created unbound before jkt existed
	if r := str(roles); r != "" && r != "null" {
		if err := json.Unmarshal([]byte(r), &fam.Roles); err != nil {
			return token.Family{}, fmt.Errorf("redisstore: decoding roles: %w", err)
		}
	}
	c, err1 := strconv.ParseInt(str(created), 10, 64)
	e, err2 := strconv.ParseInt(str(exp), 10, 64)
	if err1 != nil || err2 != nil || fam.ID == "" {
		return token.Family{}, errors.New("redisstore: malformed refresh family")
	}
	fam.CreatedAt, fam.ExpiresAt = time.UnixMilli(c), time.UnixMilli(e)
	return fam, nil
}
