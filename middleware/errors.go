package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// Reason is the stable code of one refusal, for the audit log and metrics.
// It never reaches the client: the client sees Error.Code and the short,
// fixed Error.Description.
type Reason string

// The gate's reasons, in the order of the checks.
const (
	// Extraction (bearer.go).
	ReasonNoToken         Reason = "no_token"         // no credentials at all (401, no error attribute)
	ReasonMalformedHeader Reason = "malformed_header" // Authorization: Bearer without a valid b64token (400)
	ReasonMultipleHeaders Reason = "multiple_headers" // more than one Authorization header (400)
	ReasonMultipleTokens  Reason = "multiple_tokens"  // a token in two places (header, query, cookie) (400)
	ReasonCSRF            Reason = "csrf"             // cookie token on an unsafe method without the CSRF proof (403)
	ReasonTokenTooLarge   Reason = "token_too_large"  // larger than Config.MaxTokenSize

	// Shape (compact.go).
	ReasonMalformed Reason = "malformed"  // not three dot-separated base64url segments
	ReasonBadBase64 Reason = "bad_base64" // padding, '+' or '/', non-canonical unused bits, bad length

	// Header.
	ReasonBadJSON         Reason = "bad_json"         // header or claims not one strict JSON object (UTF-8, trailing data, depth)
	ReasonDuplicateKey    Reason = "duplicate_key"    // a member name twice in the header or the claims
	ReasonHeaderInvalid   Reason = "header_invalid"   // a registered header member of the wrong type
	ReasonAlgMissing      Reason = "alg_missing"      // no "alg"
	ReasonAlgNone         Reason = "alg_none"         // "alg": "none" in any case
	ReasonAlgNotAllowed   Reason = "alg_not_allowed"  // alg not in Config.Algorithms
	ReasonAlgMismatch     Reason = "alg_mismatch"     // the kid names a key of another algorithm (algorithm confusion)
	ReasonEmbeddedKey     Reason = "embedded_key"     // jwk, jku, x5u or x5c present
	ReasonCritUnsupported Reason = "crit_unsupported" // crit names an extension not in Config.Critical
	ReasonTypInvalid      Reason = "typ_invalid"      // typ is not at+jwt (RFC 9068) while the profile is required
	ReasonNestedToken     Reason = "nested_token"     // cty: JWT

	// Key and signature.
	ReasonUnknownKID      Reason = "unknown_kid"      // no configured key matches kid and alg
	ReasonKeysUnavailable Reason = "keys_unavailable" // the key source cannot answer (503)
	ReasonBadSignature    Reason = "bad_signature"    // the signature does not verify

	// Claims.
	ReasonClaimInvalid Reason = "claim_invalid" // a registered claim of the wrong type (iss, sub, aud, roles...)
	ReasonExpMissing   Reason = "exp_missing"   // no exp
	ReasonExpInvalid   Reason = "exp_invalid"   // exp, nbf or iat is not a JSON number
	ReasonExpired      Reason = "expired"       // exp <= now - leeway
	ReasonNotYetValid  Reason = "not_yet_valid" // nbf > now + leeway
	ReasonIATFuture    Reason = "iat_future"    // iat > now + leeway
	ReasonIATMissing   Reason = "iat_missing"   // no iat while MaxAge is set
	ReasonTooOld       Reason = "too_old"       // now - iat > MaxAge
	ReasonIssMismatch  Reason = "iss_mismatch"  // iss is not Config.Issuer
	ReasonIssUnknown   Reason = "iss_unknown"   // with several issuers: iss absent or names none of them (before any key lookup)
	ReasonAudMismatch  Reason = "aud_mismatch"  // aud does not contain Config.Audience
	ReasonSubMissing   Reason = "sub_missing"   // no sub, or an empty one
	ReasonJTIMissing   Reason = "jti_missing"   // no jti while a revocation list is configured
	ReasonValidator    Reason = "validator"     // a Config.Validators function refused the claims

	// Revocation.
	ReasonRevoked               Reason = "revoked"                // jti revoked, or the subject revoked after iat
	ReasonRevocationUnavailable Reason = "revocation_unavailable" // the list cannot answer (503, fail closed)

	// Guards.
	ReasonInsufficientScope Reason = "insufficient_scope" // RequireRoles / RequireScopes refused (403)
)

// Threat reports whether the refusal points at an attack rather than a
// mistake or an expired token: alg none, algorithm confusion, an embedded key
// or key URL, a bad signature. The Authenticator records these as
// auditlog.SecurityThreat events as well.
func (r Reason) Threat() bool {
	switch r {
	case ReasonAlgNone, ReasonAlgMismatch, ReasonEmbeddedKey, ReasonBadSignature:
		return true
	}
	return false
}

// RFC 6750 §3.1 error codes.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// DefaultRetryAfter is the Retry-After of a 503 when the failing component
// does not say.
const DefaultRetryAfter = 5 * time.Second

