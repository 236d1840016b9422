package jose

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// DefaultJWKSMaxAge is the Cache-Control max-age of a JWKS handler when none
// is configured.
const DefaultJWKSMaxAge = 5 * time.Minute

// PublicKeySet is what a JWKS handler publishes: a token.Issuer, or any set of
// verification keys.
type PublicKeySet interface {
	PublicKeys() []*Key
}

// Precomputed header values.
var (
	jwksContentType = []string{"application/jwk-set+json"}
	jwksAllow       = []string{"GET, HEAD"}
	jwksNoSniff     = []string{"nosniff"}
)

type jwksHandler struct {
	src          PublicKeySet
	cacheControl []string
	body         atomic.Pointer[jwksBody]
}

// jwksBody is the serialised set for one exact list of keys.
type jwksBody struct {
	keys   []*Key
	body   []byte
	length []string
	etag   []string
}

// NewJWKSHandler returns a handler publishing src's public keys as a JWK Set
// with Cache-Control "public, max-age=<maxAge>" (0 means DefaultJWKSMaxAge).
// It answers GET and HEAD only (405 with Allow otherwise). The body is built
// with jwx once per distinct key list and reused until src's keys change.
// HMAC keys are never published. Safe for concurrent use.
func NewJWKSHandler(src PublicKeySet, maxAge time.Duration) (http.Handler, error) {
	if src == nil {
		return nil, errors.New("apiguard: NewJWKSHandler: src is nil")
	}
	if maxAge < 0 {
		return nil, fmt.Errorf("apiguard: NewJWKSHandler: maxAge %v is negative", maxAge)
	}
	if maxAge == 0 {
		maxAge = DefaultJWKSMaxAge
	}
	return newJWKSHandler(src, maxAge), nil
}

func newJWKSHandler(src PublicKeySet, maxAge time.Duration) *jwksHandler {
	cc := "public, max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	return &jwksHandler{src: src, cacheControl: []string{cc}}
}

func (h *jwksHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = jwksAllow
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := h.current()
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr["Content-Type"] = jwksContentType
	hdr["X-Content-Type-Options"] = jwksNoSniff
	hdr["Cache-Control"] = h.cacheControl
	hdr["Etag"] = b.etag
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == b.etag[0] {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Length"] = b.length
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b.body)
	}
}

// current returns the body for the source's present keys, rebuilding it only
// when the key list differs from the cached one.
func (h *jwksHandler) current() (*jwksBody, error) {
	keys := h.src.PublicKeys()
	if b := h.body.Load(); b != nil && sameKeys(b.keys, keys) {
		return b, nil
	}
	body, err := marshalJWKS(keys)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	b := &jwksBody{
		keys:   keys,
		body:   body,
		length: []string{strconv.Itoa(len(body))},
		etag:   []string{`"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`},
	}
	h.body.Store(b)
	return b, nil
}

func sameKeys(a, b []*Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// marshalJWKS serialises the public keys among keys as a JWK Set, each with
// kid, alg and use "sig". A key without a public half (HMAC) is left out: a
// secret is never published.
func marshalJWKS(keys []*Key) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		if k == nil || k.public == nil {
			continue
		}
		jk, err := jwk.Import(k.public)
		if err != nil {
			return nil, fmt.Errorf("apiguard: JWKS: key %q: %w", k.kid, err)
		}
		// k.public is already public; PublicKey makes that a property of
		// this function rather than of the caller.
		if jk, err = jk.PublicKey(); err != nil {
			return nil, fmt.Errorf("apiguard: JWKS: key %q: %w", k.kid, err)
		}
		for _, kv := range []struct {
			name string
			val  any
		}{{jwk.KeyIDKey, k.kid}, {jwk.AlgorithmKey, k.alg}, {jwk.KeyUsageKey, jwk.ForSignature}} {
			if err := jk.Set(kv.name, kv.val); err != nil {
				return nil, fmt.Errorf("apiguard: JWKS: key %q: %s: %w", k.kid, kv.name, err)
			}
		}
		if err := set.AddKey(jk); err != nil {
			return nil, fmt.Errorf("apiguard: JWKS: key %q: %w", k.kid, err)
		}
	}
	return json.Marshal(set)
}
