package fastverify

import "crypto/fips140"

// testHookFast, when set by a test, is called each time a Verify takes the
// precomputed path instead of handing the check to crypto/*. It is nil in
// production.
var testHookFast func()

// fast reports whether a Verify may take the precomputed path: not when the
// FIPS 140 mode is on or crypto/* runs on BoringCrypto.
func fast() bool {
	if boringcrypto || fips140.Enabled() {
		return false
	}
	if testHookFast != nil {
		testHookFast()
	}
	return true
}
