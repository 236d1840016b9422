package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ReasonNotPersistent is the audit reason a caller records (with
// auditlog.StoreUnavailable) when CheckPersistence finds neither AOF nor RDB
// snapshots: refresh families will be lost when Redis restarts.
const ReasonNotPersistent = "redis_not_persistent"

// Persistence is what CheckPersistence found about a Redis deployment. On a
// Cluster or Ring a mode counts as on only when every master has it.
type Persistence struct {
	// AOF: appendonly yes (CONFIG GET appendonly, or aof_enabled:1 in INFO
	// persistence when CONFIG is refused).
	AOF bool
	// RDB: a non-empty save schedule (CONFIG GET save).
	RDB bool
	// RDBUnknown: CONFIG GET was refused (renamed, disabled or denied by
	// an ACL), so the save schedule could not be read; RDB is then false.
	RDBUnknown bool
}

// Durable reports whether Redis keeps its data across a restart, by AOF or
// by RDB snapshots (which lose what came after the last snapshot).
func (p Persistence) Durable() bool { return p.AOF || p.RDB }

// CheckPersistence reports whether the Redis behind rdb persists its data,
// for a warning at start. It reads CONFIG GET appendonly and CONFIG GET
// save; where CONFIG is refused (managed Redis often renames it or an ACL
// denies it) it falls back to INFO persistence, which tells AOF but not the
// save schedule (RDBUnknown). An error means Redis could not be asked.
//
// What each store needs: revocations need no persistence (every instance's
// replica writes back what a restarted Redis lost); refresh families need AOF
// or RDB, or every user signs in again after a restart; rate limits and
// lockouts need none (losing them forgives some budget once).
func CheckPersistence(ctx context.Context, rdb redis.UniversalClient) (Persistence, error) {
	if nilClient(rdb) {
		return Persistence{}, errors.New("redisstore: CheckPersistence: client is nil")
	}
	var mu sync.Mutex
	var found []Persistence
	collect := func(ctx context.Context, node *redis.Client) error {
		p, err := nodePersistence(ctx, node)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		found = append(found, p)
		return nil
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, collect)
	case *redis.Ring:
		err = c.ForEachShard(ctx, collect)
	default:
		var p Persistence
		p, err = nodePersistence(ctx, rdb)
		found = append(found, p)
	}
	if err != nil {
		return Persistence{}, fmt.Errorf("redisstore: checking persistence: %w", err)
	}
	all := Persistence{AOF: true, RDB: true}
	for _, p := range found {
		all.AOF = all.AOF && p.AOF
		all.RDB = all.RDB && p.RDB
		all.RDBUnknown = all.RDBUnknown || p.RDBUnknown
	}
	return all, nil
}

// nodePersistence asks one node.
func nodePersistence(ctx context.Context, node redis.UniversalClient) (Persistence, error) {
	var p Persistence
	aof, aofErr := node.ConfigGet(ctx, "appendonly").Result()
	save, saveErr := node.ConfigGet(ctx, "save").Result()
	if aofErr == nil && saveErr == nil {
		p.AOF = aof["appendonly"] == "yes"
		p.RDB = strings.TrimSpace(save["save"]) != ""
		return p, nil
	}
	for _, err := range []error{aofErr, saveErr} {
		if err != nil && !refused(err) {
			return p, err
		}
	}
	// CONFIG is refused: INFO persistence tells AOF, not the save schedule.
	p.RDBUnknown = true
	info, err := node.Info(ctx, "persistence").Result()
	if err != nil {
		return p, err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "aof_enabled:"); ok {
			p.AOF = v == "1"
		}
	}
	return p, nil
}

// refused reports whether err is Redis refusing a command (unknown, renamed,
// or denied by an ACL) rather than failing to answer.
func refused(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	return strings.HasPrefix(msg, "ERR unknown command") || strings.HasPrefix(msg, "NOPERM") ||
		strings.HasPrefix(msg, "ERR unknown subcommand")
}
