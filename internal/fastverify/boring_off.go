//go:build !goexperiment.boringcrypto

package fastverify

// boringcrypto is true when the toolchain builds crypto/* on BoringCrypto.
const boringcrypto = false
