package redisstore

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Two instances (two clients) get one secret, drawn once and kept: a secret
// already in Redis is never replaced, whoever calls first.
func TestSharedSecret(t *testing.T) {
	preset := bytes.Repeat([]byte("p"), 40)
	tests := []struct {
		name   string
		preset []byte // in Redis before the instances start
	}{
		{"fresh", nil},
		{"pre-existing", preset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := redistest.Start(t)
			if tt.preset != nil {
				if _, err := s.Command("SET", SecretKey, string(tt.preset)); err != nil {
					t.Fatal(err)
				}
			}
			one, two := newRedis(t, s), newRedis(t, s)
			ctx := redistest.Context(t, 10*time.Second)
			var got [2][]byte
			var errs [2]error
			var wg sync.WaitGroup
			for i, c := range []*redis.Client{one, two} {
				wg.Go(func() { got[i], errs[i] = SharedSecret(ctx, c) })
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatal(errs)
			}
			if !bytes.Equal(got[0], got[1]) {
				t.Fatalf("two instances got different secrets: %x, %x", got[0], got[1])
			}
			if tt.preset != nil && !bytes.Equal(got[0], tt.preset) {
				t.Fatalf("the pre-existing secret was replaced: got %q", got[0])
			}
			if tt.preset == nil && (len(got[0]) != secretLen || bytes.Equal(got[0], make([]byte, secretLen))) {
				t.Fatalf("drawn secret %x", got[0])
			}
			again, err := SharedSecret(ctx, one)
			if err != nil || !bytes.Equal(again, got[0]) {
				t.Fatalf("a later call got %x, %v; want the stored secret", again, err)
			}
			if ttl, err := s.Command("PTTL", SecretKey); err != nil || ttl != ":-1" {
				t.Fatalf("secret key PTTL %q %v, want no expiry", ttl, err)
			}
		})
	}
}

func TestSharedSecretErrors(t *testing.T) {
	s := redistest.Start(t)
	if _, err := s.Command("SET", SecretKey, "short"); err != nil {
		t.Fatal(err)
	}
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	tests := []struct {
		name string
		c    redis.UniversalClient
		want string
	}{
		{"nil client", nil, "client is nil"},
		{"short value", newRedis(t, s), "is 5 bytes, want at least 32"},
		{"redis down", down, "SET NX " + SecretKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SharedSecret(t.Context(), tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || got != nil {
				t.Fatalf("SharedSecret = %x, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}
