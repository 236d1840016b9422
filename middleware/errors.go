package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/apiguard/apiguard/internal/problem"
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

	// Sender-constrained tokens (dpop.go, mtls.go). A refused DPoP proof
	// is recorded under the dpop package's own reason (dpop.Error.Reason,
	// such as "dpop_htu_mismatch"), or one of these.
	ReasonCnfUnsupported   Reason = "cnf_unsupported"         // cnf names no key or certificate the gate can check (only jwk, kid...)
	ReasonDPoPDowngrade    Reason = "dpop_downgrade"          // a token with cnf.jkt presented as Bearer, or with DPoP disabled
	ReasonDPoPUnbound      Reason = "dpop_unbound"            // the DPoP scheme, or a DPoP proof, with a token without cnf.jkt
	ReasonDPoPRequired     Reason = "dpop_required"           // a Bearer token where DPoP is required (Config.DPoPRequired, RequireDPoP)
	ReasonDPoPKeyMismatch  Reason = "dpop_key_mismatch"       // the proof's key is not the token's cnf.jkt
	ReasonDPoPProofInvalid Reason = "dpop_proof_invalid"      // a proof refused for a reason the dpop package did not name
	ReasonDPoPReplayed     Reason = "dpop_replayed"           // the proof's jti was used before (dpop.ErrReplay)
	ReasonDPoPNonce        Reason = "dpop_nonce"              // the proof lacks the current server nonce (use_dpop_nonce)
	ReasonDPoPUnavailable  Reason = "dpop_replay_unavailable" // the replay cache cannot tell (503, fail closed)
	ReasonCertMissing      Reason = "cert_missing"            // a token with cnf x5t#S256 without a client certificate
	ReasonCertMismatch     Reason = "cert_mismatch"           // the client certificate's thumbprint is not the token's x5t#S256
	ReasonCertHeader       Reason = "cert_header"             // the trusted proxy's certificate header is not one RFC 9440 byte sequence

	// Guards.
	ReasonInsufficientScope Reason = "insufficient_scope" // RequireRoles / RequireScopes refused (403)
	ReasonStepUpACR         Reason = "step_up_acr"        // RequireStepUp: acr absent or not one of StepUp.ACR (401)
	ReasonStepUpMaxAge      Reason = "step_up_max_age"    // RequireStepUp: auth_time absent, in the future, or older than StepUp.MaxAge (401)
)

// Threat reports whether the refusal points at an attack rather than a
// mistake or an expired token: alg none, algorithm confusion, an embedded key
// or key URL, a bad signature, a replayed DPoP proof, a bound token presented
// without its key or with another key or certificate. The Authenticator
// records these as auditlog.SecurityThreat events as well.
func (r Reason) Threat() bool {
	switch r {
	case ReasonAlgNone, ReasonAlgMismatch, ReasonEmbeddedKey, ReasonBadSignature,
		ReasonDPoPReplayed, ReasonDPoPDowngrade, ReasonDPoPKeyMismatch, ReasonCertMismatch:
		return true
	}
	return false
}

// Error codes: RFC 6750 §3.1, RFC 9449 §7.1 and §9 (DPoP), RFC 9470 §3
// (step-up).
const (
	CodeInvalidRequest                 = "invalid_request"
	CodeInvalidToken                   = "invalid_token"
	CodeInsufficientScope              = "insufficient_scope"
	CodeInvalidDPoPProof               = "invalid_dpop_proof"
	CodeUseDPoPNonce                   = "use_dpop_nonce"
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
)

// DefaultRetryAfter is the Retry-After of a 503 when the failing component
// does not say.
const DefaultRetryAfter = 5 * time.Second

