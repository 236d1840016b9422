package token_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

const sessIss, sessAud = "https://auth.example", "api.example"

// redisList builds a Redis revocation list on addr, closed with the test.
func redisList(t *testing.T, addr string) *redisstore.RevocationList {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	l, err := redisstore.NewRevocationList(redistest.Context(t, 5*time.Second), c, redisstore.RevocationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// TestRefreshRevocationKillsSessionAccessTokens: when a family is revoked
// (a reuse, RevokeFamily, a denied reload), the access tokens minted from it
// (sid = family ID) are refused by a gate using the revocation list, on the
// revoking instance's list and, through Redis pub/sub, on another
// instance's.
func TestRefreshRevocationKillsSessionAccessTokens(t *testing.T) {
	lists := []struct {
		name string
		// writer gets the revocation; reader is the gate's list.
		new func(t *testing.T) (writer, reader middleware.RevocationList)
	}{
		{"memory", func(*testing.T) (middleware.RevocationList, middleware.RevocationList) {
			l := middleware.NewMemoryRevocationList(nil)
			return l, l
		}},
		{"redis, same instance", func(t *testing.T) (middleware.RevocationList, middleware.RevocationList) {
			l := redisList(t, redistest.Start(t).Addr)
			return l, l
		}},
		{"redis, second instance through pub/sub", func(t *testing.T) (middleware.RevocationList, middleware.RevocationList) {
			s := redistest.Start(t)
			return redisList(t, s.Addr), redisList(t, s.Addr)
		}},
	}
	triggers := []struct {
		name   string
		reload func(context.Context, string) ([]string, error)
		// kill revokes the family of first (spending tokens as needed).
		kill func(t *testing.T, rt *token.RefreshTokens, first string, fam token.Family)
	}{
		{"reuse", nil, func(t *testing.T, rt *token.RefreshTokens, first string, _ token.Family) {
			second, _, err := rt.Rotate(context.Background(), first)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := rt.Rotate(context.Background(), second); err != nil {
				t.Fatal(err)
			}
			if _, _, err := rt.Rotate(context.Background(), first); !errors.Is(err, token.ErrRefreshReuse) {
				t.Fatalf("replay: %v, want ErrRefreshReuse", err)
			}
		}},
		{"RevokeFamily", nil, func(t *testing.T, rt *token.RefreshTokens, _ string, fam token.Family) {
			if err := rt.RevokeFamily(context.Background(), fam.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"denied reload", func(context.Context, string) ([]string, error) {
			return nil, fmt.Errorf("user disabled: %w", token.ErrInvalidGrant)
		}, func(t *testing.T, rt *token.RefreshTokens, first string, _ token.Family) {
			if _, _, err := rt.Rotate(context.Background(), first); !errors.Is(err, token.ErrInvalidGrant) {
				t.Fatalf("denied reload: %v", err)
			}
		}},
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	issuer, err := token.NewIssuer(token.IssuerConfig{Issuer: sessIss, Audience: sessAud, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, list := range lists {
		for _, trig := range triggers {
			t.Run(list.name+"/"+trig.name, func(t *testing.T) {
				writer, reader := list.new(t)
				gate, err := middleware.New(middleware.Config{Keys: issuer, Issuer: sessIss, Audience: sessAud, Revocation: reader})
				if err != nil {
					t.Fatal(err)
				}
				rt := newRefreshTokens(t, token.NewMemoryRefreshStore(nil), func(c *token.RefreshConfig) {
					c.Revocation, c.Issuer, c.Reload = writer, sessIss, trig.reload
				})
				first, fam, err := rt.Start(ctx, "alice", []string{"user"})
				if err != nil {
					t.Fatal(err)
				}
				access, _, err := issuer.Issue("alice", token.TokenOptions{SessionID: fam.ID})
				if err != nil {
					t.Fatal(err)
				}
				other, _, err := issuer.Issue("alice", token.TokenOptions{SessionID: "another-family"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := gate.Verify(ctx, access); err != nil {
					t.Fatalf("before: %v", err)
				}
				trig.kill(t, rt, first, fam)
				deadline := time.Now().Add(2 * time.Second)
				for {
					_, err := gate.Verify(ctx, access)
					var me *middleware.Error
					if errors.As(err, &me) && me.Reason == middleware.ReasonRevoked {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("access token of the revoked family still accepted: %v", err)
					}
					time.Sleep(5 * time.Millisecond)
				}
				if _, err := gate.Verify(ctx, other); err != nil {
					t.Fatalf("another session's token refused: %v", err)
				}
			})
		}
	}
}

// failingRevoker fails every session revocation.
type failingRevoker struct{}

func (failingRevoker) RevokeSession(context.Context, string, string, time.Time) error {
	return errors.New("revocation store down")
}

// TestRefreshSessionRevocationFailure: RevokeFamily reports a session that
// could not be revoked (503: the caller retries); a reuse still revokes the
// family and answers ErrRefreshReuse.
func TestRefreshSessionRevocationFailure(t *testing.T) {
	ctx := context.Background()
	rt := newRefreshTokens(t, token.NewMemoryRefreshStore(nil), func(c *token.RefreshConfig) {
		c.Revocation, c.Issuer = failingRevoker{}, sessIss
	})
	_, fam, err := rt.Start(ctx, "bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.RevokeFamily(ctx, fam.ID); !errors.Is(err, token.ErrStoreUnavailable) {
		t.Fatalf("RevokeFamily with the revocation list down: %v, want ErrStoreUnavailable", err)
	}
	first, _, err := rt.Start(ctx, "bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	second, _, _ := rt.Rotate(ctx, first)
	_, _, _ = rt.Rotate(ctx, second)
	if _, _, err := rt.Rotate(ctx, first); !errors.Is(err, token.ErrRefreshReuse) {
		t.Fatalf("reuse with the revocation list down: %v", err)
	}
}
