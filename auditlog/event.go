package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"
)

// EventName is the stable `event` field of an audit line.
type EventName string

// The events apiguard records. The set and the spelling are part of the schema.
const (
	LoginSuccess     EventName = "login_success"
	LoginFailure     EventName = "login_failure"
	TokenIssued      EventName = "token_issued"
	TokenRefresh     EventName = "token_refresh"
	TokenRejected    EventName = "token_rejected"
	TokenRevoked     EventName = "token_revoked"
	RefreshReuse     EventName = "refresh_reuse"
	RateLimited      EventName = "rate_limited"
	Lockout          EventName = "lockout"
	CORSRejected     EventName = "cors_rejected"
	SecurityThreat   EventName = "security_threat"
	StoreUnavailable EventName = "store_unavailable"

	// Request is the access line the RequestLogger writes once per request.
	Request EventName = "request"
	// LogSuppressed reports the refusal lines that Options.RefusalCeiling
	// kept out, by event.
	LogSuppressed EventName = "log_suppressed"
)

// Known reports whether n is one of the event names of the schema.
func (n EventName) Known() bool {
	switch n {
	case LoginSuccess, LoginFailure, TokenIssued, TokenRefresh, TokenRejected,
		TokenRevoked, RefreshReuse, RateLimited, Lockout, CORSRejected,
		SecurityThreat, StoreUnavailable, Request, LogSuppressed:
		return true
	}
	return false
}

// alerting reports whether n goes to the Alerter and is subject to repeat
// suppression.
func (n EventName) alerting() bool {
	return n == SecurityThreat || n == RefreshReuse || n == Lockout
}

// Event is one security decision. The request-scoped fields (request_id,
// method, path, client, ip, and sub and jti when the event leaves them empty)
// are taken from the request when one is given; a field left empty is omitted
// from the line.
//
// Event has no field for a token, password, refresh token or key, on purpose:
// name a token by JTI and by TokenID(token).
type Event struct {
	Name   EventName
	Reason string // the reason code of the deciding component (for example the gate's)
	Sub    string
	JTI    string
	KID    string
	Iss    string
	Token  string // a token fingerprint made with TokenID, never the token itself
	Status int    // HTTP status answered, when the event ends a request
	Detail string // a short, fixed description; never user input
}

// TokenID returns the first 12 hex digits of the SHA-256 of a token: enough to
// correlate log lines about one token, useless for replaying it.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

// Length caps, in bytes, of the fields whose content may come from a client.
// A longer value is cut at a UTF-8 boundary and the line carries
// "truncated":true, so a huge path or header cannot make a huge line.
const (
	maxMethod    = 32
	maxPath      = 256
	maxReason    = 64
	maxSub       = 256
	maxJTI       = 128
	maxKID       = 128
	maxIss       = 256
	maxToken     = 12 // TokenID's length
	maxDetail    = 256
	maxClient    = 64
	maxUserAgent = 256
	maxRequestID = 64
)

// clip returns s cut to at most n bytes at a rune boundary, and whether it cut.
// It does not allocate.
func clip(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}