// Error is a refusal of the gate, the Authenticator or a guard. Status, Code,
// Description, Scope and RetryAfter are meant for the client; Reason, Err,
// KID and JTI are for logs only and never reach a response.
type Error struct {
	Status int    // HTTP status: 400, 401, 403 or 503
	Code   string // RFC 6750 error code: invalid_request, invalid_token, insufficient_scope, or "" (no credentials, 503, csrf)
	// Description is short and fixed ("token expired", "invalid token"); it
	// never contains anything taken from the request.
	Description string
	Reason      Reason
	Scope       string        // for insufficient_scope: the roles or scopes required, space-separated
	RetryAfter  time.Duration // for 503
	Realm       string        // the protection realm; "" means "api"
	Err         error         // the underlying error, for logs only
	KID         string        // the token's kid when it is short and printable, for logs
	JTI         string        // the token's jti once the signature verified, for logs
}

// Error returns "apiguard: " and the reason (never input).
func (e *Error) Error() string {
	if e.Err != nil {
		return "apiguard: " + string(e.Reason) + ": " + e.Err.Error()
	}
	return "apiguard: " + string(e.Reason)
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// newError builds the Error of a reason, with the status, code and
// description that reason always gets.
func newError(r Reason, err error) *Error {
	e := &Error{Reason: r, Err: err, Status: http.StatusUnauthorized, Code: CodeInvalidToken, Description: "invalid token"}
	switch r {
	case ReasonNoToken:
		e.Code, e.Description = "", "authentication required"
	case ReasonMalformedHeader, ReasonMultipleHeaders, ReasonMultipleTokens:
		e.Status, e.Code, e.Description = http.StatusBadRequest, CodeInvalidRequest, "malformed request"
	case ReasonCSRF:
		e.Status, e.Code, e.Description = http.StatusForbidden, "", "cross-site request refused"
	case ReasonTokenTooLarge:
		e.Description = "token too large"
	case ReasonExpired:
		e.Description = "token expired"
	case ReasonNotYetValid, ReasonIATFuture:
		e.Description = "token not yet valid"
	case ReasonTooOld:
		e.Description = "token too old"
	case ReasonRevoked:
		e.Description = "token revoked"
	case ReasonKeysUnavailable, ReasonRevocationUnavailable:
		e.Status, e.Code, e.Description = http.StatusServiceUnavailable, "", "authentication temporarily unavailable"
		e.RetryAfter = DefaultRetryAfter
	case ReasonInsufficientScope:
		e.Status, e.Code, e.Description = http.StatusForbidden, CodeInsufficientScope, "insufficient scope"
	}
	return e
}

// ErrorWriter writes the response of a refusal. It must not write anything
// from the request, and should write nothing of e but Status, Code,
// Description, Scope and RetryAfter.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, e *Error)

// WriteError is the default ErrorWriter (RFC 6750 §3):
//
//   - 401 and 400: WWW-Authenticate: Bearer realm="...", error="...",
//     error_description="..." (only realm when the request had no credentials);
//   - 403 insufficient_scope: the same with scope="...";
//   - 503: Retry-After in whole seconds;
//
// and always Cache-Control: no-store, Content-Type: application/json and a
// body {"error":"...","error_description":"..."}. Where Code is empty the
// body's error is "unauthorized" (401), "forbidden" (403) or
// "temporarily_unavailable" (503).
func WriteError(w http.ResponseWriter, _ *http.Request, e *Error) {
	h := w.Header()
	realm := e.Realm
	if realm == "" || !quotedStringSafe(realm) {
		realm = "api"
	}
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusBadRequest || e.Code == CodeInsufficientScope {
		b := make([]byte, 0, 96+len(realm)+len(e.Description)+len(e.Scope))
		b = append(b, `Bearer realm="`...)
		b = append(b, realm...)
		b = append(b, '"')
		if e.Code != "" && quotedStringSafe(e.Code) {
			b = append(b, `, error="`...)
			b = append(b, e.Code...)
			b = append(b, '"')
			if e.Description != "" && quotedStringSafe(e.Description) {
				b = append(b, `, error_description="`...)
				b = append(b, e.Description...)
				b = append(b, '"')
			}
			if e.Scope != "" && quotedStringSafe(e.Scope) {
				b = append(b, `, scope="`...)
				b = append(b, e.Scope...)
				b = append(b, '"')
			}
		}
		h["Www-Authenticate"] = []string{string(b)}
	}
	if e.Status == http.StatusServiceUnavailable {
		ra := e.RetryAfter
		if ra <= 0 {
			ra = DefaultRetryAfter
		}
		h["Retry-After"] = []string{strconv.FormatInt(int64((ra+time.Second-1)/time.Second), 10)}
	}
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Type"] = []string{"application/json"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	code := e.Code
	if code == "" {
		switch e.Status {
		case http.StatusUnauthorized:
			code = "unauthorized"
		case http.StatusForbidden:
			code = "forbidden"
		case http.StatusServiceUnavailable:
			code = "temporarily_unavailable"
		default:
			code = CodeInvalidRequest
		}
	}
	body := make([]byte, 0, 64+len(code)+len(e.Description))
	body = append(body, `{"error":`...)
	body = strictjson.AppendString(body, code)
	body = append(body, `,"error_description":`...)
	body = strictjson.AppendString(body, e.Description)
	body = append(body, "}\n"...)
	status := e.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// quotedStringSafe reports whether s can stand inside an RFC 7230
// quoted-string without escaping: printable ASCII other than '"' and '\'.
func quotedStringSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
