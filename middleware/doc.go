// Package middleware is apiguard's request path for authentication: Bearer
// extraction, the strict JWT token gate, the claims in the request context,
// the role and scope guards, RFC 6750 errors, and the revocation list the gate
// consults. Keys and key sets live in middleware/jose, the token issuer and
// refresh-token families in middleware/token.
//
// # Getting started
//
// One constructor from the keys you have, and one line on chi:
//
//	auth, err := middleware.New(middleware.Config{
//		JWKSURL:  "https://idp.example/.well-known/jwks.json", // or JWKS, PEM, Keys
//		Issuer:   "https://idp.example/",
//		Audience: "orders-api",
//		Failures: guard, // a *ratelimit.Guard: invalid tokens count towards lockout
//	})
//	if err != nil { ... }
//	defer auth.Close()
//	r.Use(auth.Handler)
//
// Authenticate(r) and Verify(ctx, token) run the same checks without writing
// a response, for code that is not an http.Handler chain.
//
// # The token gate
//
// An Authenticator verifies an access token in a fixed order and stops at the
// first failure with a Reason (for the audit log) and an *Error (for the
// client):
//
//  1. Extraction: exactly one Authorization header, scheme Bearer in any
//     case, one or more spaces, an RFC 6750 b64token; a query parameter or a
//     cookie only when configured, a token in two places refused (a token
//     next to an access_token query parameter always is), cookies only with a
//     CSRF defence on unsafe methods.
//  2. Shape: at most MaxTokenSize bytes (8 KiB by default) before anything
//     else; compact serialization only (two dots, [A-Za-z0-9_-], no
//     padding); canonical base64url in every segment. One linear scan.
//  3. Header: one strict JSON object (UTF-8, no duplicate names, nothing
//     after it); alg present and in the allowlist, "none" never; jku, x5u,
//     jwk, x5c refused as threats and never fetched or used; crit refused
//     unless understood; cty JWT refused. With several issuers, the
//     payload's iss is read now (strictly, before any key lookup) and picks
//     the trusted issuer; an unknown one is refused (ReasonIssUnknown). The
//     issuer's algorithms and its profile's typ (at+jwt for ProfileRFC9068,
//     the default) apply, unless AllowAnyTyp.
//  4. Key: the issuer's jose.KeySource.LookupKey by kid and alg; the key's alg must
//     equal the header's. A kid naming a key of another algorithm is the
//     algorithm confusion attack (ReasonAlgMismatch). A key source that
//     cannot answer (a remote set never fetched) is a 503, not a 401.
//  5. Signature.
//  6. Claims: strict JSON; exp required and a number; nbf, iat numbers;
//     leeway; MaxAge; iss exact; aud contains Audience (or the profile's
//     audience claim equals it); sub non-empty; jti when revocation is on;
//     the profile's required claims; roles and scopes read where the
//     profile says; Validators last.
//  7. Revocation, on every request, validation-cache hits included; an
//     unanswerable list fails closed (503).
//  8. The claims go into a copy of the request's context.
//
// # Identity providers
//
// A Profile says where a provider puts things in its access tokens (typ,
// audience, roles, scopes, size); ProfileAuth0, ProfileEntraID, ProfileOkta,
// ProfileKeycloak, ProfileCognito and ProfileGoogle are ready-made. With
// Discovery, the issuer alone yields the keys, without New waiting for the
// network. Issuers lists several trusted issuers, and IssuerResolver admits
// dynamic tenants through a bounded, rate-limited cache:
//
//	middleware.Config{Issuer: "https://login.microsoftonline.com/<tenant>/v2.0",
//		Audience: "<api client id>", Discovery: true, Profile: middleware.ProfileEntraID()}
//
// Valid results are kept in a bounded validation cache keyed by the exact
// token, for at most min(CacheTTL, exp, iat+MaxAge); a hit re-checks the
// clock and the revocation list and costs a few hundred nanoseconds.
//
// Claims returned by the Authenticator are shared between requests (cache
// hits) and must be treated as read-only.
//
// # Sender-constrained tokens, metadata and step-up
//
// A token with a cnf claim is bound to something its client holds, and the
// Authenticator accepts it only with proof of that, checked on every
// request after the token's own (cached) checks:
//
//   - cnf.jkt (DPoP, RFC 9449): with Config.DPoP (a *dpop.Verifier),
//     Authorization: DPoP <token> and exactly one DPoP proof, verified on
//     every request (never cached), signed by the key whose thumbprint is
//     cnf.jkt. A bound token presented as Bearer is refused (downgrade),
//     with or without DPoP configured; the DPoP scheme or a proof with an
//     unbound token is refused too. Config.DPoPRequired, or the per-route
//     RequireDPoP guard, refuses tokens that are not DPoP-bound. Challenges
//     add DPoP algs="..." on a line of their own; a missing or old nonce gets
//     use_dpop_nonce and a DPoP-Nonce header, and a valid response carries
//     the next nonce when it rotated.
//   - cnf["x5t#S256"] (mutual TLS, RFC 8705): the SHA-256 thumbprint of the
//     client certificate of the TLS connection, or, from a proxy listed in
//     Config.MTLS only, of the one in its Client-Cert header (RFC 9440).
//   - any other cnf (jwk, kid...) is refused: a binding the gate cannot
//     check is never dropped.
//
// With Config.Resource, MetadataHandler serves the RFC 9728
// protected-resource metadata (mount it at ResourceMetadataPath), and every
// 401 challenge and 403 insufficient_scope carries resource_metadata="...".
// RequireStepUp (RFC 9470) requires an acr among a set and/or an auth_time
// within a max age, else 401 insufficient_user_authentication with
// acr_values and max_age.
//
// # Errors
//
// Refusals are *Error values. The default writer, WriteError, answers as
// RFC 6750 says: 401 with WWW-Authenticate: Bearer realm="...",
// error="invalid_token", error_description="..." (no error attribute when the
// request had no credentials), 400 invalid_request, 403 insufficient_scope
// with scope="...", 503 with Retry-After, a JSON body and
// Cache-Control: no-store. Descriptions are short and fixed; nothing from the
// request is echoed.
package middleware
