package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/auditlog/prom"
	"github.com/apiguard/apiguard/cors"
	"github.com/apiguard/apiguard/headers"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/jose"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/apiguard/apiguard/ratelimit"
	ratestore "github.com/apiguard/apiguard/ratelimit/redisstore"
)

// realm is the RFC 6750 realm of every WWW-Authenticate the example sends.
const realm = "apiguard-example"

// app holds everything the example server is built from.
type app struct {
	cfg   *config
	log   zerolog.Logger   // operational messages (start, listeners, warnings)
	audit *auditlog.Logger // security events and the access log

	users       *userStore
	issuer      *token.Issuer
	auth        *middleware.Authenticator
	refresh     *token.RefreshTokens
	revocations middleware.RevocationList
	ident       *ratelimit.Identifier
	limiter     *ratelimit.Limiter
	guard       *ratelimit.Guard
	dpop        *dpop.Verifier // nil with -dpop off
	challenge   []string       // WWW-Authenticate of the example's own 401s
	resource    string         // RFC 9728 resource identifier; "" when no metadata is published
	metrics     *prometheus.Registry

	closers []func()
}

// newApp builds every component from cfg. Configuration errors surface here,
// before any listener opens.
func newApp(ctx context.Context, cfg *config, logw io.Writer) (*app, error) {
	lvl, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil || lvl == zerolog.NoLevel {
		return nil, fmt.Errorf("-log-level %q: want trace, debug, info, warn, error or disabled", cfg.LogLevel)
	}
	a := &app{cfg: cfg, log: zerolog.New(logw).Level(lvl).With().Timestamp().Str("component", "example").Logger()}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	a.metrics = prometheus.NewRegistry()
	events, err := prom.NewCounter(a.metrics)
	if err != nil {
		return nil, err
	}
	a.audit = auditlog.New(logw, auditlog.Options{Level: lvl, Counter: events})

	if a.users, err = newUserStore(cfg.bcryptCost); err != nil {
		return nil, err
	}

	signer, alg, err := a.loadKey()
	if err != nil {
		return nil, err
	}
	a.issuer, err = token.NewIssuer(token.IssuerConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Key: signer, Alg: alg, TTL: cfg.AccessTTL,
	})
	if err != nil {
		return nil, err
	}

	var keys jose.KeySource = a.issuer
	if cfg.JWKSURL != "" {
		remote, err := jose.NewRemoteJWKS(ctx, jose.RemoteJWKSConfig{URL: cfg.JWKSURL, Audit: a.audit})
		if err != nil {
			return nil, fmt.Errorf("-jwks-url: %w", err)
		}
		a.closers = append(a.closers, func() { remote.Close() })
		keys = jose.MultiKeySource(a.issuer, remote)
	}

	var rdb *redis.Client
	if cfg.Redis != "" {
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, fmt.Errorf("-redis %q: %w", cfg.Redis, err)
		}
		// go-redis logs through a package-level logger that writes plain text to
		// standard error; route it into the JSON log instead (the example's
		// standard error carries JSON lines only).
		redis.SetLogger(redisLogger{a.log})
		boundRedisWaits(opts)
		rdb = redis.NewClient(opts)
		a.closers = append(a.closers, func() { _ = rdb.Close() })
	}

	// Revocations and refresh-token families.
	var refreshStore token.RefreshStore
	if rdb != nil {
		// Refresh families need AOF or RDB to survive a Redis restart
		// (revocations and rate limits need none).
		if p, err := redisstore.CheckPersistence(ctx, rdb); err != nil {
			a.log.Warn().Err(err).Msg("could not read Redis persistence settings")
		} else if !p.Durable() {
			a.log.Warn().Bool("rdb_unknown", p.RDBUnknown).Msg("Redis has neither AOF nor RDB snapshots: a Redis restart signs every user out")
			a.audit.Record(nil, auditlog.Event{
				Name:   auditlog.StoreUnavailable,
				Reason: redisstore.ReasonNotPersistent,
				Detail: "redis persists nothing; refresh families are lost on restart",
			})
		}
		rl, err := redisstore.NewRevocationList(ctx, rdb, redisstore.RevocationOptions{Audit: a.audit})
		if err != nil {
			return nil, fmt.Errorf("-redis: revocation list: %w", err)
		}
		a.closers = append(a.closers, func() { rl.Close() })
		a.revocations = rl
		if refreshStore, err = redisstore.NewRefreshStore(rdb, redisstore.RefreshStoreOptions{}); err != nil {
			return nil, fmt.Errorf("-redis: refresh store: %w", err)
		}
	} else {
		a.revocations = middleware.NewMemoryRevocationList(nil)
		refreshStore = token.NewMemoryRefreshStore(nil)
	}
	if a.refresh, err = a.newRefreshTokens(cfg, refreshStore); err != nil {
		return nil, err
	}

	// Client identity, rate limits and the brute-force guard. Instances
	// sharing a Redis share the client-key secret it holds (an explicit
	// -client-secret wins), so a client has one key, one budget and one
	// lockout whichever instance it reaches.
	var secret []byte
	switch {
	case cfg.ClientSecret != "":
		secret = []byte(cfg.ClientSecret)
	case rdb != nil:
		if secret, err = ratestore.SharedSecret(ctx, rdb); err != nil {
			return nil, fmt.Errorf("-redis: client-key secret: %w", err)
		}
		a.log.Info().Str("redis_key", ratestore.SecretKey).Msg("client-key secret shared through Redis by every instance")
	}
	a.ident, err = ratelimit.NewIdentifier(ratelimit.IdentityConfig{TrustedProxies: cfg.TrustedProxies, Secret: secret})
	if err != nil {
		return nil, fmt.Errorf("-trusted-proxies / -client-secret: %w", err)
	}
	if w := a.ident.Warning(); w != "" {
		a.log.Warn().Msg(w)
	}
	limit, err := ratelimit.ParseLimit(cfg.Rate)
	if err != nil {
		return nil, fmt.Errorf("-rate: %w", err)
	}
	loginLimit, err := ratelimit.ParseLimit(cfg.LoginAttempts)
	if err != nil {
		return nil, fmt.Errorf("-login-attempts: %w", err)
	}
	// Without -redis, nil stores mean the memory ones.
	var store ratelimit.Store
	var guardStore ratelimit.GuardStore
	if rdb != nil {
		if store, err = ratestore.NewLimiterStore(rdb, ratestore.Options{}); err != nil {
			return nil, err
		}
		if guardStore, err = ratestore.NewGuardStore(rdb, ratestore.Options{}); err != nil {
			return nil, err
		}
	}
	if a.limiter, err = ratelimit.New(ratelimit.Config{Store: store, Limit: limit, Identifier: a.ident, Name: "api", Audit: a.audit}); err != nil {
		return nil, fmt.Errorf("-rate: %w", err)
	}
	if a.guard, err = ratelimit.NewGuard(ratelimit.GuardConfig{Store: guardStore, Identifier: a.ident, LoginPerClient: loginLimit, Audit: a.audit}); err != nil {
		return nil, fmt.Errorf("-login-attempts: %w", err)
	}

	// DPoP: one verifier for the token endpoint and the gate, its nonce
	// key derived from the client-key secret (so instances sharing one
	// agree on nonces) and its replay cache in Redis with -redis.
	if a.dpop, err = a.newDPoP(ctx, rdb, secret); err != nil {
		return nil, err
	}

	authCfg := middleware.Config{
		Leeway: cfg.Leeway, MaxAge: cfg.MaxAge, Revocation: a.revocations,
		CacheSize: cacheSize(cfg.TokenCache),
		Realm:     realm, Audit: a.audit,
		Failures: a.guard, // invalid tokens count towards the lockout
		DPoP:     a.dpop, DPoPRequired: cfg.DPoP == dpopRequired,
	}
	if a.resource = a.metadataResource(); a.resource != "" {
		authCfg.Resource = a.resource
		authCfg.ResourceMetadata = &middleware.ResourceMetadata{ResourceName: "apiguard example API"}
		if cfg.OIDCIssuer != "" {
			authCfg.ResourceMetadata.AuthorizationServers = []string{cfg.OIDCIssuer}
		}
	}
	// The issuer's own algorithms and those a -jwks-url key may have; the
	// key's own alg must equal the header's in any case.
	own := middleware.TrustedIssuer{
		Issuer: cfg.Issuer, Audience: cfg.Audience,
		Keys: keys, Algorithms: []string{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA},
	}
	if cfg.OIDCIssuer == "" {
		authCfg.Issuer, authCfg.Audience, authCfg.Keys, authCfg.Algorithms = own.Issuer, own.Audience, own.Keys, own.Algorithms
	} else {
		// An external provider beside the example's own issuer: a token is
		// verified with the keys of the issuer it names only, the
		// provider's found through its discovery document in the
		// background (its tokens get 503 until they arrive).
		profile, err := profileByName(cfg.OIDCProfile)
		if err != nil {
			return nil, err
		}
		authCfg.Issuers = []middleware.TrustedIssuer{own, {
			Issuer: cfg.OIDCIssuer, Audience: cfg.OIDCAudience, Discovery: true, Profile: profile,
		}}
	}
	if a.auth, err = middleware.New(authCfg); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { a.auth.Close() })
	a.challenge = a.ownChallenge()
	ok = true
	return a, nil
}