// Error is a refusal of the gate, the Authenticator or a guard. Status, Code,
// Description, Scope, RetryAfter and the challenge fields (Realm to
// ResourceMetadata) are meant for the client; Reason, Err, KID and JTI are
// for logs only and never reach a response.
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

	// The challenges beside Bearer, set by the Authenticator (and the
	// guards, from the Authenticator that verified the claims).

	// DPoPAlgs, when set, adds the RFC 9449 §7.1 challenge
	// DPoP algs="<DPoPAlgs>" (space-separated algorithms).
	DPoPAlgs string
	// DPoPOnly leaves the Bearer challenge out: the resource requires DPoP.
	DPoPOnly bool
	// DPoP puts the error on the DPoP challenge rather than the Bearer one:
	// the request used the DPoP scheme, or its proof is what failed.
	DPoP bool
	// DPoPNonce, when set, is sent as the DPoP-Nonce header (with
	// use_dpop_nonce, RFC 9449 §9).
	DPoPNonce string
	// ACRValues and MaxAge are RFC 9470's acr_values (space-separated) and
	// max_age (written in whole seconds, when positive), with
	// insufficient_user_authentication.
	ACRValues string
	MaxAge    time.Duration
	// ResourceMetadata is the URL of the RFC 9728 protected-resource
	// metadata, sent as resource_metadata="..." on every challenge.
	ResourceMetadata string

	Err error  // the underlying error, for logs only
	KID string // the token's kid when it is short and printable, for logs
	JTI string // the token's jti once the signature verified, for logs
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
	case ReasonCnfUnsupported:
		e.Description = "token bound to an unsupported confirmation method"
	case ReasonDPoPDowngrade:
		e.Description = "DPoP-bound token presented without DPoP"
	case ReasonDPoPUnbound:
		e.Description = "DPoP used with a token not bound to a DPoP key"
	case ReasonDPoPRequired:
		e.Description = "DPoP-bound token required"
	case ReasonDPoPKeyMismatch:
		e.Description = "DPoP proof key does not match the token"
	case ReasonDPoPProofInvalid, ReasonDPoPReplayed:
		e.Code, e.Description = CodeInvalidDPoPProof, "invalid DPoP proof"
	case ReasonDPoPNonce:
		e.Code, e.Description = CodeUseDPoPNonce, "Resource server requires nonce in DPoP proof"
	case ReasonDPoPUnavailable:
		e.Status, e.Code, e.Description = http.StatusServiceUnavailable, "", "authentication temporarily unavailable"
		e.RetryAfter = DefaultRetryAfter
	case ReasonCertMissing:
		e.Description = "certificate-bound token without a client certificate"
	case ReasonCertMismatch:
		e.Description = "client certificate does not match the token"
	case ReasonCertHeader:
		e.Description = "client certificate unreadable"
	case ReasonStepUpACR:
		e.Code, e.Description = CodeInsufficientUserAuthentication, "a different authentication level is required"
	case ReasonStepUpMaxAge:
		e.Code, e.Description = CodeInsufficientUserAuthentication, "more recent authentication is required"
	}
	return e
}

// ErrorWriter writes the response of a refusal. It must not write anything
// from the request, and should write nothing of e but Status, Code,
// Description, Scope, RetryAfter and the challenge fields.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, e *Error)

