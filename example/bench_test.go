package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the chain rather than httptest's recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkChain puts requests through the example's whole chain (request
// log, identity, headers, CORS, rate limit, guard, gate) next to a bare
// handler: healthz (everything but authentication), /api/me with one token
// (validation-cache hits) and /api/me as a miss (cache off).
func BenchmarkChain(b *testing.B) {
	_, h := benchApp(b)
	tok := benchLogin(b, h)

	run := func(b *testing.B, h http.Handler, path, bearer string) {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = "192.0.2.10:1234"
		req.Header.Set("User-Agent", "bench/1.0")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
	b.Run("bare", func(b *testing.B) { run(b, http.HandlerFunc(healthz), "/healthz", "") })
	b.Run("healthz", func(b *testing.B) { run(b, h, "/healthz", "") })
	b.Run("me-hit", func(b *testing.B) { run(b, h, "/api/me", tok) })
}

// BenchmarkServe is BenchmarkChain through net/http itself: the server reads
// each request from a connection (an in-memory one, so no system call is
// measured) and writes its response, request line, headers and all, as
// wrk's requests in `make load` are served. b.N requests go down one
// keep-alive connection one after the other. cpu-ns/op is the process's CPU
// time per request, every thread: steadier than wall time on a shared
// machine. The ratio of me-hit to healthz here is the one `make load`
// measures, without the system calls and wrk.
func BenchmarkServe(b *testing.B) {
	_, h := benchApp(b)
	tok := benchLogin(b, h)
	run := func(b *testing.B, path, bearer string) {
		req := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:18190\r\n"
		if bearer != "" {
			req += "Authorization: Bearer " + bearer + "\r\n"
		}
		req += "\r\n"
		c := &replayConn{req: []byte(req), closed: make(chan struct{})}
		srv := newHTTPServer(h)
		b.ReportAllocs()
		b.ResetTimer()
		c.left = b.N
		cpu := processCPU()
		go func() { _ = srv.Serve(&oneConnListener{c: c, done: c.closed}) }()
		<-c.closed
		b.StopTimer()
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		_ = srv.Close()
		if c.responses < b.N {
			b.Fatalf("%d responses to %d requests", c.responses, b.N)
		}
		if !c.ok {
			b.Fatalf("not a 200: %q", c.first)
		}
	}
	b.Run("healthz", func(b *testing.B) { run(b, "/healthz", "") })
	// healthz-token carries the same Authorization header as me-hit, which
	// /healthz ignores: what net/http itself spends on reading a token.
	b.Run("healthz-token", func(b *testing.B) { run(b, "/healthz", tok) })
	b.Run("me-hit", func(b *testing.B) { run(b, "/api/me", tok) })
}

// benchApp is the example's app and API handler as `make load` runs them:
// a rate limit far above what a benchmark sends, the access log on (to
// io.Discard).
func benchApp(b *testing.B) (*app, http.Handler) {
	b.Helper()
	cfg, err := parseConfig([]string{"-rate", "1000000/1s", "-app-addr", "", "-log-level", "info"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	cfg.bcryptCost = bcrypt.MinCost
	a, err := newApp(context.Background(), cfg, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	h, err := a.apiHandler()
	if err != nil {
		b.Fatal(err)
	}
	return a, h
}

// benchLogin logs alice in through h and returns her access token.
func benchLogin(b *testing.B, h http.Handler) string {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", strings.NewReader(`{"username":"alice","password":"alice-password"}`)))
	if rec.Code != 200 {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	tok := rec.Body.String()
	tok = tok[strings.Index(tok, `"access_token":"`)+16:]
	return tok[:strings.IndexByte(tok, '"')]
}

// replayConn is a client connection that sends req left times, one request
// per Read as a client waiting for each response would, then EOF; it counts
// the responses written to it (net/http writes each in one piece) and keeps
// the first.
type replayConn struct {
	req       []byte
	left      int // requests still to send, the current one included
	off       int // bytes of the current request already read
	responses int
	first     string
	ok        bool // the first response is a 200
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.req[c.off:])
	if c.off += n; c.off == len(c.req) {
		c.off, c.left = 0, c.left-1
	}
	return n, nil
}

func (c *replayConn) Write(p []byte) (int, error) {
	if c.responses == 0 {
		c.first = string(p)
		c.ok = strings.HasPrefix(c.first, "HTTP/1.1 200 ")
	}
	c.responses++
	return len(p), nil
}

func (c *replayConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *replayConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18190}
}
func (c *replayConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// oneConnListener accepts c once, then waits until done is closed.
type oneConnListener struct {
	c    net.Conn
	done chan struct{}
	once sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.c })
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.c.LocalAddr() }