// newRefreshTokens is the example's refresh-token wiring over store.
func (a *app) newRefreshTokens(cfg *config, store token.RefreshStore) (*token.RefreshTokens, error) {
	return token.NewRefreshTokens(token.RefreshConfig{
		Store: store, FamilyTTL: cfg.RefreshTTL, Audit: a.audit,
		// A revoked family (reuse, logout, a user gone) takes its access
		// tokens (sid = family ID) with it, on every instance.
		Revocation: a.revocations, Issuer: cfg.Issuer, AccessTTL: cfg.AccessTTL + cfg.Leeway,
		// Roles are reloaded at each refresh, so a role taken away ends with the
		// next refresh; a user who no longer exists ends the family.
		Reload: func(_ context.Context, sub string) ([]string, error) {
			roles, err := a.users.roles(sub)
			if err != nil {
				return nil, fmt.Errorf("user %q: %w", sub, token.ErrInvalidGrant)
			}
			return roles, nil
		},
	})
}

// redisLogger adapts go-redis's logger interface to the example's zerolog
// logger, at warn level (go-redis logs connection trouble).
type redisLogger struct{ log zerolog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn().Str("source", "go-redis").Msgf(format, v...)
}

// cacheSize maps -token-cache (0: off) to Config.CacheSize (negative: off).
func cacheSize(entries int) int {
	if entries == 0 {
		return -1
	}
	return entries
}

