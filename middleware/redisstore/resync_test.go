package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/redis/go-redis/v9"
)

// eventsReason counts the store_unavailable audit lines with the given reason.
func (s *syncBuffer) eventsReason(reason string) int {
	return s.count(func(_, r string) bool { return r == reason })
}

// entryKey is the list's key of an entry under the default prefix:
// {apiguard:rv}:<kind>:<hex sha256(le64 len(iss) || iss || id)>.
func entryKey(kind byte, iss, id string) string {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(iss)))
	sum := sha256.Sum256(append(append(n[:], iss...), id...))
	return "{apiguard:rv}:" + string(kind) + ":" + hex.EncodeToString(sum[:])
}

// awaitResync writes an entry straight into Redis, unannounced, and waits
// until l has it: proof that l ran a full resync since.
func awaitResync(t *testing.T, c redis.UniversalClient, l *redisstore.RevocationList, jti string) {
	t.Helper()
	exp := time.Now().Add(time.Hour).UnixMilli()
	v := "t:0:" + strconv.FormatInt(exp, 10) + ":" + strconv.Itoa(len(iss)) + ":" + iss + jti
	if err := c.Set(context.Background(), entryKey('t', iss, jti), v, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a resync", func() bool {
		ok, err := l.IsRevoked(iss, jti, "", "", time.Now())
		return ok && err == nil
	})
}

// revocationKeys returns the list's entry keys in Redis.
func revocationKeys(t *testing.T, c redis.UniversalClient) []string {
	t.Helper()
	return allKeys(t, c, "{apiguard:rv}:*")
}

// TestRevocationSurvivesRedisRestartEmpty: Redis restarts without its data.
// The replicas must not forget (a resync merges, never replaces), Redis must
// get the entries back (write-back), and each instance says once that Redis
// restarted.
func TestRevocationSurvivesRedisRestartEmpty(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	var auditA, auditB syncBuffer
	opts := func(b *syncBuffer) redisstore.RevocationOptions {
		return redisstore.RevocationOptions{Audit: auditlog.New(b, auditlog.Options{}), ResyncInterval: 200 * time.Millisecond}
	}
	a := newList(t, newClient(t, s.Addr), opts(&auditA))
	b := newList(t, newClient(t, s.Addr), opts(&auditB))
	now := time.Now()
	if err := a.RevokeToken(ctx, iss, "logged-out", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSession(ctx, iss, "family-1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSubject(ctx, iss, "alice", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name          string
		jti, sub, sid string
		iat           time.Time
	}{
		{"token", "logged-out", "", "", now},
		{"session", "", "", "family-1", now},
		{"subject", "", "alice", "", now.Add(-time.Second)},
	}
	eventually(t, time.Second, "revocations replicated", func() bool {
		ok, err := b.IsRevoked(iss, "logged-out", "", "", now)
		return ok && err == nil
	})

	s.Restart() // empty: persistence is off
	if n := len(revocationKeys(t, newClient(t, s.Addr))); n != 0 {
		t.Fatalf("%d keys right after the restart; the test needs an empty Redis", n)
	}
	c := newClient(t, s.Addr)
	eventually(t, 10*time.Second, "entries written back", func() bool {
		return len(revocationKeys(t, c)) == 3
	})
	eventually(t, 10*time.Second, "both back in sync", func() bool { return a.InSync() && b.InSync() })
	eventually(t, 5*time.Second, "a restart event on each instance", func() bool {
		return auditA.eventsReason(redisstore.ReasonRestartedEmpty)+auditA.eventsReason(redisstore.ReasonRestarted) == 1 &&
			auditB.eventsReason(redisstore.ReasonRestartedEmpty)+auditB.eventsReason(redisstore.ReasonRestarted) == 1
	})
	for _, l := range []*redisstore.RevocationList{a, b} {
		for _, tc := range checks {
			t.Run(tc.name, func(t *testing.T) {
				if ok, err := l.IsRevoked(iss, tc.jti, tc.sub, tc.sid, tc.iat); !ok || err != nil {
					t.Fatalf("revoked %s accepted again after the restart: %v, %v", tc.name, ok, err)
				}
			})
		}
	}
	// A third instance, started after the restart, loads what was written back.
	fresh := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{})
	for _, tc := range checks {
		if ok, err := fresh.IsRevoked(iss, tc.jti, tc.sub, tc.sid, tc.iat); !ok || err != nil {
			t.Fatalf("%s not in Redis after the write-back: %v, %v", tc.name, ok, err)
		}
	}
	if auditA.eventsReason(redisstore.ReasonRestartedEmpty)+auditB.eventsReason(redisstore.ReasonRestartedEmpty) == 0 {
		t.Fatal("no instance said Redis restarted empty")
	}
	// Later resyncs see the same run_id and nothing lost: no new event.
	awaitResync(t, c, a, "probe-1")
	awaitResync(t, c, a, "probe-2")
	if n := auditA.eventsReason(redisstore.ReasonRestartedEmpty) + auditA.eventsReason(redisstore.ReasonRestarted) +
		auditA.eventsReason(redisstore.ReasonLostRevocations); n != 1 {
		t.Fatalf("%d restart/loss events on instance a after later resyncs, want 1", n)
	}
}

// TestRevocationLostWithoutRestart: a FLUSHALL (same run_id) loses the
// entries; the next resync writes them back and says so.
func TestRevocationLostWithoutRestart(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	var audit syncBuffer
	l := newList(t, newClient(t, s.Addr), redisstore.RevocationOptions{
		Audit: auditlog.New(&audit, auditlog.Options{}), ResyncInterval: 100 * time.Millisecond,
	})
	if err := l.RevokeToken(ctx, iss, "j", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s.Addr)
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "written back", func() bool { return len(revocationKeys(t, c)) == 1 })
	eventually(t, time.Second, "loss recorded", func() bool { return audit.eventsReason(redisstore.ReasonLostRevocations) == 1 })
	if n := audit.eventsReason(redisstore.ReasonRestarted) + audit.eventsReason(redisstore.ReasonRestartedEmpty); n != 0 {
		t.Fatalf("%d restart events without a restart", n)
	}
	if ok, err := l.IsRevoked(iss, "j", "", "", time.Now()); !ok || err != nil {
		t.Fatalf("revocation forgotten: %v %v", ok, err)
	}
}
