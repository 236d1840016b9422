package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// config is the example server's command line. Every flag can also come from APIGUARD_<FLAG> (upper case, dashes
// as underscores); a flag given on the command line wins.
type config struct {
	bcryptCost     int // bcrypt cost of the demo users; tests lower it
	Addr           string
	AppAddr        string
	Issuer         string
	Audience       string
	KeyFile        string
	Alg            string
	JWKSURL        string
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	Leeway         time.Duration
	MaxAge         time.Duration
	Rate           string
	LoginAttempts  string
	Redis          string
	TrustedProxies []string
	AllowedOrigins []string
	LogLevel       string
	TLSCert        string
	TLSKey         string
	RedirectAddr   string
	MetricsAddr    string
	ClientSecret   string
	TokenCache     int
	OIDCIssuer     string
	OIDCAudience   string
	OIDCProfile    string
	DPoP           string // dpopOff, dpopAllowed or dpopRequired
	DPoPNonce      bool
	Resource       string
}

// The values of -dpop.
const (
	dpopOff      = "off"      // no DPoP: proofs are ignored at the token endpoint, DPoP tokens refused
	dpopAllowed  = "allowed"  // DPoP-bound and Bearer tokens both accepted; a bound token only with its proof
	dpopRequired = "required" // every access token must be DPoP-bound, every login and refresh must prove a key
)

// envPrefix is prepended to a flag's name, upper-cased with dashes as
// underscores, to find its environment variable.
const envPrefix = "APIGUARD_"