// Close releases background work and connections.
func (a *app) Close() {
	a.audit.Flush() // pending counts of suppressed threat events
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// loadKey reads -key, or generates a development key for -alg (ES256 when
// -alg is empty) and says so in the log.
func (a *app) loadKey() (crypto.Signer, string, error) {
	if a.cfg.KeyFile == "" {
		signer, alg, err := generateKey(a.cfg.Alg)
		if err != nil {
			return nil, "", err
		}
		a.log.Warn().Str("alg", alg).Msg("no -key given: generated a development signing key; tokens will not survive a restart")
		return signer, alg, nil
	}
	data, err := os.ReadFile(a.cfg.KeyFile)
	if err != nil {
		return nil, "", fmt.Errorf("-key: %w", err)
	}
	signer, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, "", fmt.Errorf("-key %s: %w", a.cfg.KeyFile, err)
	}
	alg := a.cfg.Alg
	if alg == "" {
		if alg, err = jose.DefaultAlg(signer); err != nil {
			return nil, "", fmt.Errorf("-key %s: %w", a.cfg.KeyFile, err)
		}
	}
	return signer, alg, nil
}

func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("want a PEM \"PRIVATE KEY\" block (PKCS#8)")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too weak (minimum 2048)", k.N.BitLen())
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("EC key on %s: only P-256 is supported", k.Curve.Params().Name)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key)
}

func generateKey(alg string) (crypto.Signer, string, error) {
	switch alg {
	case "", jose.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k, jose.ES256, err
	case jose.RS256, jose.PS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		return k, alg, err
	case jose.EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, alg, err
	}
	return nil, "", fmt.Errorf("-alg %q: want RS256, PS256, ES256 or EdDSA", alg)
}

// apiHandler is the API origin: the whole chain in request-flow order (audit
// log, client identity, headers, CORS, rate limit, brute-force guard,
// authentication, role guards, handler).
func (a *app) apiHandler() (http.Handler, error) {
	origins := a.cfg.AllowedOrigins
	if len(origins) == 0 && a.cfg.appOrigin() != "" {
		origins = []string{a.cfg.appOrigin()}
	}
	corsMW, err := cors.New(cors.Policy{
		AllowedOrigins: origins, Audit: a.audit,
		// The DPoP proof header, and the nonce a page must read to answer
		// use_dpop_nonce (RFC 9449 §8), beside the defaults.
		AllowedHeaders: []string{"Authorization", "Content-Type", "DPoP"},
		ExposedHeaders: []string{"WWW-Authenticate", "Retry-After", "RateLimit", "RateLimit-Policy", "DPoP-Nonce"},
	})
	if err != nil {
		return nil, fmt.Errorf("-allowed-origins: %w", err)
	}
	hopts := headers.API()
	hopts.TrustedProxy = a.ident.TrustedProxy
	hdrs, err := headers.New(hopts)
	if err != nil {
		return nil, err
	}
	reqlog, err := auditlog.NewRequestLogger(a.audit, auditlog.RequestLogOptions{})
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(reqlog.Handler, a.ident.Handler, hdrs.Handler, corsMW.Handler, a.limiter.Handler)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
	})
	r.Get("/healthz", healthz)
	r.Get("/", healthz)
	r.Method(http.MethodGet, "/.well-known/jwks.json", a.issuer.JWKSHandler())
	if a.resource != "" {
		// RFC 9728 §3: GET and HEAD, and 405 for the rest, from the handler.
		r.Handle(middleware.ResourceMetadataPath(a.resource), a.auth.MetadataHandler())
	}
	r.Post("/auth/login", a.login)
	r.Post("/auth/refresh", a.refreshTokens)
	r.Group(func(r chi.Router) {
		r.Use(a.guard.Handler, a.auth.Handler)
		r.Post("/auth/logout", a.logout)
		r.Get("/api/me", a.me)
		admin := middleware.RequireRolesWith(middleware.GuardOptions{Realm: realm}, "admin")
		r.With(admin).Get("/api/admin", a.admin)
		// Step-up (RFC 9470): an authentication no older than 5 minutes.
		// The example's own tokens carry no auth_time, so they always get
		// 401 insufficient_user_authentication with max_age="300".
		r.With(admin, middleware.RequireStepUp(middleware.StepUp{
			MaxAge: stepUpMaxAge, GuardOptions: middleware.GuardOptions{Realm: realm},
		})).Get("/api/admin/stepup", a.admin)
	})
	return r, nil
}

