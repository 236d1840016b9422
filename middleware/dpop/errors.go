package dpop

// Reasons of Error.Reason: stable snake_case codes for logs and metrics.
// Each names one check of Verify.
const (
	ReasonProofMissing      = "dpop_proof_missing"      // no DPoP header
	ReasonProofMultiple     = "dpop_proof_multiple"     // more than one DPoP header
	ReasonProofTooLarge     = "dpop_proof_too_large"    // over Config.MaxProofSize
	ReasonMalformed         = "dpop_proof_malformed"    // not a canonical compact JWS
	ReasonHeaderInvalid     = "dpop_header_invalid"     // header not strict JSON, a member of the wrong type, or a cty
	ReasonTypInvalid        = "dpop_typ_invalid"        // typ is not dpop+jwt
	ReasonAlgNotAllowed     = "dpop_alg_not_allowed"    // alg missing or not in Config.Algorithms
	ReasonCritUnsupported   = "dpop_crit_unsupported"   // a crit member (no extension is understood)
	ReasonKeyReference      = "dpop_key_reference"      // jku, x5u or x5c: the key must be the jwk
	ReasonJWKMissing        = "dpop_jwk_missing"        // no jwk member
	ReasonJWKPrivate        = "dpop_jwk_private"        // the jwk carries a private member
	ReasonJWKInvalid        = "dpop_jwk_invalid"        // the jwk is not a usable public key for alg
	ReasonBadSignature      = "dpop_bad_signature"      // not signed by the jwk
	ReasonClaimsInvalid     = "dpop_claims_invalid"     // claims not strict JSON, or a claim of the wrong type
	ReasonJTIMissing        = "dpop_jti_missing"        // no jti, or an empty one
	ReasonJTITooLong        = "dpop_jti_too_long"       // jti over MaxJTILength bytes
	ReasonHTMMissing        = "dpop_htm_missing"        // no htm
	ReasonHTMMismatch       = "dpop_htm_mismatch"       // htm is not the request method
	ReasonHTUMissing        = "dpop_htu_missing"        // no htu
	ReasonHTUInvalid        = "dpop_htu_invalid"        // htu is not an absolute http(s) URI
	ReasonHTUMismatch       = "dpop_htu_mismatch"       // htu is not the request URI
	ReasonIATMissing        = "dpop_iat_missing"        // no iat
	ReasonIATTooOld         = "dpop_iat_too_old"        // iat before now - MaxAge
	ReasonIATInFuture       = "dpop_iat_in_future"      // iat after now + Leeway
	ReasonATHMissing        = "dpop_ath_missing"        // an access token is presented and the proof has no ath
	ReasonATHMismatch       = "dpop_ath_mismatch"       // ath is not the hash of the access token
	ReasonATHUnexpected     = "dpop_ath_unexpected"     // an ath, and no access token is presented
	ReasonNonceMissing      = "dpop_nonce_missing"      // nonces are on and the proof has none (use_dpop_nonce)
	ReasonNonceStale        = "dpop_nonce_stale"        // a nonce of ours, older than the previous step (use_dpop_nonce)
	ReasonNonceInvalid      = "dpop_nonce_invalid"      // a nonce we did not make (use_dpop_nonce)
	ReasonReplayed          = "dpop_replayed"           // the proof's (jkt, jti) was used before
	ReasonReplayUnavailable = "dpop_replay_unavailable" // the replay cache cannot tell (503)
)

// RFC 9449 error codes (Error.Code).
const (
	CodeInvalidProof = "invalid_dpop_proof" // RFC 9449 §7.1 (at a token endpoint, §5: answered 400)
	CodeUseNonce     = "use_dpop_nonce"     // RFC 9449 §8, §9: retry with Error.Nonce
)

// Error is every refusal of Verify.
//
// Code is what goes into the error attribute of the WWW-Authenticate: DPoP
// challenge (a resource server, RFC 9449 §7.1) or the error member of the
// token endpoint's 400 body (§5); "" with Status 503. Description is one of
// a few fixed texts, safe to send; nothing of the request is ever in it. Err
// is for the log only.
type Error struct {
	Code        string // CodeInvalidProof or CodeUseNonce; "" with Status 503
	Reason      string // one of the Reason* codes
	Description string // safe to send to the client
	Nonce       string // with CodeUseNonce: the fresh nonce to send in DPoP-Nonce
	Status      int    // 401, or 503 when the replay cache cannot tell
	Err         error  // the underlying error, for the log; ErrReplay for ReasonReplayed
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "dpop: " + e.Reason + ": " + e.Err.Error()
	}
	return "dpop: " + e.Reason
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// describe returns the fixed description of a reason.
func describe(reason string) string {
	switch reason {
	case ReasonProofMissing:
		return "DPoP proof required"
	case ReasonProofMultiple:
		return "more than one DPoP proof"
	case ReasonProofTooLarge:
		return "DPoP proof too large"
	case ReasonTypInvalid:
		return "DPoP proof typ must be dpop+jwt"
	case ReasonAlgNotAllowed:
		return "DPoP proof algorithm not allowed"
	case ReasonJWKMissing, ReasonJWKPrivate, ReasonJWKInvalid:
		return "DPoP proof must carry a valid public jwk"
	case ReasonJTIMissing, ReasonJTITooLong:
		return "DPoP proof jti missing or too long"
	case ReasonHTMMissing, ReasonHTMMismatch:
		return "DPoP proof htm does not match the request method"
	case ReasonHTUMissing, ReasonHTUInvalid, ReasonHTUMismatch:
		return "DPoP proof htu does not match the request URI"
	case ReasonIATMissing:
		return "DPoP proof iat missing"
	case ReasonIATTooOld:
		return "DPoP proof too old"
	case ReasonIATInFuture:
		return "DPoP proof issued in the future"
	case ReasonATHMissing, ReasonATHMismatch, ReasonATHUnexpected:
		return "DPoP proof ath does not match the access token"
	case ReasonNonceMissing:
		return "DPoP nonce required"
	case ReasonNonceStale:
		return "DPoP nonce expired"
	case ReasonNonceInvalid:
		return "invalid DPoP nonce"
	case ReasonReplayed:
		return "DPoP proof replayed"
	case ReasonReplayUnavailable:
		return "DPoP replay check unavailable"
	}
	return "invalid DPoP proof"
}

// fail builds the Error of reason.
func fail(reason string, err error) *Error {
	e := &Error{Code: CodeInvalidProof, Reason: reason, Description: describe(reason), Status: 401, Err: err}
	switch reason {
	case ReasonNonceMissing, ReasonNonceStale, ReasonNonceInvalid:
		e.Code = CodeUseNonce
	case ReasonReplayUnavailable:
		e.Code, e.Status = "", 503
	}
	return e
}
