// Package redistest starts a real redis-server for tests.
//
// Start launches `redis-server` on a free loopback port with persistence off
// (`--save "" --appendonly no`) and stops it when the test ends. When the
// binary is not on PATH the test is skipped with a clear message, unless the
// environment sets APIGUARD_REQUIRE_REDIS=1 (as CI does), in which case the
// test fails: in CI a skipped Redis test would hide a missing install step.
//
// There is no mock of Redis anywhere in apiguard; this is the only way tests
// reach Redis.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing redis-server
// from a skip into a failure.
const RequireEnv = "APIGUARD_REQUIRE_REDIS"

// Server is a running redis-server owned by one test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string

	t     testing.TB
	port  int
	extra []string // further redis-server arguments (cluster mode)
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
}

// URL returns a redis:// URL for database 0 of the server.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Start starts a fresh redis-server for t and registers its shutdown with
// t.Cleanup. It skips t (or fails it under APIGUARD_REQUIRE_REDIS=1) when
// redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	_, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not found on PATH (Debian package redis-server); skipping Redis-backed test"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s is set but %s", RequireEnv, msg)
		}
		t.Skip(msg)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("redistest: no free port: %v", err)
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), t: t, port: port}
	s.startProcess()
	t.Cleanup(s.Stop)
	return s
}

// Stop kills the server and waits for it to exit. It is safe to call more than
// once; a stopped server can be started again on the same port with Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same address after Stop (its data is
// gone: persistence is off).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.startProcess()
}

func (s *Server) startProcess() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "yes",
	)
	cmd.Args = append(cmd.Args, s.extra...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: starting redis-server: %v", err)
	}
	done := make(chan struct{})
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			logMu.Lock()
			if log.Len() < 16<<10 {
				log.WriteString(sc.Text())
				log.WriteByte('\n')
			}
			logMu.Unlock()
		}
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.Addr) == nil {
			return
		}
		select {
		case <-done:
			logMu.Lock()
			defer logMu.Unlock()
			s.cmd = nil
			s.t.Fatalf("redistest: redis-server exited early:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			s.cmd = nil
			s.t.Fatalf("redistest: redis-server on %s did not answer PING within 10s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Command sends one raw command and returns the first line of the reply; tests
// use it for INFO-style checks without a client library.
func (s *Server) Command(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") {
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("redistest: bad bulk reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	if strings.HasPrefix(line, "-") {
		return "", fmt.Errorf("redistest: %s", line[1:])
	}
	return line, nil
}

// CommandCalls returns how many times Redis has executed the named command
// (from INFO commandstats), for tests that prove a path sends no command.
func (s *Server) CommandCalls(name string) (int, error) {
	info, err := s.Command("INFO", "commandstats")
	if err != nil {
		return 0, err
	}
	prefix := "cmdstat_" + strings.ToLower(name) + ":calls="
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			n, _, _ := strings.Cut(rest, ",")
			return strconv.Atoi(n)
		}
	}
	return 0, nil
}

// TotalCommands returns the total number of commands Redis has processed
// (total_commands_processed from INFO stats), the INFO call itself included.
func (s *Server) TotalCommands() (int, error) {
	info, err := s.Command("INFO", "stats")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			return strconv.Atoi(rest)
		}
	}
	return 0, fmt.Errorf("redistest: total_commands_processed not in INFO stats")
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Context returns a context bounded to d, cancelled at test end.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
