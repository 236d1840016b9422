//go:build goexperiment.boringcrypto

package fastverify

// boringcrypto is true when the toolchain builds crypto/* on BoringCrypto:
// crypto/rsa and crypto/ed25519 then verify through BoringSSL, and so does
// every Verify here.
const boringcrypto = true
