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
}

// RefreshStore is a token.RefreshStore in Redis. It is safe for
// concurrent use, by any number of instances sharing the Redis.
//
// # Key layout, and why
//
// A family lives in one hash, <prefix>rf:{<familyID>}, holding its subject,
// roles, creation time, expiry, the hash of its current token, a revoked
// flag, and one field s:<hash> per spent token. Everything the spend decides
// on is in that one key, so the spend is one Lua script over one key: atomic
// on a single Redis and valid on Redis Cluster (the braces make the hash tag
// explicit for anyone who adds a per-family key later).
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
// without an index; when the script refuses, the new index key is deleted
// again (and would in any case name a hash that is neither current nor spent,
// which the script refuses).
//
// Every key expires at the family's absolute expiry (PEXPIREAT / PXAT), and
// the script also compares the stored expiry with the now it is given, so an
// injected clock is honoured and clock skew between instances cannot stretch
// a family.
type RefreshStore struct {
	c      redis.UniversalClient
	prefix string
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
	return &RefreshStore{c: client, prefix: opts.Prefix}, nil
}

func (s *RefreshStore) familyKey(id string) string { return s.prefix + "rf:{" + id + "}" }

func (s *RefreshStore) indexKey(h [32]byte) string {
	return s.prefix + "rt:" + hex.EncodeToString(h[:])
}

// createScript stores a new family in KEYS[1] unless it exists.
// ARGV: id, sub, roles (JSON), created (unix ms), expires (unix ms), current hash.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'sub', ARGV[2], 'roles', ARGV[3],
  'created', ARGV[4], 'exp', ARGV[5], 'cur', ARGV[6])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 1
`)

// spendScript is the whole spend decision, atomic in Redis.
// KEYS[1]: the family. ARGV: presented hash, new hash, now (unix ms).
// Reply: {status, id, sub, roles, created, exp} with status "ok", "reuse"
// (the family is now revoked) or "invalid" (unknown, revoked or expired).
var spendScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'cur', 'exp', 'rev', 'id', 'sub', 'roles', 'created')
if not f[1] or not f[2] then return {'invalid'} end
if f[3] == '1' or tonumber(f[2]) <= tonumber(ARGV[3]) then return {'invalid'} end
if f[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 's:' .. ARGV[1], '1')
  return {'ok', f[4], f[5], f[6], f[7], f[2]}
end
if redis.call('HEXISTS', KEYS[1], 's:' .. ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'rev', '1')
  return {'reuse', f[4], f[5], f[6], f[7], f[2]}
end
return {'invalid'}
`)

// revokeScript marks an existing family revoked (and never creates a key
// without a TTL for an unknown one).
var revokeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'rev', '1') end
return 1
`)

// Create implements token.RefreshStore.
func (s *RefreshStore) Create(ctx context.Context, fam token.Family, tokenHash [32]byte) error {
	roles, err := json.Marshal(fam.Roles)
	if err != nil {
		return fmt.Errorf("redisstore: encoding roles: %w", err)
	}
	exp := fam.ExpiresAt.UnixMilli()
	cur := hex.EncodeToString(tokenHash[:])
	n, err := createScript.Run(ctx, s.c, []string{s.familyKey(fam.ID)},
		fam.ID, fam.Subject, roles, fam.CreatedAt.UnixMilli(), exp, cur).Int()
	if err != nil {
		return fmt.Errorf("redisstore: creating refresh family: %w", err)
	}
	if n != 1 {
		return errors.New("redisstore: refresh family ID already in use")
	}
	ok, err := s.c.SetArgs(ctx, s.indexKey(tokenHash), fam.ID, redis.SetArgs{Mode: "NX", ExpireAt: time.UnixMilli(exp)}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
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
	key := s.indexKey(h)
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		ttl = p.PTTL(ctx, key)
		return nil
	})
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
	f, err := s.c.HMGet(ctx, s.familyKey(id), "id", "sub", "roles", "created", "exp", "rev").Result()
	if err != nil {
		return token.Family{}, fmt.Errorf("redisstore: reading refresh family: %w", err)
	}
	if f[0] == nil || f[4] == nil || f[5] == "1" {
		return token.Family{}, token.ErrInvalidGrant
	}
	fam, err := decodeFamily(f[0], f[1], f[2], f[3], f[4])
	if err != nil {
		return token.Family{}, err
	}
	if !now.Before(fam.ExpiresAt) {
		return token.Family{}, token.ErrInvalidGrant
	}
	return fam, nil
}

// Spend implements token.RefreshStore.
func (s *RefreshStore) Spend(ctx context.Context, tokenHash, newHash [32]byte, now time.Time) (token.Family, error) {
	id, ttl, err := s.familyOf(ctx, tokenHash)
	if err != nil {
		return token.Family{}, err
	}
	newKey := s.indexKey(newHash)
	ok, err := s.c.SetArgs(ctx, newKey, id, redis.SetArgs{Mode: "NX", TTL: ttl}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return token.Family{}, fmt.Errorf("redisstore: indexing refresh token: %w", err)
	}
	if ok != "OK" {
		return token.Family{}, errors.New("redisstore: refresh token hash already in use")
	}
	reply, err := spendScript.Run(ctx, s.c, []string{s.familyKey(id)},
		hex.EncodeToString(tokenHash[:]), hex.EncodeToString(newHash[:]), now.UnixMilli()).Slice()
	if err != nil || len(reply) == 0 || reply[0] != "ok" {
		// Best effort: the orphan would expire with the family anyway, and
		// the script refuses a hash that is neither current nor spent.
		_ = s.c.Del(context.WithoutCancel(ctx), newKey).Err()
	}
	if err != nil {
		return token.Family{}, fmt.Errorf("redisstore: spending refresh token: %w", err)
	}
	status, _ := reply[0].(string)
	switch status {
	case "ok", "reuse":
		if len(reply) != 6 {
			return token.Family{}, fmt.Errorf("redisstore: spend script replied %d values", len(reply))
		}
		fam, err := decodeFamily(reply[1], reply[2], reply[3], reply[4], reply[5])
		if err != nil {
			return token.Family{}, err
		}
		if status == "reuse" {
			return fam, token.ErrRefreshReuse
		}
		return fam, nil
	case "invalid":
		return token.Family{}, token.ErrInvalidGrant
	default:
		return token.Family{}, fmt.Errorf("redisstore: spend script replied %q", status)
	}
}

// RevokeFamily implements token.RefreshStore.
func (s *RefreshStore) RevokeFamily(ctx context.Context, familyID string) error {
	if err := revokeScript.Run(ctx, s.c, []string{s.familyKey(familyID)}).Err(); err != nil {
		return fmt.Errorf("redisstore: revoking refresh family: %w", err)
	}
	return nil
}

func decodeFamily(id, sub, roles, created, exp any) (token.Family, error) {
	str := func(v any) string { s, _ := v.(string); return s }
	var fam token.Family
	fam.ID, fam.Subject = str(id), str(sub)
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
