package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// RotatePath is the admin endpoint that rotates the signing key.
const RotatePath = "/admin/rotate"

// Config is everything the provider needs; main fills it from flags.
type Config struct {
	Issuer        string        // http://127.0.0.1:PORT, no trailing slash
	ClientID      string        // also the sub of every token
	ClientSecret  string        // client_secret_basic or client_secret_post
	Audience      []string      // the aud of every token
	Scopes        []string      // scopes the client may request; granted all when it asks for none
	TokenLifetime time.Duration // exp - iat
}

// Provider is zitadel's op.Provider with the admin endpoint in front of it.
type Provider struct {
	op   *op.Provider
	keys *keyRing
	mux  *http.ServeMux
}

// NewProvider builds the provider for cfg with a fresh RSA-2048 signing key.
func NewProvider(cfg Config) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("oidcprovider: client id and secret are required")
	}
	if len(cfg.Audience) == 0 || slices.Contains(cfg.Audience, "") {
		return nil, errors.New("oidcprovider: audience is required and may not be empty")
	}
	if cfg.TokenLifetime <= 0 {
		return nil, errors.New("oidcprovider: token lifetime must be positive")
	}
	keys, err := newKeyRing()
	if err != nil {
		return nil, err
	}
	st := &storage{
		client:   &client{id: cfg.ClientID},
		secret:   cfg.ClientSecret,
		audience: slices.Clone(cfg.Audience),
		scopes:   slices.Clone(cfg.Scopes),
		lifetime: cfg.TokenLifetime,
		keys:     keys,
	}
	opCfg := &op.Config{
		AuthMethodPost:  true, // client_secret_post besides client_secret_basic
		SupportedScopes: slices.Clone(cfg.Scopes),
		SupportedClaims: []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"},
	}
	// op wants an AES key for opaque tokens even though this client's tokens
	// are JWTs; a random one per process is enough.
	if _, err := rand.Read(opCfg.CryptoKey[:]); err != nil {
		return nil, err
	}
	// WithAllowInsecure: the issuer is an http loopback URL.
	o, err := op.NewProvider(opCfg, st, op.StaticIssuer(cfg.Issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	p := &Provider{op: o, keys: keys, mux: http.NewServeMux()}
	p.mux.HandleFunc(RotatePath, p.handleRotate)
	p.mux.Handle("/", o)
	return p, nil
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Rotate makes a new signing key current and returns its kid.
func (p *Provider) Rotate() (string, error) { return p.keys.rotate() }

// SigningKID is the kid that new tokens carry.
func (p *Provider) SigningKID() string { return p.keys.signing().ID() }

func (p *Provider) handleRotate(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) {
		http.Error(w, "admin endpoints answer loopback clients only", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	kid, err := p.Rotate()
	if err != nil {
		log.Printf("oidcprovider: rotate: %v", err)
		http.Error(w, "rotation failed", http.StatusInternalServerError)
		return
	}
	log.Printf("oidcprovider: rotated signing key, kid %s", kid)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		KID string `json:"kid"`
	}{kid})
}

// fromLoopback tells whether the peer of r is on the loopback network; the
// peer's address, not any forwarding header.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
