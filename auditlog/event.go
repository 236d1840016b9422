package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
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
)

// Event is one security decision. The request-scoped fields (request_id,
// method, path, client, ip) are taken from the request when one is given; a
// field left empty is omitted from the line.
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