// errFlagHelp is returned for -h: the usage has been printed.
var errFlagHelp = errors.New("flag: help requested")

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads args (without the program name) and the environment
// through getenv. It returns an error for unknown flags, bad values and
// combinations that cannot work; it never exits. The usage goes to usage
// (for -h, and after a flag error).
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (*config, error) {
	c := &config{bcryptCost: bcryptCost}
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(usage)
	var proxies, origins string
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "the API's listener")
	fs.StringVar(&c.AppAddr, "app-addr", "127.0.0.1:8081", "the demo page's listener (a second origin); empty disables it")
	fs.StringVar(&c.Issuer, "issuer", "apiguard-example", "iss of issued tokens, and the only issuer accepted")
	fs.StringVar(&c.Audience, "audience", "apiguard-example-api", "aud of issued tokens, and the audience required")
	fs.StringVar(&c.KeyFile, "key", "", "PKCS#8 PEM private key (RSA >= 2048, EC P-256 or Ed25519); empty: a fresh development key")
	fs.StringVar(&c.Alg, "alg", "", "signing algorithm; default from the key (RS256, ES256, EdDSA); PS256 selects RSA-PSS")
	fs.StringVar(&c.JWKSURL, "jwks-url", "", "also verify tokens against the keys published at this JWKS URL")
	fs.DurationVar(&c.AccessTTL, "access-ttl", 15*time.Minute, "access token lifetime")
	fs.DurationVar(&c.RefreshTTL, "refresh-ttl", 168*time.Hour, "refresh token family's absolute lifetime")
	fs.DurationVar(&c.Leeway, "leeway", 30*time.Second, "clock skew allowed on exp, nbf, iat")
	fs.DurationVar(&c.MaxAge, "max-age", 24*time.Hour, "oldest iat accepted, whatever exp says")
	fs.StringVar(&c.Rate, "rate", "100/1m", "per-client request limit")
	fs.StringVar(&c.LoginAttempts, "login-attempts", "5/15m", "failed logins allowed per client before lockout")
	fs.StringVar(&c.Redis, "redis", "", "redis://host:port/db to share limits, lockouts, revocations and refresh tokens; empty: in memory")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For / Forwarded headers are believed")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated origins allowed by CORS (default: the demo page's origin)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "audit log level (JSON lines on standard error)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "serve the API over HTTPS with this certificate (PEM)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "the private key of -tls-cert (PEM)")
	fs.StringVar(&c.RedirectAddr, "redirect-addr", "", "a plain-HTTP listener answering every request with a 301 to the HTTPS address")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address; empty: off")
	fs.IntVar(&c.TokenCache, "token-cache", 100000, "entries of the token validation cache; 0 turns it off")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "also trust this OpenID Connect provider's access tokens, its keys found through its discovery document")
	fs.StringVar(&c.OIDCAudience, "oidc-audience", "", "the audience required of -oidc-issuer's tokens (required with it)")
	fs.StringVar(&c.OIDCProfile, "oidc-profile", "rfc9068", "what -oidc-issuer's tokens look like: "+strings.Join(profileNames, ", ")+" (keycloak:<client> names the client whose roles count)")
	fs.StringVar(&c.DPoP, "dpop", dpopAllowed, "DPoP (RFC 9449) sender-constrained tokens: off, allowed (a login with a proof gets a bound token; Bearer still works) or required")
	fs.BoolVar(&c.DPoPNonce, "dpop-nonce", false, "require a server nonce in DPoP proofs (RFC 9449 §8); instances sharing -redis or -client-secret agree on it")
	fs.StringVar(&c.Resource, "resource", "", "the API's resource identifier in its protected-resource metadata (RFC 9728); empty: the API's origin")
	fs.StringVar(&c.ClientSecret, "client-secret", "", "HMAC secret for client keys (>= 32 bytes); empty: with -redis, one shared through Redis by every instance, else random per process")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errFlagHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] || envErr != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	c.TrustedProxies = splitList(proxies)
	c.AllowedOrigins = splitList(origins)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *config) validate() error {
	if c.Addr == "" {
		return errors.New("-addr is empty")
	}
	if c.Issuer == "" {
		return errors.New("-issuer is empty")
	}
	if c.Audience == "" {
		return errors.New("-audience is empty")
	}
	for name, d := range map[string]time.Duration{"-access-ttl": c.AccessTTL, "-refresh-ttl": c.RefreshTTL, "-max-age": c.MaxAge} {
		if d <= 0 {
			return fmt.Errorf("%s must be positive, got %s", name, d)
		}
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		return fmt.Errorf("-leeway must be between 0 and 5m, got %s", c.Leeway)
	}
	if c.AccessTTL > c.MaxAge {
		return fmt.Errorf("-access-ttl %s is longer than -max-age %s: tokens would be refused before they expire", c.AccessTTL, c.MaxAge)
	}
	if c.TokenCache < 0 || c.TokenCache > 10_000_000 {
		return fmt.Errorf("-token-cache must be between 0 and 10000000, got %d", c.TokenCache)
	}
	if c.OIDCIssuer != "" {
		if c.OIDCIssuer == c.Issuer {
			return fmt.Errorf("-oidc-issuer %q is the example's own -issuer", c.OIDCIssuer)
		}
		if c.OIDCAudience == "" {
			return errors.New("-oidc-issuer needs -oidc-audience: the audience its tokens must carry")
		}
		if _, err := profileByName(c.OIDCProfile); err != nil {
			return err
		}
	} else if c.OIDCAudience != "" {
		return errors.New("-oidc-audience is set without -oidc-issuer")
	}
	switch c.DPoP {
	case dpopOff, dpopAllowed, dpopRequired:
	default:
		return fmt.Errorf("-dpop %q: want off, allowed or required", c.DPoP)
	}
	if c.DPoPNonce && c.DPoP == dpopOff {
		return errors.New("-dpop-nonce is set while -dpop is off")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if c.RedirectAddr != "" && c.TLSCert == "" {
		return errors.New("-redirect-addr needs -tls-cert and -tls-key (it redirects to HTTPS)")
	}
	return nil
}

// apiOrigin is the origin the API is served on, for CORS and the demo page.
func (c *config) apiOrigin() string {
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return originOf(scheme, c.Addr)
}

// resource is the API's RFC 9728 resource identifier: -resource, or the API's
// origin.
func (c *config) resource() string {
	if c.Resource != "" {
		return c.Resource
	}
	return c.apiOrigin()
}

// appOrigin is the demo page's origin ("" when it is disabled).
func (c *config) appOrigin() string {
	if c.AppAddr == "" {
		return ""
	}
	return originOf("http", c.AppAddr)
}

// originOf turns a listen address into an origin a browser would send:
// "0.0.0.0" and "" hosts become 127.0.0.1, default ports are dropped.
func originOf(scheme, addr string) string {
	host, port, ok := strings.Cut(addr, ":")
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host, port, ok = addr[:i], addr[i+1:], true
	}
	if !ok {
		return scheme + "://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "[::]" {
		host = "127.0.0.1"
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
