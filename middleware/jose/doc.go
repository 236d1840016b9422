// Package jose holds apiguard's keys: a Key is one verification key bound to
// exactly one algorithm (RFC 8725 §3.1), and a KeySource finds the key that
// must verify a token from its header's kid and alg.
//
// Keys come from crypto values (NewKey), PEM bundles (ParsePEM), JWKs
// (ParseJWK) and JWK Sets (ParseJWKS, or ParseJWKSLenient, which sets
// unusable keys aside); a key without an "alg" member is refused. Key
// sources are fixed (NewStaticKeys), remote (NewRemoteJWKS: one https URL,
// refreshed in the background within Cache-Control bounds and, at most once
// per interval, for an unknown kid; never a URL taken from a token, never a
// symmetric key), or several tried in order (MultiKeySource).
// NewJWKSHandler publishes public keys as a JWK Set, and Thumbprint names a
// key by its RFC 7638 thumbprint.
//
// The package knows nothing of HTTP requests or of the token gate: it
// reports what went wrong with errors (ErrKeyNotFound, ErrKeysUnavailable,
// ErrInvalidSignature), which middleware.Authenticator maps to its reasons
// and statuses (401, or 503 when the keys are unavailable). Everything here
// is safe for concurrent use.
package jose
