// Package token is apiguard's token lifecycle: the Issuer signs RFC 9068
// access tokens (header alg, kid and typ at+jwt; claims iss, sub, aud, exp,
// iat, nbf, a 128-bit random jti, roles, and scope and sid when given),
// rotates its signing key, and publishes its public keys with a JWKS handler;
// RefreshTokens issues opaque 256-bit refresh tokens in families, spending
// each on use and revoking the whole family when a spent one comes back
// (RFC 9700 §4.14.2).
//
// An Issuer is a jose.KeySource over its current and still-valid previous
// keys, so a middleware.Authenticator can verify its tokens directly:
//
//	iss, err := token.NewIssuer(token.IssuerConfig{Issuer: "https://auth.example", Audience: "api", Key: signer})
//	auth, err := middleware.New(middleware.Config{Keys: iss, Issuer: "https://auth.example", Audience: "api"})
//
// Refresh-token families are kept by a RefreshStore: MemoryRefreshStore for
// one instance, the Redis store of middleware/redisstore for several. Its
// errors are this package's own: ErrInvalidGrant (answer 400 invalid_grant),
// ErrRefreshReuse (which matches ErrInvalidGrant) and ErrStoreUnavailable
// (answer 503).
//
// A rotation is idempotent for a short window (RefreshConfig.RetryWindow,
// default 15 s): the same token presented again while its successor is
// unspent (a store retry after a lost reply, a client retry after a 503, a
// concurrent double submit) gets the same successor, which the store keeps
// only sealed under a key derived from the presented token. Presented after
// the window, or once its successor was used, it is reuse.
//
// Tokens can be bound to a key the client holds. TokenOptions.JKT mints
// "cnf":{"jkt":…} (DPoP, RFC 9449 §6.1) and TokenOptions.X5TS256
// "cnf":{"x5t#S256":…} (mutual TLS, RFC 8705 §3.1). A refresh family begun
// with StartWith(…, StartOptions{JKT}) is bound to that DPoP key for its
// whole life (RFC 9449 §5): RotateWith must prove the same key
// (RotateOptions{JKT}), which the store checks atomically before anything
// else. Without it, or with another key, the rotation fails with
// ErrRefreshKeyMismatch (an invalid_grant) and changes nothing: the token is
// not spent and the family not revoked, so a thief holding a copied token
// but not the key can neither refresh nor sign the user out, and the
// attempt is a security_threat in the audit log. An unbound family stays
// unbound: a proof presented for it is refused the same way, since binding
// it mid-life would let whoever holds a stolen unbound token claim it.
//
// With RefreshConfig.Revocation set, revoking a family (reuse, RevokeFamily,
// a denied reload) also revokes its session in a middleware.RevocationList,
// so the access tokens minted with TokenOptions.SessionID = the family ID
// are refused at once.
package token