// appHandler is the demo page's origin, under the Web() preset.
func (a *app) appHandler() (http.Handler, error) {
	hopts := headers.Web()
	hopts.ConnectSrc = []string{a.cfg.apiOrigin()}
	hopts.Development = a.cfg.TLSCert == ""
	hdrs, err := headers.New(hopts)
	if err != nil {
		return nil, err
	}
	demo, err := newDemoHandler(a.cfg.apiOrigin(), headers.Nonce)
	if err != nil {
		return nil, err
	}
	return hdrs.Handler(demo), nil
}

// redirectHandler answers every request with a 301 to the HTTPS API origin.
// The target comes from the configuration, never from the request's Host.
func (a *app) redirectHandler() http.Handler {
	base := a.cfg.apiOrigin()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", base+r.URL.RequestURI())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMovedPermanently)
	})
}

// listen opens every configured listener; nothing is served yet.
func (a *app) listen() ([]*server, error) {
	api, err := a.apiHandler()
	if err != nil {
		return nil, err
	}
	var servers []*server
	add := func(name, addr string, h http.Handler, useTLS bool) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s listener on %s: %w", name, addr, err)
		}
		srv := newHTTPServer(h)
		if useTLS {
			cert, err := tls.LoadX509KeyPair(a.cfg.TLSCert, a.cfg.TLSKey)
			if err != nil {
				ln.Close()
				return fmt.Errorf("-tls-cert/-tls-key: %w", err)
			}
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		}
		servers = append(servers, &server{name: name, ln: ln, srv: srv, tls: useTLS})
		a.log.Info().Str("listener", name).Str("addr", ln.Addr().String()).Msg("listening")
		return nil
	}
	fail := func(err error) ([]*server, error) {
		for _, s := range servers {
			s.ln.Close()
		}
		return nil, err
	}
	if err := add("api", a.cfg.Addr, api, a.cfg.TLSCert != ""); err != nil {
		return fail(err)
	}
	if a.cfg.AppAddr != "" {
		app, err := a.appHandler()
		if err != nil {
			return fail(err)
		}
		if err := add("app", a.cfg.AppAddr, app, false); err != nil {
			return fail(err)
		}
	}
	if a.cfg.RedirectAddr != "" {
		if err := add("redirect", a.cfg.RedirectAddr, a.redirectHandler(), false); err != nil {
			return fail(err)
		}
	}
	if a.cfg.MetricsAddr != "" {
		if err := add("metrics", a.cfg.MetricsAddr, promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{}), false); err != nil {
			return fail(err)
		}
	}
	return servers, nil
}

// boundRedisWaits bounds what one Redis call can wait before it fails,
// where the URL does not say (dial_timeout, read_timeout, write_timeout,
// max_retries win). Each store's breaker makes calls fail at once once
// Redis is known to be down, but the calls before it opens, and every call
// while Redis hangs without refusing (a partition, a stopped process),
// still wait out go-redis's defaults: a 5 s dial retried 5 times, a 3 s
// read, and 3 retries of the whole command, tens of seconds per request.
// A Redis next to the API answers in a millisecond, and every store
// script is O(1), so half a second is a generous bound; one command retry
// is kept, since a lost reply is retried safely (see redisstore).
func boundRedisWaits(o *redis.Options) {
	if o.DialTimeout == 0 {
		o.DialTimeout = 500 * time.Millisecond
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 500 * time.Millisecond
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 500 * time.Millisecond
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
}
