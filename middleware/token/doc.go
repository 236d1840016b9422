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
package token
