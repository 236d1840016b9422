package redistest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of real redis-server processes on loopback, each
// a master owning a share of the 16,384 hash slots, without replicas.
type Cluster struct {
	// Addrs are the masters' host:port addresses, the seed list of a
	// redis.ClusterClient (or a redis.UniversalClient with several Addrs).
	Addrs []string
	nodes []*Server
}

// StartCluster starts masters (at least 3, as redis-cli requires) cluster-mode
// redis-server processes on free loopback ports, joins them with
// `redis-cli --cluster create`, waits until every node reports
// cluster_state:ok, and stops them all when the test ends. Like Start, it
// skips without redis-server (or redis-cli, from the same Debian package
// family) unless APIGUARD_REQUIRE_REDIS=1, where it fails.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			msg := bin + " not found on PATH (Debian packages redis-server, redis-tools); skipping Redis Cluster test"
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("%s is set but %s", RequireEnv, msg)
			}
			t.Skip(msg)
		}
	}
	dir := t.TempDir()
	c := &Cluster{}
	for i := 0; i < masters; i++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		bus, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), t: t, port: port, extra: []string{
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"),
			"--cluster-node-timeout", "2000",
			"--dir", dir,
		}}
		s.startProcess()
		t.Cleanup(s.Stop)
		c.nodes = append(c.nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.nodes {
		for {
			info, err := n.Command("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster node %s not ok within 20s: %q %v", n.Addr, info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// Nodes are the cluster's servers, for commands sent to one node (Command
// answers MOVED for a key another node owns).
func (c *Cluster) Nodes() []*Server { return c.nodes }
