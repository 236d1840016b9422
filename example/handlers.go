package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/token"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// maxCredentialLen bounds usernames and passwords before bcrypt sees them
// (bcrypt itself refuses passwords over 72 bytes).
const maxCredentialLen = 72

// login: POST /auth/login {"username","password"}.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var req loginRequest
	if err := readJSON(w, r, &req); err != nil || req.Username == "" || req.Password == "" ||
		len(req.Username) > maxCredentialLen || len(req.Password) > maxCredentialLen {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed login request")
		return
	}
	// A locked-out client or account is refused before the password is checked.
	// On a store error CheckLogin reports locked (logins fail closed): that is
	// a 503, not a lockout the client could wait out.
	if retry, locked, err := a.guard.CheckLogin(r, req.Username); locked {
		if err != nil {
			a.storeError(w, r, err)
			return
		}
		writeRetry(w, retry, "too many failed logins")
		return
	}
	// The proof before the password: a nonce demand (use_dpop_nonce) costs
	// the client no login attempt, and a bad proof no bcrypt.
	jkt, ok := a.proveKey(w, r, auditlog.LoginFailure)
	if !ok {
		return
	}
	roles, err := a.users.authenticate(req.Username, req.Password)
	if err != nil {
		_ = a.guard.LoginFailed(r, req.Username) // a store error was recorded by the guard
		a.audit.Record(r, auditlog.Event{Name: auditlog.LoginFailure, Reason: "bad_credentials", Status: http.StatusUnauthorized})
		a.unauthorized(w, "invalid_credentials", "wrong username or password")
		return
	}
	_ = a.guard.LoginSucceeded(r, req.Username)
	a.audit.Record(r, auditlog.Event{Name: auditlog.LoginSuccess, Sub: req.Username, Status: http.StatusOK})

	// A proof binds the refresh family to its key for good (RFC 9449 §5).
	refresh, fam, err := a.refresh.StartWith(r.Context(), req.Username, roles, token.StartOptions{JKT: jkt})
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.respondTokens(w, r, req.Username, roles, refresh, fam.ID, jkt)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refreshTokens: POST /auth/refresh {"refresh_token"}.
func (a *app) refreshTokens(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var req refreshRequest
	if err := readJSON(w, r, &req); err != nil || req.RefreshToken == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed refresh request")
		return
	}
	jkt, ok := a.proveKey(w, r, auditlog.TokenRefresh)
	if !ok {
		return
	}
	// A family bound to a key is spent only with a proof of that key; a
	// token without it is refused and stays unspent, so its rightful holder
	// keeps refreshing.
	next, fam, err := a.refresh.RotateWith(r.Context(), req.RefreshToken, token.RotateOptions{JKT: jkt})
	switch {
	case errors.Is(err, token.ErrRefreshKeyMismatch):
		a.audit.Record(r, auditlog.Event{Name: auditlog.TokenRefresh, Reason: "dpop_key_mismatch", Sub: fam.Subject, Status: http.StatusBadRequest})
		writeError(w, http.StatusBadRequest, "invalid_grant", "invalid refresh token")
		return
	case errors.Is(err, token.ErrInvalidGrant):
		// Unknown, expired, spent (reuse: the family is now revoked) or
		// revoked: one answer, so the client learns nothing about why.
		a.audit.Record(r, auditlog.Event{Name: auditlog.TokenRefresh, Reason: "invalid_grant", Status: http.StatusBadRequest})
		writeError(w, http.StatusBadRequest, "invalid_grant", "invalid refresh token")
		return
	case err != nil:
		a.storeError(w, r, err)
		return
	}
	a.audit.Record(r, auditlog.Event{Name: auditlog.TokenRefresh, Sub: fam.Subject, Status: http.StatusOK})
	a.respondTokens(w, r, fam.Subject, fam.Roles, next, fam.ID, jkt)
}

// respondTokens issues the access token and answers the token response: a
// token bound to the key of thumbprint jkt (cnf.jkt, token_type DPoP) when
// jkt is set, a Bearer one otherwise.
func (a *app) respondTokens(w http.ResponseWriter, r *http.Request, sub string, roles []string, refresh, familyID, jkt string) {
	access, meta, err := a.issuer.Issue(sub, token.TokenOptions{Roles: roles, SessionID: familyID, JKT: jkt})
	if err != nil {
		a.log.Error().Err(err).Msg("issuing an access token")
		writeError(w, http.StatusInternalServerError, "server_error", "could not issue a token")
		return
	}
	a.audit.Record(r, auditlog.Event{Name: auditlog.TokenIssued, Sub: sub, JTI: meta.JTI, KID: meta.KID, Iss: a.cfg.Issuer})
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  access,
		RefreshToken: refresh,
		TokenType:    tokenType(jkt),
		ExpiresIn:    int64(meta.Expiry.Sub(meta.IssuedAt) / time.Second),
	})
}

// logout: POST /auth/logout with a Bearer token. The token's jti and its
// refresh family are revoked at once.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	claims, ok := middleware.ClaimsFromContext(r.Context())
	if !ok {
		a.unauthorized(w, "invalid_token", "authentication required")
		return
	}
	if err := a.revocations.RevokeToken(r.Context(), claims.Issuer, claims.JTI, claims.Expiry); err != nil {
		a.storeError(w, r, err)
		return
	}
	if sid := claims.SessionID; sid != "" {
		if err := a.refresh.RevokeFamily(r.Context(), sid); err != nil {
			a.storeError(w, r, err)
			return
		}
	}
	a.audit.Record(r, auditlog.Event{Name: auditlog.TokenRevoked, Reason: "logout", Sub: claims.Subject, JTI: claims.JTI, Iss: claims.Issuer, Status: http.StatusNoContent})
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

type meResponse struct {
	Sub   string   `json:"sub"`
	Roles []string `json:"roles"`
	JTI   string   `json:"jti"`
	Exp   int64    `json:"exp"`
	// Cnf is the key the token is bound to, as the gate checked it: absent
	// for a Bearer token.
	Cnf *cnfResponse `json:"cnf,omitempty"`
}

type cnfResponse struct {
	JKT string `json:"jkt"`
}

// tokenType is the token response's token_type: DPoP for a token bound to
// a key (RFC 9449 §5), Bearer otherwise.
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

// me: GET /api/me, the validated claims.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	claims, ok := middleware.ClaimsFromContext(r.Context())
	if !ok {
		a.unauthorized(w, "invalid_token", "authentication required")
		return
	}
	roles := claims.Roles
	if roles == nil {
		roles = []string{}
	}
	me := meResponse{Sub: claims.Subject, Roles: roles, JTI: claims.JTI, Exp: claims.Expiry.Unix()}
	if jkt := claims.Confirmation.JKT; jkt != "" {
		me.Cnf = &cnfResponse{JKT: jkt}
	}
	writeJSON(w, http.StatusOK, me)
}

// admin: GET /api/admin, behind RequireRoles("admin").
func (a *app) admin(w http.ResponseWriter, r *http.Request) {
	claims, _ := middleware.ClaimsFromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"message": "hello, admin", "sub": claims.Subject})
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// storeError answers a failed store (Redis away while failing closed): 503,
// never a silent success, and the cause only in the log.
func (a *app) storeError(w http.ResponseWriter, r *http.Request, err error) {
	a.audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "store_error", Status: http.StatusServiceUnavailable})
	a.log.Warn().Err(err).Str("path", r.URL.Path).Msg("store unavailable")
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
}
