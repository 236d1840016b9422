// Command oidcprovider is a test-only OpenID Connect provider for apiguard's
// end-to-end tests, built on zitadel/oidc's certified op package. It serves
// discovery, the JWKS and a client_credentials token endpoint whose access
// tokens are RS256 JWTs, plus a loopback-only POST /admin/rotate that rotates
// the signing key while keeping the old public keys in the JWKS.
//
// It listens on loopback only and prints one line to stdout when ready:
//
//	oidcprovider: issuer http://127.0.0.1:PORT
//
// It is a module of its own so that zitadel/oidc never enters apiguard's
// go.mod.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		log.Fatal(err)
	}
}

// run serves until ctx is done. ready, when not nil, receives the issuer once
// the listener is up (tests use it instead of parsing stdout).
func run(ctx context.Context, args []string, stdout io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("oidcprovider", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback `host:port` to listen on (port 0 picks a free one)")
	clientID := fs.String("client-id", "apiguard-e2e", "the client's id; also the sub of its tokens")
	clientSecret := fs.String("client-secret", "apiguard-e2e-secret", "the client's secret (client_secret_basic or client_secret_post)")
	audience := fs.String("audience", "apiguard-e2e-api", "the aud of every access token; comma-separated for several")
	scopes := fs.String("scopes", "e2e.read e2e.write", "scopes the client may request, space- or comma-separated; granted all when it asks for none")
	lifetime := fs.Duration("token-lifetime", 5*time.Minute, "access token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("oidcprovider: unexpected arguments %q", fs.Args())
	}

	// Checked before listening too, so a wrong flag never binds a public
	// interface, even for a moment.
	if host, _, err := net.SplitHostPort(*addr); err != nil {
		return fmt.Errorf("oidcprovider: -addr: %w", err)
	} else if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.Unmap().IsLoopback()) {
		return fmt.Errorf("oidcprovider: -addr %q: this test provider listens on loopback only", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("oidcprovider: listen: %w", err)
	}
	defer ln.Close()
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("oidcprovider: %s is not a loopback address; this test provider listens on loopback only", ln.Addr())
	}
	issuer := "http://" + ln.Addr().String()

	p, err := NewProvider(Config{
		Issuer:        issuer,
		ClientID:      *clientID,
		ClientSecret:  *clientSecret,
		Audience:      splitList(*audience),
		Scopes:        splitList(*scopes),
		TokenLifetime: *lifetime,
	})
	if err != nil {
		return err
	}

	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "oidcprovider: issuer %s\n", issuer)
	if ready != nil {
		ready <- issuer
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}

// splitList splits on commas and white space and drops empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}
