package idptest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The provider names New accepts.
const (
	Entra    = "entra"
	Auth0    = "auth0"
	Okta     = "okta"
	Keycloak = "keycloak"
	Cognito  = "cognito"
	Google   = "google"
)

// EntraCommon is Entra's multi-tenant "common" endpoint: a discovery
// document whose issuer is the template {base}/{tenantid}/v2.0, keys of
// work accounts and of Microsoft accounts (MSATenant) in one set, and tokens
// whose iss names the tenant of their tid. It is not in Names: its tokens'
// iss is not Provider.Issuer.
const EntraCommon = "entra-common"

// Names lists the six providers, one tenant each, for table-driven tests.
var Names = []string{Entra, Auth0, Okta, Keycloak, Cognito, Google}

// Provider is one running identity-provider fixture. The exported fields are
// fixed at New; everything else goes through methods, which are safe for
// concurrent use (the server answers from other goroutines).
type Provider struct {
	// Name is one of Names, or EntraCommon.
	Name string
	// Issuer is the exact issuer string of the discovery document and of the
	// tokens' iss, built on Server.URL the way the provider builds it (for
	// EntraCommon the {tenantid} template, which no token's iss equals).
	Issuer string
	// Audience is what a resource server configures as its audience: the
	// value the access token carries in aud (client_id for Cognito, which
	// has no aud in access tokens).
	Audience string
	// ClientID is the OAuth client the tokens are issued to (azp, cid,
	// client_id; the aud of ID tokens, so for Google also Audience).
	ClientID string
	// Tenant is the tenant part of the issuer: the Entra tenant id, the
	// Auth0 tenant, the Okta authorization server id, the Keycloak realm,
	// the Cognito user pool id; empty for Google; "common" for EntraCommon.
	Tenant string
	// DiscoveryURL is the OpenID Connect discovery document URL.
	DiscoveryURL string
	// MetadataURLs are the RFC 8414 authorization server metadata URLs the
	// provider serves (empty where it serves none).
	MetadataURLs []string
	// JWKSURI is the jwks_uri of the discovery document.
	JWKSURI string
	// Server serves the documents; it is closed at the end of the test.
	Server *httptest.Server

	prof       *profile
	homeTenant string // EntraCommon: the tid of AccessToken by default

	mu           sync.Mutex
	keys         []*key // published, in order
	extra        []json.RawMessage
	signing      *key // signs access tokens
	idSigning    *key // signs ID tokens (Cognito: another key)
	down         bool
	discoveryCC  string
	jwksCC       string
	headerTyp    *string // WithAccessTokenTyp
	tls          bool
	jwksBody     []byte // SetJWKSBody
	requests     atomic.Int64
	jwksRequests atomic.Int64
}

// key is one key the fixture holds: a signing key (private part kept) or the
// public part of a published encryption key.
type key struct {
	kid  string
	priv *rsa.PrivateKey
	x5t  string // Entra repeats it in the token header
	jwk  obj
}

// Option changes a fixture at New.
type Option func(*Provider)

// WithCacheControl sets the Cache-Control of the discovery (and RFC 8414)
// documents and of the JWKS; an empty string sends no Cache-Control header.
func WithCacheControl(discovery, jwks string) Option {
	return func(p *Provider) { p.discoveryCC, p.jwksCC = discovery, jwks }
}

// WithTLS serves over HTTPS (httptest's certificate: fetch with
// Server.Client()), for the code paths that refuse plain HTTP even on
// loopback.
func WithTLS() Option {
	return func(p *Provider) { p.tls = true }
}

// WithAccessTokenTyp sets the typ header of AccessToken, for the provider
// settings that change it (Auth0's "RFC 9068" token dialect and Keycloak's
// client option both write "at+jwt"); an empty string leaves typ out.
func WithAccessTokenTyp(typ string) Option {
	return func(p *Provider) { p.headerTyp = &typ }
}

