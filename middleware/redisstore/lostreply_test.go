package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

// dropHook arms the proxy to lose the reply of the at-th command (a pipeline
// counts as one) the client sends, and records that command's name. Redis
// executes the command; only the answer is lost.
type dropHook struct {
	p    *redistest.Proxy
	at   atomic.Int32
	n    atomic.Int32
	mu   sync.Mutex
	name string
}

func (h *dropHook) arm(at int) { h.n.Store(0); h.at.Store(int32(at)) }

func (h *dropHook) before(name string) {
	if h.n.Add(1) == h.at.Load() {
		h.mu.Lock()
		h.name = name
		h.mu.Unlock()
		h.p.DropNextReply()
	}
}

func (h *dropHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *dropHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.before(cmd.Name())
		return next(ctx, cmd)
	}
}
func (h *dropHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.before("pipeline")
		return next(ctx, cmds)
	}
}

// TestRefreshLostReply: the reply to one command of a rotation is lost
// (Redis executed it). With go-redis's retries the rotation succeeds; with
// none it fails with ErrStoreUnavailable and the client's own retry gets the
// successor. Either way the family stays alive and no reuse is reported.
func TestRefreshLostReply(t *testing.T) {
	tests := []struct {
		step    int    // which command of Rotate loses its reply
		name    string // that command
		retries int    // go-redis MaxRetries (-1: none)
	}{
		{1, "pipeline", 3}, // the index lookup (GET + PTTL)
		{2, "set", 3},      // the new token's index key (SET NX)
		{3, "evalsha", 3},  // the spend script
		{1, "pipeline", -1},
		{2, "set", -1},
		{3, "evalsha", -1},
	}
	for _, tc := range tests {
		mode := "go-redis retries"
		if tc.retries < 0 {
			mode = "client retries"
		}
		t.Run(tc.name+"/"+mode, func(t *testing.T) {
			s := redistest.Start(t)
			p := redistest.NewProxy(t, s.Addr)
			c := redis.NewClient(&redis.Options{Addr: p.Addr, MaxRetries: tc.retries})
			t.Cleanup(func() { _ = c.Close() })
			hook := &dropHook{p: p}
			c.AddHook(hook)
			var audit bytes.Buffer
			st, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: st, Audit: auditlog.New(&audit, auditlog.Options{})})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// Warm up, so the script is loaded and EVALSHA is one command.
			warm, _, err := rt.Start(ctx, "warm", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := rt.Rotate(ctx, warm); err != nil {
				t.Fatal(err)
			}
			tok, fam, err := rt.Start(ctx, "alice", []string{"user"})
			if err != nil {
				t.Fatal(err)
			}

			hook.arm(tc.step)
			next, got, err := rt.Rotate(ctx, tok)
			hook.arm(0)
			if hook.name != tc.name || p.Dropped() != 1 {
				t.Fatalf("lost the reply of %q (%d dropped), want %q", hook.name, p.Dropped(), tc.name)
			}
			if tc.retries < 0 {
				if !errors.Is(err, token.ErrStoreUnavailable) {
					t.Fatalf("lost reply without retries: %v, want ErrStoreUnavailable", err)
				}
				// The client retries the refresh after its 503.
				next, got, err = rt.Rotate(ctx, tok)
			}
			if err != nil || got.ID != fam.ID {
				t.Fatalf("rotation after a lost reply: %v", err)
			}
			if strings.Contains(audit.String(), string(auditlog.RefreshReuse)) {
				t.Fatalf("a lost reply was reported as reuse:\n%s", audit.String())
			}
			// The family is alive: the successor rotates, twice.
			if next, _, err = rt.Rotate(ctx, next); err != nil {
				t.Fatalf("successor after a lost reply: %v", err)
			}
			if _, _, err = rt.Rotate(ctx, next); err != nil {
				t.Fatalf("second successor: %v", err)
			}
		})
	}
}
