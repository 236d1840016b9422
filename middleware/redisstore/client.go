package redisstore

import "github.com/redis/go-redis/v9"

// nilClient reports whether c is nil, or a nil pointer of one of go-redis's
// client types inside the interface (a nil *redis.Client passed as a
// redis.UniversalClient is not == nil, and would panic on first use).
func nilClient(c redis.UniversalClient) bool {
	switch v := c.(type) {
	case nil:
		return true
	case *redis.Client:
		return v == nil
	case *redis.ClusterClient:
		return v == nil
	case *redis.Ring:
		return v == nil
	}
	return false
}
