package redistest

import (
	"strings"
	"testing"
)

func TestStartCluster(t *testing.T) {
	c := StartCluster(t, 3)
	if len(c.Addrs) != 3 {
		t.Fatalf("addrs %v", c.Addrs)
	}
	info, err := c.Nodes()[0].Command("CLUSTER", "INFO")
	if err != nil || !strings.Contains(info, "cluster_known_nodes:3") || !strings.Contains(info, "cluster_slots_assigned:16384") {
		t.Fatalf("cluster info %q %v", info, err)
	}
}
