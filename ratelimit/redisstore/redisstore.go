package redisstore

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key these stores write to Redis.
const DefaultPrefix = "apiguard"

// Options configures a store. The zero value is usable.
type Options struct {
	// Prefix starts every key; default DefaultPrefix. Keys read
	// "{<prefix>:rl:<hex key>}" (limiter) and "{<prefix>:bf:<hex key>}"
	// (guard): the whole key is the hash tag, so one decision touches one
	// slot and Redis Cluster works.
	Prefix string
}

// prefix validates the client and o and returns the prefix to use.
func (o Options) prefix(c redis.UniversalClient, fn string) (string, error) {
	if c == nil {
		return "", errors.New("redisstore: " + fn + ": client is nil")
	}
	if o.Prefix == "" {
		return DefaultPrefix, nil
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return "", errors.New("redisstore: Options.Prefix " + strconv.Quote(o.Prefix) + " must not contain braces (they make the hash tag)")
	}
	return o.Prefix, nil
}

// key returns "{<prefix>:<kind>:<hex key>}".
func key(prefix, kind string, k *[32]byte) string {
	var buf [160]byte
	b := append(buf[:0], '{')
	b = append(b, prefix...)
	b = append(b, ':')
	b = append(b, kind...)
	b = append(b, ':')
	b = hex.AppendEncode(b, k[:])
	b = append(b, '}')
	return string(b)
}
