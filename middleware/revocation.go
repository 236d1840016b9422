package middleware

import (
	"context"
	"errors"
	"time"
)

// ErrRevocationUnavailable is returned by a RevocationList that cannot answer
// (for example a Redis replica that is not known to be in sync while the list
// fails closed). The gate answers 503 with Retry-After, never 200.
var ErrRevocationUnavailable = errors.New("apiguard: revocation list unavailable")

// RevocationList is consulted by the gate on every authenticated request,
// validation-cache hits included, after the signature and claims have been
// checked. Implementations must be safe for concurrent use, and IsRevoked must
// be fast and must not allocate or do network I/O: it is on the hot path.
//
// A token is identified by its issuer and jti. A subject revocation ("every
// token of sub issued before T", for a password change or a logout everywhere)
// covers the tokens of (iss, sub) whose iat is before T. A session revocation
// covers every token of (iss, sid), whatever its iat: the access tokens minted
// from one refresh-token family carry the family's ID as their "sid" claim,
// so revoking the session kills them with the family.
type RevocationList interface {
	// IsRevoked reports whether the token (iss, jti) was revoked, its
	// session (iss, sid) was revoked, or its subject (iss, sub) was revoked
	// after iat. An empty jti, sub or sid matches nothing. An error means the
	// answer is unknown; the gate fails closed on it.
	IsRevoked(iss, jti, sub, sid string, iat time.Time) (bool, error)

	// RevokeToken revokes (iss, jti) until exp, when the token would have
	// expired anyway and the entry can be forgotten.
	RevokeToken(ctx context.Context, iss, jti string, exp time.Time) error

	// RevokeSubject revokes every token of (iss, sub) issued before the time
	// before. The entry is kept until keepUntil, when the last such token has
	// expired (before + the longest token lifetime).
	RevokeSubject(ctx context.Context, iss, sub string, before, keepUntil time.Time) error

	// RevokeSession revokes every token of (iss, sid). The entry is kept
	// until keepUntil, when the last token of the session has expired (now
	// + the longest token lifetime + the gate's leeway).
	RevokeSession(ctx context.Context, iss, sid string, keepUntil time.Time) error
}
