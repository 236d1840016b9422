// Command example is apiguard's example server: a small API (login, refresh,
// logout, JWKS, protected routes) behind the whole apiguard chain, and a demo
// page on a second origin that calls it cross-origin.
//
// Run it with `make run` (or `go run ./example`); `-h` lists the flags, each
// of which can also be set through APIGUARD_<FLAG>. With no flags it runs on
// embedded defaults: in-memory stores and a freshly generated development key.
package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Standard error carries JSON lines only (the audit log and the server's
	// own messages), so a start-up error is one too; -h prints to standard
	// output.
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errHelp) {
			os.Exit(0)
		}
		log := zerolog.New(os.Stderr).With().Timestamp().Str("component", "example").Logger()
		log.Error().Err(err).Msg("cannot start")
		os.Exit(2)
	}
}

var errHelp = errors.New("help requested")

// run parses the configuration, builds the servers and serves until ctx is
// done, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		if errors.Is(err, errFlagHelp) {
			return errHelp
		}
		return err
	}
	a, err := newApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.Close()

	servers, err := a.listen()
	if err != nil {
		return err
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func(s *server) { errc <- s.serve() }(s)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.srv.Shutdown(shutdownCtx)
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}

// server is one listener of the example with its http.Server.
type server struct {
	name string
	ln   net.Listener
	srv  *http.Server
	tls  bool
}

func (s *server) serve() error {
	if s.tls {
		return s.srv.ServeTLS(s.ln, "", "")
	}
	return s.srv.Serve(s.ln)
}

// newHTTPServer returns an http.Server with the timeouts an Internet-facing
// server needs (slowloris, idle connections) and a bounded header size.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}
