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

func TestProxyDropsOneReply(t *testing.T) {
	s := Start(t)
	p := NewProxy(t, s.Addr)
	via := &Server{Addr: p.Addr}
	if _, err := via.Command("SET", "k", "1"); err != nil {
		t.Fatal(err)
	}
	p.DropNextReply()
	if _, err := via.Command("INCR", "k"); err == nil {
		t.Fatal("the reply to INCR arrived; the proxy should have lost it")
	}
	// Redis executed the command all the same.
	if v, err := s.Command("GET", "k"); err != nil || v != "2" {
		t.Fatalf("GET k = %q, %v; want 2 (executed, reply lost)", v, err)
	}
	if v, err := via.Command("GET", "k"); err != nil || v != "2" || p.Dropped() != 1 {
		t.Fatalf("after the drop: %q %v dropped=%d", v, err, p.Dropped())
	}
}