// New starts the fixture of the provider name (one of Names, or EntraCommon) on a loopback
// httptest server, with freshly generated keys of the provider's kind, and
// closes it when the test ends.
func New(t testing.TB, name string, opts ...Option) *Provider {
	t.Helper()
	prof, ok := profiles[name]
	if !ok {
		t.Fatalf("idptest: unknown provider %q (want one of %v or %q)", name, Names, EntraCommon)
	}
	p := &Provider{Name: name, prof: prof, discoveryCC: prof.discoveryCC, jwksCC: prof.jwksCC}
	for _, o := range opts {
		o(p)
	}
	mux := http.NewServeMux()
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	if p.tls {
		p.Server.StartTLS()
	} else {
		p.Server.Start()
	}
	t.Cleanup(p.Server.Close)
	prof.layout(p, p.Server.URL)

	privs := genRSA(t, prof.keys+len(prof.encKeys), 2048)
	for i := 0; i < prof.keys; i++ {
		p.keys = append(p.keys, prof.newKey(t, p, privs[i], i))
	}
	for i, alg := range prof.encKeys {
		k := prof.newEncKey(t, p, privs[prof.keys+i], alg)
		k.priv = nil // published for encryption; the fixture never signs with it
		p.keys = append(p.keys, k)
	}
	p.signing = p.keys[prof.signWith]
	p.idSigning = p.keys[prof.idSignWith]

	serve := func(path string, doc func() []byte, cc func() string, counter *atomic.Int64) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			if counter != nil {
				counter.Add(1)
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				http.Error(w, "service unavailable", http.StatusServiceUnavailable)
				return
			}
			if c := cc(); c != "" {
				w.Header().Set("Cache-Control", c)
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(doc())
		})
	}
	discoCC := func() string { p.mu.Lock(); defer p.mu.Unlock(); return p.discoveryCC }
	jwksCC := func() string { p.mu.Lock(); defer p.mu.Unlock(); return p.jwksCC }
	disco := mustJSON(t, prof.discovery(p))
	serve(pathOf(p.DiscoveryURL), func() []byte { return disco }, discoCC, nil)
	for _, u := range p.MetadataURLs {
		meta := mustJSON(t, prof.metadata(p))
		serve(pathOf(u), func() []byte { return meta }, discoCC, nil)
	}
	serve(pathOf(p.JWKSURI), p.JWKS, jwksCC, &p.jwksRequests)
	return p
}

func pathOf(u string) string {
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// JWKS returns the JWK Set document as the server currently serves it: the
// provider's keys in order, then the keys added with AddKeyJSON.
func (p *Provider) JWKS() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.jwksBody != nil {
		return append([]byte(nil), p.jwksBody...)
	}
	keys := make([]json.RawMessage, 0, len(p.keys)+len(p.extra))
	for _, k := range p.keys {
		b, err := json.Marshal(k.jwk)
		if err != nil {
			panic(err) // members are strings and string slices
		}
		keys = append(keys, b)
	}
	keys = append(keys, p.extra...)
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(fmt.Sprintf("idptest: JWKS: %v", err)) // AddKeyJSON admits valid JSON only
	}
	return b
}

// SetJWKSBody makes the jwks_uri serve body as it is (truncated JSON, an
// HTML error page, "{}", a set of thousands of keys...) with status 200;
// nil serves the provider's set again.
func (p *Provider) SetJWKSBody(body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jwksBody = nil
	if body != nil {
		p.jwksBody = append(make([]byte, 0, len(body)), body...) // non-nil even when empty
	}
}

// Discovery returns the OpenID Connect discovery document the server serves.
func (p *Provider) Discovery() []byte {
	b, err := json.Marshal(p.prof.discovery(p))
	if err != nil {
		panic(err)
	}
	return b
}

// SigningKid is the kid of the key AccessToken signs with.
func (p *Provider) SigningKid() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signing.kid
}

// Kids lists the kids of the provider's own published keys (signing and
// encryption, not those added with AddKeyJSON), in published order.
func (p *Provider) Kids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ks []string
	for _, k := range p.keys {
		ks = append(ks, k.kid)
	}
	return ks
}

// AccessToken returns a token of the provider's real access-token shape
// (for Google, whose access tokens are opaque, the ID token shape), signed
// RS256 with the current signing key. claims override the defaults member
// by member; a nil value deletes the default.
func (p *Provider) AccessToken(t testing.TB, claims map[string]any) string {
	t.Helper()
	return p.AccessTokenWithHeader(t, nil, claims)
}

// AccessTokenWithHeader is AccessToken with header members overridden too
// (a nil value deletes one), for tokens that name another alg, an unknown
// kid, a crit member and the like. The signature is always RS256 with the
// current signing key, whatever alg the header then says.
func (p *Provider) AccessTokenWithHeader(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	p.mu.Lock()
	k := p.signing
	p.mu.Unlock()
	return signRS256(t, k.priv, p.header(t, k, header), p.claims(claims))
}

