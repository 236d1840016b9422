// Package dpop verifies DPoP proofs (OAuth 2.0 Demonstrating Proof of
// Possession, RFC 9449) at a resource server and at a token endpoint.
//
// A DPoP client signs, for every request, a short JWT (the proof, sent in
// the DPoP header) with a private key it keeps; its public key is in the
// proof's header, and an access token issued to it names the key by its
// RFC 7638 thumbprint (cnf.jkt). A stolen token is then useless without the
// key. A Verifier checks one proof per request:
//
//	v, err := dpop.New(dpop.Config{NonceSecret: secret})
//	...
//	proof, err := v.Verify(r, accessToken) // accessToken "" at a token endpoint
//	if err != nil {
//		var e *dpop.Error // Code for the client, Reason for the log, Status 401 or 503
//		...
//	}
//	// the token's cnf.jkt must equal proof.JKT
//
// Verify parses the proof with the same strict compact parser as the gate's
// access tokens (internal/compact), reads its header and claims with
// strictjson (UTF-8, no duplicate member, one pass, no reflection), and
// checks, in order: typ dpop+jwt, an allowed asymmetric alg, a public jwk
// (a private member refuses it; jku, x5u, x5c and crit are refused), the
// signature by that jwk, jti, htm, htu (without query and fragment,
// normalised per RFC 3986 §6; behind a trusted proxy the scheme and host it
// reports; Config.PublicURL overrides both), the iat window, ath (when a
// token is presented), the server nonce (when configured) and, last, the
// replay cache, so that only proofs valid in every other way are recorded.
//
// Nonces are stateless (a keyed MAC of a time step): every instance with
// the same Config.NonceSecret makes and accepts the same ones. Replays are
// caught by a ReplayCache: MemoryReplayCache for one instance (bounded, it
// refuses rather than forgets a live entry), a shared store for several.
//
// Every refusal is an *Error whose Description is a fixed text, safe to
// send; nothing from the request is echoed. Everything here is safe for
// concurrent use.
package dpop
