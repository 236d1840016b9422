package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"

	"github.com/apiguard/apiguard/ratelimit"
	"github.com/redis/go-redis/v9"
)

// SecretKey is the Redis key under which SharedSecret keeps the client-key
// secret, with no expiry. Deleting it (and restarting every instance)
// rotates the secret.
const SecretKey = "apiguard:client-key-secret"

// secretLen is the length of the secret SharedSecret draws.
const secretLen = 32

// SharedSecret returns the client-key secret (for
// ratelimit.IdentityConfig.Secret) that every instance sharing this Redis
// uses, so that a client has one key, and so one budget and one lockout,
// whichever instance it reaches. The first instance to call it stores 32
// random bytes under SecretKey with SET NX and no expiry; every call then
// reads back the stored secret, so concurrent first calls agree too.
//
// Rotating it changes every client key, which forgets current budgets and
// lockouts: delete SecretKey and restart every instance. An explicit secret
// (IdentityConfig.Secret set on every instance) makes this unnecessary.
//
// Anyone who can read this Redis can read the secret, as they can already
// read and change every limit and lockout; keep Redis private.
func SharedSecret(ctx context.Context, c redis.UniversalClient) ([]byte, error) {
	if c == nil {
		return nil, errors.New("redisstore: SharedSecret: client is nil")
	}
	fresh := make([]byte, secretLen)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("redisstore: SharedSecret: %w", err)
	}
	if err := c.SetNX(ctx, SecretKey, fresh, 0).Err(); err != nil {
		return nil, fmt.Errorf("redisstore: SharedSecret: SET NX %s: %w", SecretKey, err)
	}
	secret, err := c.Get(ctx, SecretKey).Bytes()
	if err != nil {
		return nil, fmt.Errorf("redisstore: SharedSecret: GET %s: %w", SecretKey, err)
	}
	if len(secret) < ratelimit.MinSecretLen {
		return nil, errors.New("redisstore: SharedSecret: the value of " + SecretKey + " is " + strconv.Itoa(len(secret)) +
			" bytes, want at least " + strconv.Itoa(ratelimit.MinSecretLen) + " (delete the key to draw a new one)")
	}
	return secret, nil
}
