package redistest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a loopback TCP proxy in front of a Redis server that can lose a
// reply on purpose: the network fault in which Redis executed a command but
// the client never heard back (a blip, a proxy restart, a failover).
type Proxy struct {
	// Addr is the proxy's host:port; point the client here.
	Addr string

	target  string
	ln      net.Listener
	drop    atomic.Int32 // replies still to lose
	dropped atomic.Int32 // replies lost so far
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards every connection to
// target, until the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// DropNextReply makes the proxy lose the next reply that comes back from
// Redis on any connection: the bytes are read and discarded and that client
// connection is closed, so the client sees the connection fail after Redis
// has executed the command.
func (p *Proxy) DropNextReply() { p.drop.Add(1) }

// takeDrop claims one armed drop, if any.
func (p *Proxy) takeDrop() bool {
	for {
		n := p.drop.Load()
		if n <= 0 {
			return false
		}
		if p.drop.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// Dropped is how many replies the proxy has lost so far.
func (p *Proxy) Dropped() int { return int(p.dropped.Load()) }

// Close stops the proxy and closes every connection through it.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.track(client, true)
		p.track(server, true)
		p.wg.Add(2)
		go func() { // client -> server, untouched
			defer p.wg.Done()
			_, _ = io.Copy(server, client)
			_ = server.Close()
			p.track(server, false)
		}()
		go func() { // server -> client, losing a reply when armed
			defer p.wg.Done()
			defer func() { _ = client.Close(); p.track(client, false) }()
			buf := make([]byte, 32<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 {
					if p.takeDrop() {
						p.dropped.Add(1)
						_ = server.Close()
						return
					}
					if _, werr := client.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}