// WriteError is the default ErrorWriter (RFC 6750 §3, RFC 9449 §7.1, RFC
// 9470 §3, RFC 9728 §5.1):
//
//   - 401 and 400: WWW-Authenticate: Bearer realm="...", error="...",
//     error_description="..." (only realm when the request had no
//     credentials), and resource_metadata="..." when e.ResourceMetadata is
//     set;
//   - with e.DPoPAlgs, a second challenge on its own header line,
//     DPoP realm="...", algs="...", carrying the error instead of the Bearer
//     one when e.DPoP is set (the Bearer line is left out with e.DPoPOnly).
//     The line with the error comes first; without an error, Bearer does;
//   - e.DPoPNonce as the DPoP-Nonce header;
//   - 403 insufficient_scope: the challenge with scope="...";
//   - insufficient_user_authentication: acr_values="..." and max_age="N";
//   - 503: Retry-After in whole seconds;
//
// and always Cache-Control: no-store, Content-Type: application/json and a
// body {"error":"...","error_description":"..."}. Where Code is empty the
// body's error is "unauthorized" (401), "forbidden" (403) or
// "temporarily_unavailable" (503). A 503 to a client whose Accept prefers
// application/problem+json is an RFC 9457 problem of type
// temporary-reduced-capacity (the IETF RateLimit draft's) instead, with the
// description as its detail; r may be nil, which means the JSON body.
func WriteError(w http.ResponseWriter, r *http.Request, e *Error) {
	h := w.Header()
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusBadRequest || e.Code == CodeInsufficientScope {
		h["Www-Authenticate"] = challenges(e)
	}
	if e.DPoPNonce != "" && quotedStringSafe(e.DPoPNonce) {
		h["Dpop-Nonce"] = []string{e.DPoPNonce}
	}
	if e.Status == http.StatusServiceUnavailable {
		ra := e.RetryAfter
		if ra <= 0 {
			ra = DefaultRetryAfter
		}
		h["Retry-After"] = []string{strconv.FormatInt(int64((ra+time.Second-1)/time.Second), 10)}
	}
	h["Cache-Control"] = []string{"no-store"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	if e.Status == http.StatusServiceUnavailable && r != nil && problem.Prefers(r) {
		// RFC 9457 for a client that asks for it: the server cannot decide
		// (keys, revocations or the replay cache unreachable), the type the
		// RateLimit draft registers for reduced capacity.
		problem.Write(w, problem.Details{
			Type:   problem.TypeTemporaryReducedCapacity,
			Title:  "Temporarily unable to verify credentials",
			Status: http.StatusServiceUnavailable,
			Detail: e.Description,
		})
		return
	}
	h["Content-Type"] = []string{"application/json"}
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

// challenges returns the WWW-Authenticate lines of e: one challenge per
// line (several challenges in one line, separated by the same commas as
// their parameters, are what clients most often misread), the one carrying
// the error first.
func challenges(e *Error) []string {
	realm := e.Realm
	if realm == "" || !quotedStringSafe(realm) {
		realm = "api"
	}
	dpop := e.DPoPAlgs != "" && quotedStringSafe(e.DPoPAlgs)
	bearer := !dpop || !e.DPoPOnly
	onDPoP := dpop && (e.DPoP || !bearer)
	var b, d string
	if bearer {
		b = challenge("Bearer", realm, "", e, !onDPoP)
	}
	if dpop {
		d = challenge("DPoP", realm, e.DPoPAlgs, e, onDPoP)
	}
	switch {
	case !dpop:
		return []string{b}
	case !bearer:
		return []string{d}
	case onDPoP && e.Code != "":
		return []string{d, b}
	}
	return []string{b, d}
}

// challenge builds one challenge of scheme, with the error of e when
// withError is set. Every value is checked to stand in a quoted-string
// unescaped, and left out otherwise.
func challenge(scheme, realm, algs string, e *Error, withError bool) string {
	b := make([]byte, 0, 128+len(realm)+len(e.Description)+len(e.Scope)+len(e.ResourceMetadata)+len(e.ACRValues))
	b = append(b, scheme...)
	b = append(b, ` realm="`...)
	b = append(b, realm...)
	b = append(b, '"')
	if algs != "" {
		b = appendParam(b, "algs", algs)
	}
	if withError && e.Code != "" && quotedStringSafe(e.Code) {
		b = appendParam(b, "error", e.Code)
		b = appendParam(b, "error_description", e.Description)
		b = appendParam(b, "scope", e.Scope)
		b = appendParam(b, "acr_values", e.ACRValues)
		if e.MaxAge > 0 {
			b = append(b, `, max_age="`...)
			b = strconv.AppendInt(b, int64(e.MaxAge/time.Second), 10)
			b = append(b, '"')
		}
	}
	b = appendParam(b, "resource_metadata", e.ResourceMetadata)
	return string(b)
}

// appendParam appends `, name="value"` when value is non-empty and
// quoted-string safe.
func appendParam(b []byte, name, value string) []byte {
	if value == "" || !quotedStringSafe(value) {
		return b
	}
	b = append(b, ", "...)
	b = append(b, name...)
	b = append(b, `="`...)
	b = append(b, value...)
	return append(b, '"')
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