// IDToken returns an OpenID Connect ID token of the provider's shape, for
// tests that a resource server refuses one presented as an access token:
// aud is the client (ClientID), the header is the access token's, and the
// key is the one the provider signs ID tokens with (Cognito keeps a key for
// each kind; after Rotate both use the new key). For Google it is
// AccessToken. claims override as in AccessToken.
func (p *Provider) IDToken(t testing.TB, claims map[string]any) string {
	t.Helper()
	if p.prof.idClaims == nil {
		return p.AccessToken(t, claims)
	}
	p.mu.Lock()
	k := p.idSigning
	p.mu.Unlock()
	return signRS256(t, k.priv, p.header(t, k, nil), p.override(p.prof.idClaims(p, time.Now()), claims))
}

// IDSigningKid is the kid of the key IDToken signs with.
func (p *Provider) IDSigningKid() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idSigning.kid
}

// ForeignToken returns an AccessToken whose header names the current signing
// kid but which is signed by a fresh key that is published nowhere: a forged
// token that only a signature check can refuse.
func (p *Provider) ForeignToken(t testing.TB, claims map[string]any) string {
	t.Helper()
	p.mu.Lock()
	k := p.signing
	p.mu.Unlock()
	foreign := genRSA(t, 1, 2048)[0]
	return signRS256(t, foreign, p.header(t, k, nil), p.claims(claims))
}

// header is the JOSE header of a token signed with k: the provider's, with
// WithAccessTokenTyp and then over applied, in the provider's bytes.
func (p *Provider) header(t testing.TB, k *key, over map[string]any) any {
	h := p.prof.header(k)
	if p.headerTyp != nil {
		typ := any(*p.headerTyp)
		if typ == "" {
			typ = nil
		}
		h = h.with(map[string]any{"typ": typ})
	}
	h = h.with(over)
	if p.prof.spacedHeader {
		return spaced(t, h)
	}
	return h
}

func (p *Provider) claims(over map[string]any) map[string]any {
	return p.override(p.prof.claims(p, time.Now()), over)
}

// override applies over to c (nil deletes) and the provider's fixup.
func (p *Provider) override(c, over map[string]any) map[string]any {
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	if p.prof.fixup != nil {
		p.prof.fixup(p, c, over)
	}
	return c
}

// DefaultClaims returns the claims AccessToken would sign now, for tests
// that want to start from them.
func (p *Provider) DefaultClaims() map[string]any {
	return maps.Clone(p.prof.claims(p, time.Now()))
}

// Rotate publishes a new signing key of the provider's kind after the
// others, makes it the one AccessToken signs with, keeps the old ones
// published, and returns its kid.
func (p *Provider) Rotate(t testing.TB) string {
	t.Helper()
	priv := genRSA(t, 1, 2048)[0]
	k := p.prof.newKey(t, p, priv, -1) // -1: a rotated key, of the provider's current kind
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, k)
	p.signing, p.idSigning = k, k
	return k.kid
}

// RemoveKey unpublishes the provider key kid (the end of a rollover, or a
// revoked key). It reports whether the kid was published. The current
// signing key cannot be removed; Rotate first.
func (p *Provider) RemoveKey(kid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, k := range p.keys {
		if k.kid == kid && k != p.signing && k != p.idSigning {
			p.keys = append(p.keys[:i:i], p.keys[i+1:]...)
			return true
		}
	}
	return false
}

// AddKeyJSON publishes raw (one JWK, not checked beyond being JSON: a
// string, a number or an object of any members) after the provider's keys,
// for tests of sets with a bad key in them (see BadKeys). Invalid JSON
// panics; SetJWKSBody serves a set that does not parse.
func (p *Provider) AddKeyJSON(raw json.RawMessage) {
	if !json.Valid(raw) {
		panic("idptest: AddKeyJSON: not JSON: " + string(raw))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.extra = append(p.extra, append(json.RawMessage(nil), raw...))
}

// SetDown makes every document answer 503 (down) or serve again (up).
func (p *Provider) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// SetCacheControl changes the Cache-Control the documents are served with
// from now on; an empty string sends none.
func (p *Provider) SetCacheControl(discovery, jwks string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.discoveryCC, p.jwksCC = discovery, jwks
}

// CacheControl returns the Cache-Control of the discovery documents and of
// the JWKS as currently served.
func (p *Provider) CacheControl() (discovery, jwks string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.discoveryCC, p.jwksCC
}

// Requests counts every request the server has answered, any path, any
// status (to assert that a client made no extra fetches).
func (p *Provider) Requests() int { return int(p.requests.Load()) }

// JWKSRequests counts the requests to the jwks_uri, any status.
func (p *Provider) JWKSRequests() int { return int(p.jwksRequests.Load()) }
