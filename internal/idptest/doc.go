// Package idptest runs identity-provider fixtures for tests of the token
// gate: for Microsoft Entra ID (v2.0), Auth0, Okta (custom authorization
// server), Keycloak, AWS Cognito (user pool) and Google, an httptest server
// that publishes the provider's discovery document and JWK Set, and signs
// access tokens, in the shape the provider really uses.
//
// It depends on the standard library only (not on the apiguard middleware),
// and every key is generated afresh by New: no real private key exists
// anywhere. The shapes were copied from real key sets captured from the
// providers (the JWK Sets under testdata/interop/idp of the shared test
// data, named in its SOURCES.md: panva/wellknown and DockYard/openid_connect
// fixtures), from the providers' documentation of their tokens, and, where
// stated, from their issue trackers. Those captured sets are not embedded
// here.
//
//	p := idptest.New(t, idptest.Entra)
//	tok := p.AccessToken(t, map[string]any{"scp": "Tasks.Read"}) // nil deletes a claim
//	kid := p.Rotate(t)                                             // new signing key; old kept published
//	p.AddBadKeys(t)                                                // one unusable key of each flaw
//	p.SetDown(true)                                                // documents answer 503
//	_ = p.Requests()                                               // requests served so far
//
// # Common to all
//
// Keys are RSA-2048 with e = 65537 and tokens are RS256, as every one of the
// six signs by default. Issuer, discovery and jwks_uri are built on the
// server URL (http://127.0.0.1:port) with the provider's own paths. exp and
// iat come from time.Now with the provider's default lifetime; nbf is set
// only where the provider sets it (Entra), as the others issue none.
// Documents, keys and token headers keep the provider's member order (and,
// for Keycloak, its header spacing); claims are written in sorted order, which
// changes no size. Content-Type is application/json; charset=utf-8 for all.
// The Cache-Control values are the providers' typical ones, configurable with
// WithCacheControl; SetDown, SetJWKSBody, Rotate, RemoveKey and AddKeyJSON
// change what is served while a test runs, and Requests and JWKSRequests
// count what was fetched. Token sizes of the defaults (bytes, compact form):
// Entra about 1520, Keycloak 1481, Cognito 1131, Google 1116, Auth0 883,
// Okta 860.
//
// IDToken signs an OpenID Connect ID token of the provider (aud the client,
// no scopes or roles), for tests that a resource server refuses one in place
// of an access token: Entra's with ver 2.0 and no scp; Auth0's profile
// claims with aud the client id and a 10-hour exp; Okta's with jti "ID.…",
// amr and idp; Keycloak's with typ "ID"; Cognito's with token_use "id",
// cognito:username and aud, signed with the pool's other key; Google's is
// its AccessToken.
//
// # Entra ID (v2.0 endpoints of one tenant)
//
// Issuer {base}/{tenant-guid}/v2.0, discovery at
// {issuer}/.well-known/openid-configuration, jwks_uri
// {base}/{tenant-guid}/discovery/v2.0/keys, no RFC 8414 document. Three
// keys, members kty, use "sig", kid, x5t, n, e, x5c, issuer, in that order:
// no alg, kid equal to x5t (base64url SHA-1 of the certificate, 27
// characters), one self-signed certificate in x5c (CN
// accounts.accesscontrol.windows.net), and the Entra-only issuer member
// holding the template {base}/{tenantid}/v2.0 literally. Token header typ
// "JWT", alg, x5t, kid. Claims: aud is the API's client id (a GUID: v2.0
// tokens always carry the client id, never the App ID URI), iss, iat, nbf,
// exp (75 minutes: Entra draws 60 to 90), aio, azp (client), azpacr, name,
// oid, preferred_username, rh, roles (array), scp (space-separated string),
// sid, sub, tid, uti, ver "2.0". Cache-Control "max-age=86400, private".
// Not reproduced: the nonce header of Microsoft Graph tokens (which no
// resource server but Graph can verify), v1.0 tokens.
//
// The keys' issuer member is the {tenantid} template, as in the sets
// captured from /common (entra-id-v2-common, entra-id-v2-dockyard).
//
// # Entra ID, multi-tenant (EntraCommon, not in Names)
//
// The /common endpoints: discovery at {base}/common/v2.0/.well-known/openid-configuration
// whose issuer is the literal template {base}/{tenantid}/v2.0 (equal to no
// token's iss) and tenant_region_scope null, jwks_uri
// {base}/common/discovery/v2.0/keys with five keys: three of work accounts
// (issuer member the template) and two of Microsoft personal accounts (issuer
// member {base}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0, MSATenant; CN
// "Live ID STS Signing Public Key"), as the captured common set mixes them.
// Tokens are Entra's; iss follows the tid claim ({base}/{tid}/v2.0), so
// AccessToken(t, map[string]any{"tid": other}) is a token of another tenant.
// For tests of the dynamic-tenant resolver.
//
// # Auth0
//
// Issuer {base}/ with its trailing slash; discovery
// {base}/.well-known/openid-configuration, also served as RFC 8414
// {base}/.well-known/oauth-authorization-server; jwks_uri
// {base}/.well-known/jwks.json. Two keys, the current and the "next" one,
// members kty, use, n, e, kid, x5t, x5c, alg "RS256". The first has the
// legacy kid of older tenants (base64url of the upper-case hex SHA-1 of the
// certificate, 54 characters, repeated as x5t, which so decodes to 40
// octets, not a 20-octet digest), the second the 21-character nanoid kid
// of newer ones with x5t the real SHA-1 thumbprint; both captured in the
// auth0 set. Header typ "JWT" (WithAccessTokenTyp("at+jwt") for the RFC 9068
// token dialect). Claims: iss, sub "auth0|…", aud an array [API identifier,
// {issuer}userinfo] (what a token requested with openid carries), iat, exp
// (24 h), scope (space-separated), azp, permissions (array, with RBAC's "add
// permissions in the access token"). Cache-Control "public, max-age=15,
// stale-while-revalidate=15, stale-if-error=86400" (Auth0 answers with a
// max-age of seconds). Whether Auth0 serves the RFC 8414 document was not
// confirmed from a captured response.
//
// # Okta (custom authorization server "default")
//
// Issuer {base}/oauth2/default; discovery
// {issuer}/.well-known/openid-configuration and RFC 8414 metadata at
// {issuer}/.well-known/oauth-authorization-server: appended to the issuer,
// as Okta does, not inserted after the host as RFC 8414 says (the inserted
// form answers 404, as at Okta). jwks_uri {issuer}/v1/keys. Two keys, the
// active and the next, members kty, alg "RS256", kid (43 characters of
// base64url), use, e, n; no x5c. Header kid and alg only: no typ. Claims:
// ver 1, jti "AT.…", iss, aud "api://default", iat, exp (1 h), cid (client
// "0oa…", 20 characters), uid ("00u…"), scp (an array), auth_time, sub (the
// login); header and claims as in a real Okta token kept in a public
// repository's test, and Okta's token reference.
// Cache-Control "max-age=86400, must-revalidate" is an approximation: Okta
// sends a max-age relative to the key's safe period, and no-cache near its
// end.
//
// # Keycloak (realm "demo")
//
// Issuer {base}/realms/demo; discovery {issuer}/.well-known/openid-configuration;
// RFC 8414 metadata at {issuer}/.well-known/oauth-authorization-server
// (Keycloak 25) and at {base}/.well-known/oauth-authorization-server/realms/demo
// (the RFC form, Keycloak 26.4; keycloak/keycloak#29627, #41440). jwks_uri
// {issuer}/protocol/openid-connect/certs. One RS256 signing key and one
// RSA-OAEP key with use "enc" beside it, as Keycloak publishes; members kid,
// kty, alg, use, n, e, x5c, x5t, x5t#S256; kid is base64url SHA-256 of the
// SubjectPublicKeyInfo (43 characters), the certificate self-signed with the
// realm as CN. Header alg, typ "JWT", kid, in Keycloak's own bytes:
// {"alg":"RS256","typ" : "JWT","kid" : "…"}, spaces around the second and
// third colons, as its JWSBuilder concatenates them (WithAccessTokenTyp
// ("at+jwt") for the client option that changes typ). Claims: exp (5 minutes), iat,
// auth_time, jti, iss, aud [API client, "account"] (an audience mapper's
// array; without one Keycloak writes "account" alone), sub, typ "Bearer",
// azp, sid, acr, allowed-origins, realm_access.roles,
// resource_access.<client>.roles, scope (space-separated), email_verified,
// name, preferred_username, given_name, family_name, email. Cache-Control:
// "no-cache" on the JWKS (keycloak/keycloak#15216) and "no-cache,
// must-revalidate, no-transform, no-store" on discovery (Keycloak's own
// tests assert it).
//
// # AWS Cognito (user pool us-east-1_AbCdEf123)
//
// Issuer {base}/us-east-1_AbCdEf123 (https://cognito-idp.{region}.amazonaws.com/{pool}
// in production); discovery {issuer}/.well-known/openid-configuration,
// jwks_uri {issuer}/.well-known/jwks.json, no RFC 8414. Two keys, members in
// alphabetical order alg, e, kid, kty, n, use; kid is standard base64 (with
// + / and = padding) of SHA-256 of the SubjectPublicKeyInfo. Cognito signs
// ID tokens with one key and access tokens with the other: AccessToken uses
// the second. Header kid and alg only: no typ. Access-token claims: sub,
// cognito:groups (array), iss, version 2, client_id, origin_jti, event_id,
// token_use "access", scope (space-separated), auth_time, exp (1 h), iat,
// jti, username, and no aud: a resource server checks client_id (which is
// Provider.Audience). No Cache-Control is sent: Cognito's was not known from
// a captured response.
//
// # Google
//
// Issuer {base} (https://accounts.google.com; some ID tokens say
// accounts.google.com without the scheme, not reproduced); discovery
// {issuer}/.well-known/openid-configuration, jwks_uri {base}/oauth2/v3/certs
// (on www.googleapis.com in production), no RFC 8414. Two keys, members alg,
// use, kty, e, n, kid; kid is 40 hex digits; no x5c. Google access tokens are
// opaque, so AccessToken returns an ID token, the JWT an API receives from
// Google sign-in: header alg, kid, typ "JWT"; claims iss, azp, aud (both the
// OAuth client id "….apps.googleusercontent.com"), sub (21 digits), email,
// email_verified, at_hash, name, picture, given_name, family_name, iat, exp
// (1 h). Cache-Control "public, max-age=3600" on discovery and "public,
// max-age=21600, must-revalidate, no-transform" on the keys.
//
// # Bad keys
//
// BadKeys returns one JWK of each flaw a key set parser must set aside
// without dropping the good keys: RSA-1024, RSA e = 1, a P-256 point off the
// curve, an unknown kty (AKP, ML-DSA-44), use "enc", key_ops ["encrypt"],
// private members (Threat), and a symmetric oct key. Each has its own kid.
package idptest
