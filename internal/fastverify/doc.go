// Package fastverify verifies RSA (RSASSA-PKCS1-v1_5 and RSASSA-PSS) and
// Ed25519 signatures with what crypto/rsa and crypto/ed25519 recompute on
// every call computed once per key instead, and accepts and refuses exactly
// what they accept and refuse.
//
// # Why it is faster
//
// crypto/rsa keeps no precomputation for a public key: each VerifyPKCS1v15
// or VerifyPSS rebuilds the modulus (bigmod.NewModulus: R² mod N and the
// Montgomery constant), which is most of a verify with a small exponent.
// [RSA] builds it once, with filippo.io/bigmod (the exported copy of the
// standard library's crypto/internal/fips140/bigmod, by the same author, so
// the arithmetic is the same code), and then runs the same ExpShortVarTime
// and the same encoding checks as crypto/internal/fips140/rsa.
//
// crypto/ed25519 decodes the public key's point (a square root in the field)
// on every Verify and computes [k](-A) + [S]B with a double-scalar
// multiplication of 256 doublings. [Ed25519] keeps -A decoded and a table of
// its multiples, built once with filippo.io/edwards25519 (the upstream of
// the standard library's internal copy), so that [k](-A) is a sum of table
// entries; it runs the same cofactorless check: S canonical,
// k = SHA-512(R || A || M) mod l, R' = [k](-A) + [S]B, and the encoding of
// R' equal to R byte for byte.
//
// # ECDSA is not here
//
// crypto/ecdsa's P-256 verify already runs on the standard library's
// assembly field and its precomputed base-point table; what it redoes per
// call for the public key is turning X, Y into bytes and decoding one
// uncompressed point (a curve-equation check and a conversion to the
// Montgomery domain): about 1 µs of a verify of about 70 µs on the machine
// the figures were taken on, within the noise. A real gain would need a
// per-key table for [u2]Q and a variable-time double-scalar multiplication,
// and no maintained library offers them: filippo.io/nistec exposes points,
// ScalarMult and ScalarBaseMult (both constant time) but no per-point
// tables and no scalar field, so an ECDSA verify built on it would redo
// what crypto/ecdsa does, and be no faster. ES* keys keep crypto/ecdsa.
//
// # FIPS 140
//
// When the Go Cryptographic Module's FIPS 140-3 mode is on
// (GODEBUG=fips140=on or only: [crypto/fips140.Enabled]) or the toolchain
// is built with boringcrypto, every Verify goes to crypto/rsa or
// crypto/ed25519 unchanged, so that the validated module (or BoringCrypto)
// does the whole check.
//
// Public keys only: the RSA exponentiation and the Ed25519 double scalar
// multiplication run in variable time, as the standard library's verifiers
// do, since nothing they handle is secret.
package fastverify
