// Package jose holds apiguard's keys: a Key is one verification key bound to
// exactly one algorithm (RFC 8725 §3.1), and a KeySource finds the key that
// must verify a token from its header's kid and alg.
//
// Keys come from crypto values (NewKey), PEM bundles (ParsePEM), JWKs
// (ParseJWK) and JWK Sets. A set is read key by key (ParseJWKSWith): its
// "keys" array is split by a strict JSON reader and each key judged on its
// own, so an unusable key (weak RSA, a point off its curve, an unknown kty
// or crv, "use" other than "sig", "key_ops" without "verify", a private
// member, a symmetric key in a public set) is set aside as a SkippedKey with
// its kid and reason (the Skip* codes) and never takes the others down. A
// key without "alg" (RFC 7517 makes it optional; Entra ID publishes none) is
// bound to the one allowed algorithm that fits its type and curve, or by
// ParseOptions.DefaultAlgs or KeyAlgs; ambiguity is an error naming the key.
// ParseJWKS is the strict short form for local configuration, where every
// key must carry its alg and be usable. Ed25519 (RFC 9864) is an algorithm
// name of its own beside EdDSA. Key sources are fixed (NewStaticKeys),
// remote (NewRemoteJWKS: one https URL, refreshed in the background within
// Cache-Control bounds and, at most once per interval, for an unknown kid;
// never a URL taken from a token, never a symmetric key; each set-aside key
// reported once), or several tried in order (MultiKeySource).
// NewJWKSHandler publishes public keys as a JWK Set, and Thumbprint names a
// key by its RFC 7638 thumbprint. ParseHeaderJWK reads the public key a DPoP
// proof carries in its header (RFC 9449 §4.2), named by that thumbprint,
// without reflection.
//
// The package knows nothing of HTTP requests or of the token gate: it
// reports what went wrong with errors (ErrKeyNotFound, ErrKeysUnavailable,
// ErrInvalidSignature), which middleware.Authenticator maps to its reasons
// and statuses (401, or 503 when the keys are unavailable). Everything here
// is safe for concurrent use.
package jose
