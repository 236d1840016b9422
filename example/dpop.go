package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/clientip"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/redisstore"
)

// DPoP in the example (RFC 9449): the token endpoint (login, refresh) checks
// the request's proof and binds what it issues to the proof's key; the gate
// checks the proof of every call made with a bound token. Both use one
// verifier, so a proof spent at the token endpoint cannot be spent at the
// API and the other way round, and with -redis every instance shares its
// replay cache.

// dpopNonceLabel separates the DPoP nonce key from the client-key secret it
// is derived from: instances that agree on one agree on the other, and
// neither key says anything about the other.
const dpopNonceLabel = "apiguard-example dpop nonce key v1"

// newDPoP builds the DPoP verifier of -dpop and -dpop-nonce (nil with -dpop
// off). secret is the client-key secret instances share (-client-secret, or
// the one kept in Redis); nil means a key of this process alone.
func (a *app) newDPoP(ctx context.Context, rdb *redis.Client, secret []byte) (*dpop.Verifier, error) {
	if a.cfg.DPoP == dpopOff {
		return nil, nil
	}
	cfg := dpop.Config{TrustedProxies: a.cfg.TrustedProxies}
	if a.cfg.DPoPNonce {
		cfg.NonceSecret = dpopNonceKey(secret)
		if secret == nil {
			a.log.Warn().Msg("-dpop-nonce without -redis or -client-secret: the nonce key is this instance's own, other instances refuse its nonces")
		}
	}
	if rdb != nil {
		// Shared by every instance on this Redis: a proof spent on one is a
		// replay on all (RFC 9449 §11.1); when Redis cannot tell, the proof
		// is refused (503).
		rc, err := redisstore.NewDPoPReplayCache(rdb, redisstore.DPoPReplayOptions{})
		if err != nil {
			return nil, fmt.Errorf("-redis: DPoP replay cache: %w", err)
		}
		cfg.Replay = rc
	}
	v, err := dpop.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("-dpop: %w", err)
	}
	return v, nil
}

// dpopNonceKey derives the nonce key from the shared secret, or draws a
// random one when there is none.
func dpopNonceKey(secret []byte) []byte {
	if secret == nil {
		key := make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
		return key
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(dpopNonceLabel))
	return m.Sum(nil)
}

// proveKey checks the DPoP proof of a token-endpoint request (RFC 9449 §5).
// It returns the thumbprint of the proof's key ("" when the request carries
// no proof and none is required, or -dpop is off) and true, or false once it
// has answered the request itself: 400 invalid_dpop_proof for a bad proof or
// a missing one where required, 400 use_dpop_nonce with DPoP-Nonce when the
// server nonce is missing or stale (§8), 503 when the replay cache cannot
// tell. event names the audit event of a refusal.
func (a *app) proveKey(w http.ResponseWriter, r *http.Request, event auditlog.EventName) (string, bool) {
	if a.dpop == nil {
		// -dpop off: the server does not do DPoP, and a client that sent a
		// proof learns it from token_type Bearer (RFC 9449 §5).
		return "", true
	}
	if len(r.Header["Dpop"]) == 0 {
		if a.cfg.DPoP != dpopRequired {
			return "", true
		}
		a.audit.Record(r, auditlog.Event{Name: event, Reason: "dpop_required", Status: http.StatusBadRequest})
		writeError(w, http.StatusBadRequest, "invalid_dpop_proof", "a DPoP proof is required")
		return "", false
	}
	p, err := a.dpop.Verify(r, "")
	if err != nil {
		var de *dpop.Error
		if !errors.As(err, &de) || de.Status == http.StatusServiceUnavailable {
			a.storeError(w, r, err)
			return "", false
		}
		code, desc := de.Code, de.Description
		if code != dpop.CodeUseNonce {
			code = dpop.CodeInvalidProof
		}
		if desc == "" {
			desc = "invalid DPoP proof"
		}
		if de.Nonce != "" {
			w.Header().Set("DPoP-Nonce", de.Nonce)
		}
		a.audit.Record(r, auditlog.Event{Name: event, Reason: de.Reason, Status: http.StatusBadRequest})
		writeError(w, http.StatusBadRequest, code, desc)
		return "", false
	}
	if p.NextNonce != "" {
		w.Header().Set("DPoP-Nonce", p.NextNonce)
	}
	return p.JKT, true
}

// stepUpMaxAge is how recent an authentication /api/admin/stepup requires
// (RFC 9470 max_age).
const stepUpMaxAge = 5 * time.Minute

// metadataResource is the resource identifier the protected-resource
// metadata (RFC 9728) is published for: -resource, or the API's origin when
// it is https or on a loopback host. RFC 9728 wants an https identifier, so a
// plain-HTTP API on another host publishes none (and says so), rather than
// refusing to start.
func (a *app) metadataResource() string {
	if a.cfg.Resource != "" {
		return a.cfg.Resource
	}
	origin := a.cfg.apiOrigin()
	u, err := url.Parse(origin)
	if err != nil {
		return ""
	}
	if u.Scheme == "https" || clientip.IsLoopbackHost(u.Hostname()) {
		return origin
	}
	a.log.Warn().Str("origin", origin).Msg("plain HTTP on a non-loopback host: no protected-resource metadata (RFC 9728 wants https); set -resource to publish it")
	return ""
}

// ownChallenge is the WWW-Authenticate of the example's own 401s (a wrong
// password): the gate's schemes, Bearer unless -dpop required and DPoP with
// its algorithms when it is on, each naming the metadata document, so that
// a client learns from any 401 how to get a token the API accepts.
func (a *app) ownChallenge() []string {
	var param string
	if u := a.auth.ResourceMetadataURL(); u != "" {
		param = `, resource_metadata="` + u + `"`
	}
	var out []string
	if a.cfg.DPoP != dpopRequired {
		out = append(out, `Bearer realm="`+realm+`"`+param)
	}
	if a.dpop != nil {
		out = append(out, `DPoP realm="`+realm+`", algs="`+strings.Join(a.dpop.Algorithms(), " ")+`"`+param)
	}
	return out
}

// unauthorized answers 401 with the example's own challenge.
func (a *app) unauthorized(w http.ResponseWriter, code, description string) {
	w.Header()["Www-Authenticate"] = a.challenge
	writeError(w, http.StatusUnauthorized, code, description)
}
