package idptest

import (
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"
)

// profile is what one provider publishes and issues.
type profile struct {
	keys         int      // RSA-2048 signing keys published at New
	spacedHeader bool     // header bytes as Keycloak writes them
	encKeys      []string // algs of RSA encryption keys published after them
	signWith     int      // which of the signing keys signs access tokens
	idSignWith   int      // and which ID tokens

	discoveryCC, jwksCC string

	layout    func(p *Provider, base string) // sets Issuer, URLs, Tenant, ClientID, Audience
	newKey    func(t testing.TB, p *Provider, k *rsa.PrivateKey, i int) *key
	newEncKey func(t testing.TB, p *Provider, k *rsa.PrivateKey, alg string) *key
	header    func(k *key) obj
	claims    func(p *Provider, now time.Time) map[string]any
	idClaims  func(p *Provider, now time.Time) map[string]any // nil: ID tokens are the access tokens' shape (Google)
	fixup     func(p *Provider, claims, over map[string]any)  // after the overrides, where claims depend on each other
	discovery func(p *Provider) obj
	metadata  func(p *Provider) obj // RFC 8414 document, where MetadataURLs is not empty
}

var profiles = map[string]*profile{
	Entra:       entra,
	EntraCommon: entraCommon,
	Auth0:       auth0,
	Okta:        okta,
	Keycloak:    keycloak,
	Cognito:     cognito,
	Google:      google,
}

// unix is a NumericDate claim value.
func unix(t time.Time) int64 { return t.Unix() }

// --- Microsoft Entra ID, v2.0 endpoints of one tenant ---

var entra = &profile{
	keys:        3,
	discoveryCC: "max-age=86400, private",
	jwksCC:      "max-age=86400, private",
	layout: func(p *Provider, base string) {
		p.Tenant = uuid4()
		p.Issuer = base + "/" + p.Tenant + "/v2.0"
		p.DiscoveryURL = p.Issuer + "/.well-known/openid-configuration"
		p.JWKSURI = base + "/" + p.Tenant + "/discovery/v2.0/keys"
		p.ClientID = uuid4()
		p.Audience = uuid4() // v2.0 access tokens: aud is always the API's client id
	},
	newKey: func(t testing.TB, p *Provider, k *rsa.PrivateKey, _ int) *key {
		return entraKey(t, p, k, "accounts.accesscontrol.windows.net", "{tenantid}")
	},
	header: func(k *key) obj {
		return obj{{"typ", "JWT"}, {"alg", "RS256"}, {"x5t", k.x5t}, {"kid", k.kid}}
	},
	claims:   func(p *Provider, now time.Time) map[string]any { return entraClaims(p, now, false) },
	idClaims: func(p *Provider, now time.Time) map[string]any { return entraClaims(p, now, true) },
	discovery: func(p *Provider) obj {
		base := p.Server.URL + "/" + p.Tenant
		return obj{
			{"token_endpoint", base + "/oauth2/v2.0/token"},
			{"token_endpoint_auth_methods_supported", []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}},
			{"jwks_uri", p.JWKSURI},
			{"response_modes_supported", []string{"query", "fragment", "form_post"}},
			{"subject_types_supported", []string{"pairwise"}},
			{"id_token_signing_alg_values_supported", []string{"RS256"}},
			{"response_types_supported", []string{"code", "id_token", "code id_token", "id_token token"}},
			{"scopes_supported", []string{"openid", "profile", "email", "offline_access"}},
			{"issuer", p.Issuer},
			{"request_uri_parameter_supported", false},
			{"userinfo_endpoint", "https://graph.microsoft.com/oidc/userinfo"},
			{"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
			{"device_authorization_endpoint", base + "/oauth2/v2.0/devicecode"},
			{"http_logout_supported", true},
			{"frontchannel_logout_supported", true},
			{"end_session_endpoint", base + "/oauth2/v2.0/logout"},
			{"claims_supported", []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"}},
			{"kerberos_endpoint", base + "/kerberos"},
			{"tenant_region_scope", entraRegion(p)},
			{"cloud_instance_name", "microsoftonline.com"},
			{"cloud_graph_host_name", "graph.windows.net"},
			{"msgraph_host", "graph.microsoft.com"},
			{"rbac_url", "https://pas.windows.net"},
		}
	},
}

// entraClaims are the claims of an Entra v2.0 access token, or ID token.
func entraClaims(p *Provider, now time.Time, id bool) map[string]any {
	tid := p.Tenant
	if p.homeTenant != "" { // EntraCommon
		tid = p.homeTenant
	}
	c := map[string]any{
		"iss":                p.Server.URL + "/" + tid + "/v2.0",
		"iat":                unix(now),
		"nbf":                unix(now),
		"aio":                randB64u(72),
		"name":               "Ada Lovelace",
		"oid":                uuid4(),
		"preferred_username": "ada@contoso.onmicrosoft.com",
		"rh":                 "1.A" + randB64u(60) + ".",
		"sid":                uuid4(),
		"sub":                randB64u(32),
		"tid":                tid,
		"uti":                randB64u(16),
		"ver":                "2.0",
	}
	if id {
		c["aud"] = p.ClientID
		c["exp"] = unix(now.Add(time.Hour))
		return c
	}
	c["aud"] = p.Audience
	c["exp"] = unix(now.Add(75 * time.Minute)) // Entra draws 60 to 90 minutes
	c["azp"] = p.ClientID
	c["azpacr"] = "0"
	c["roles"] = []string{"Tasks.Admin"}
	c["scp"] = "Tasks.Read Tasks.Write"
	return c
}

// entraRegion: a tenant's discovery document names its region; /common's
// has null.
func entraRegion(p *Provider) any {
	if p.homeTenant != "" {
		return nil
	}
	return "EU"
}

// entraKey is an Entra signing key: kid = x5t = base64url SHA-1 of a
// self-signed certificate with subject CN cn, and the issuer member naming
// tenant (the literal "{tenantid}" template, or one tenant's GUID).
func entraKey(t testing.TB, p *Provider, k *rsa.PrivateKey, cn, tenant string) *key {
	der := selfSigned(t, k, cn, 5*365*24*time.Hour)
	x5t := x5tSHA1(der)
	return &key{kid: x5t, priv: k, x5t: x5t, jwk: obj{
		{"kty", "RSA"}, {"use", "sig"}, {"kid", x5t}, {"x5t", x5t},
		{"n", rsaN(&k.PublicKey)}, {"e", rsaE(&k.PublicKey)},
		{"x5c", []string{base64.StdEncoding.EncodeToString(der)}},
		{"issuer", p.Server.URL + "/" + tenant + "/v2.0"},
	}}
}

// MSATenant is the tenant id of Microsoft personal accounts, whose keys the
// Entra common endpoint publishes beside the work-account keys.
const MSATenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// --- Microsoft Entra ID, multi-tenant "common" v2.0 endpoints ---

var entraCommon = func() *profile {
	c := *entra
	c.keys = 5 // three work-account keys and two of Microsoft accounts, as /common publishes
	c.layout = func(p *Provider, base string) {
		p.Tenant = "common"
		p.homeTenant = uuid4()
		// The issuer of /common's discovery document is a template, equal
		// to no token's iss: a verifier must substitute the token's tid.
		p.Issuer = base + "/{tenantid}/v2.0"
		p.DiscoveryURL = base + "/common/v2.0/.well-known/openid-configuration"
		p.JWKSURI = base + "/common/discovery/v2.0/keys"
		p.ClientID = uuid4()
		p.Audience = uuid4()
	}
	c.newKey = func(t testing.TB, p *Provider, k *rsa.PrivateKey, i int) *key {
		if i >= 3 {
			return entraKey(t, p, k, "Live ID STS Signing Public Key", MSATenant)
		}
		return entraKey(t, p, k, "accounts.accesscontrol.windows.net", "{tenantid}")
	}
	c.fixup = func(p *Provider, cl map[string]any, over map[string]any) {
		if tid, ok := over["tid"].(string); ok {
			if _, ok := over["iss"]; !ok {
				cl["iss"] = p.Server.URL + "/" + tid + "/v2.0"
			}
		}
	}
	return &c
}()

// --- Auth0 tenant ---

var auth0 = &profile{
	keys:        2, // the current key and the "next" one
	discoveryCC: "public, max-age=15, stale-while-revalidate=15, stale-if-error=86400",
	jwksCC:      "public, max-age=15, stale-while-revalidate=15, stale-if-error=86400",
	layout: func(p *Provider, base string) {
		p.Tenant = "apiguard-test"
		p.Issuer = base + "/"
		p.DiscoveryURL = p.Issuer + ".well-known/openid-configuration"
		p.MetadataURLs = []string{p.Issuer + ".well-known/oauth-authorization-server"}
		p.JWKSURI = p.Issuer + ".well-known/jwks.json"
		p.ClientID = randFrom(alnum, 32)
		p.Audience = "https://api.apiguard.test"
	},
	newKey: func(t testing.TB, p *Provider, k *rsa.PrivateKey, i int) *key {
		der := selfSigned(t, k, p.Tenant+".us.auth0.com", 10*365*24*time.Hour)
		kid, x5t := randFrom(nanoidABC, 21), x5tSHA1(der)
		if i == 0 {
			// The legacy kid of tenants made before 2020: base64url of the
			// upper-case hex SHA-1 of the certificate, repeated as x5t (which
			// so decodes to 40 octets, not a 20-octet digest).
			sum := sha1.Sum(der)
			kid = b64u.EncodeToString([]byte(strings.ToUpper(hex.EncodeToString(sum[:]))))
			x5t = kid
		}
		return &key{kid: kid, priv: k, jwk: obj{
			{"kty", "RSA"}, {"use", "sig"},
			{"n", rsaN(&k.PublicKey)}, {"e", rsaE(&k.PublicKey)},
			{"kid", kid}, {"x5t", x5t},
			{"x5c", []string{base64.StdEncoding.EncodeToString(der)}},
			{"alg", "RS256"},
		}}
	},
	header: func(k *key) obj { return obj{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", k.kid}} },
	claims: func(p *Provider, now time.Time) map[string]any {
		return map[string]any{
			"iss":         p.Issuer,
			"sub":         "auth0|" + randHex(12),
			"aud":         []string{p.Audience, p.Issuer + "userinfo"},
			"iat":         unix(now),
			"exp":         unix(now.Add(24 * time.Hour)),
			"scope":       "openid profile email read:tasks write:tasks",
			"azp":         p.ClientID,
			"permissions": []string{"read:tasks", "write:tasks"},
		}
	},
	idClaims: func(p *Provider, now time.Time) map[string]any {
		return map[string]any{
			"nickname":       "ada",
			"name":           "Ada Lovelace",
			"picture":        "https://s.gravatar.com/avatar/" + randHex(16) + "?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fad.png",
			"updated_at":     now.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"),
			"email":          "ada@example.com",
			"email_verified": true,
			"iss":            p.Issuer,
			"aud":            p.ClientID,
			"sub":            "auth0|" + randHex(12),
			"iat":            unix(now),
			"exp":            unix(now.Add(10 * time.Hour)),
			"sid":            randB64u(24),
		}
	},
	discovery: auth0Discovery,
	metadata:  auth0Discovery,
}

func auth0Discovery(p *Provider) obj {
	i := p.Issuer
	return obj{
		{"issuer", i},
		{"authorization_endpoint", i + "authorize"},
		{"token_endpoint", i + "oauth/token"},
		{"device_authorization_endpoint", i + "oauth/device/code"},
		{"userinfo_endpoint", i + "userinfo"},
		{"mfa_challenge_endpoint", i + "mfa/challenge"},
		{"jwks_uri", p.JWKSURI},
		{"registration_endpoint", i + "oidc/register"},
		{"revocation_endpoint", i + "oauth/revoke"},
		{"scopes_supported", []string{"openid", "profile", "offline_access", "name", "given_name", "family_name", "nickname", "email", "email_verified", "picture", "created_at", "identities", "phone", "address"}},
		{"response_types_supported", []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"}},
		{"code_challenge_methods_supported", []string{"S256", "plain"}},
		{"response_modes_supported", []string{"query", "fragment", "form_post"}},
		{"subject_types_supported", []string{"public"}},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}},
		{"claims_supported", []string{"aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name", "given_name", "iat", "identities", "iss", "name", "nickname", "phone_number", "picture", "sub"}},
		{"request_uri_parameter_supported", false},
		{"request_parameter_supported", false},
		{"id_token_signing_alg_values_supported", []string{"HS256", "RS256", "PS256"}},
		{"token_endpoint_auth_signing_alg_values_supported", []string{"RS256", "RS384", "PS256"}},
		{"end_session_endpoint", i + "oidc/logout"},
	}
}

// --- Okta custom authorization server "default" ---

var okta = &profile{
	keys:        2,
	discoveryCC: "max-age=86400, must-revalidate",
	jwksCC:      "max-age=86400, must-revalidate",
	layout: func(p *Provider, base string) {
		p.Tenant = "default"
		p.Issuer = base + "/oauth2/default"
		p.DiscoveryURL = p.Issuer + "/.well-known/openid-configuration"
		// Okta appends the well-known path to the issuer, as for OIDC, not
		// RFC 8414's insertion after the host.
		p.MetadataURLs = []string{p.Issuer + "/.well-known/oauth-authorization-server"}
		p.JWKSURI = p.Issuer + "/v1/keys"
		p.ClientID = "0oa" + randFrom(alnum, 17)
		p.Audience = "api://default"
	},
	newKey: func(t testing.TB, p *Provider, k *rsa.PrivateKey, _ int) *key {
		kid := randB64u(32)
		return &key{kid: kid, priv: k, jwk: obj{
			{"kty", "RSA"}, {"alg", "RS256"}, {"kid", kid}, {"use", "sig"},
			{"e", rsaE(&k.PublicKey)}, {"n", rsaN(&k.PublicKey)},
		}}
	},
	header: func(k *key) obj { return obj{{"kid", k.kid}, {"alg", "RS256"}} },
	claims: func(p *Provider, now time.Time) map[string]any {
		return map[string]any{
			"ver":       1,
			"jti":       "AT." + randB64u(32),
			"iss":       p.Issuer,
			"aud":       p.Audience,
			"iat":       unix(now),
			"exp":       unix(now.Add(time.Hour)),
			"cid":       p.ClientID,
			"uid":       "00u" + randFrom(alnum, 17),
			"scp":       []string{"openid", "profile", "email", "tasks:read"},
			"auth_time": unix(now.Add(-time.Minute)),
			"sub":       "ada@example.com",
		}
	},
	idClaims: func(p *Provider, now time.Time) map[string]any {
		return map[string]any{
			"sub":                "00u" + randFrom(alnum, 17),
			"name":               "Ada Lovelace",
			"email":              "ada@example.com",
			"ver":                1,
			"iss":                p.Issuer,
			"aud":                p.ClientID,
			"iat":                unix(now),
			"exp":                unix(now.Add(time.Hour)),
			"jti":                "ID." + randB64u(32),
			"amr":                []string{"pwd"},
			"idp":                "00o" + randFrom(alnum, 17),
			"preferred_username": "ada@example.com",
			"auth_time":          unix(now.Add(-time.Minute)),
			"at_hash":            randB64u(16),
		}
	},
	discovery: func(p *Provider) obj { return oktaMetadata(p, true) },
	metadata:  func(p *Provider) obj { return oktaMetadata(p, false) },
}

func oktaMetadata(p *Provider, oidc bool) obj {
	i := p.Issuer
	o := obj{
		{"issuer", i},
		{"authorization_endpoint", i + "/v1/authorize"},
		{"token_endpoint", i + "/v1/token"},
	}
	if oidc {
		o = append(o, member{"userinfo_endpoint", i + "/v1/userinfo"})
	}
	o = append(o,
		member{"registration_endpoint", strings.TrimSuffix(i, "/default") + "/v1/clients"},
		member{"jwks_uri", p.JWKSURI},
		member{"response_types_supported", []string{"code", "id_token", "code id_token", "code token", "id_token token", "code id_token token"}},
		member{"response_modes_supported", []string{"query", "fragment", "form_post", "okta_post_message"}},
		member{"grant_types_supported", []string{"authorization_code", "implicit", "refresh_token", "password", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"}},
	)
	if oidc {
		o = append(o,
			member{"subject_types_supported", []string{"public"}},
			member{"id_token_signing_alg_values_supported", []string{"RS256"}},
		)
	}
	o = append(o,
		member{"scopes_supported", []string{"openid", "profile", "email", "address", "phone", "offline_access", "device_sso"}},
		member{"token_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}},
	)
	if oidc {
		o = append(o, member{"claims_supported", []string{"iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp", "nonce", "name", "nickname", "preferred_username", "given_name", "middle_name", "family_name", "email", "email_verified", "profile", "zoneinfo", "locale", "address", "phone_number", "picture", "website", "gender", "birthdate", "updated_at", "at_hash", "c_hash"}})
	}
	return append(o,
		member{"code_challenge_methods_supported", []string{"S256"}},
		member{"introspection_endpoint", i + "/v1/introspect"},
		member{"introspection_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}},
		member{"revocation_endpoint", i + "/v1/revoke"},
		member{"revocation_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}},
		member{"end_session_endpoint", i + "/v1/logout"},
		member{"request_parameter_supported", true},
		member{"request_object_signing_alg_values_supported", []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}},
		member{"device_authorization_endpoint", i + "/v1/device/authorize"},
		member{"dpop_signing_alg_values_supported", []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}},
	)
}

// --- Keycloak realm "demo" ---

var keycloak = &profile{
	keys:         1,
	encKeys:      []string{"RSA-OAEP"},
	spacedHeader: true,
	discoveryCC:  "no-cache, must-revalidate, no-transform, no-store",
	jwksCC:       "no-cache",
	layout: func(p *Provider, base string) {
		p.Tenant = "demo"
		p.Issuer = base + "/realms/demo"
		p.DiscoveryURL = p.Issuer + "/.well-known/openid-configuration"
		p.MetadataURLs = []string{
			p.Issuer + "/.well-known/oauth-authorization-server",         // since Keycloak 25
			base + "/.well-known/oauth-authorization-server/realms/demo", // RFC 8414 form, since 26.4
		}
		p.JWKSURI = p.Issuer + "/protocol/openid-connect/certs"
		p.ClientID = "demo-app"
		p.Audience = "demo-api"
	},
	newKey: func(t testing.TB, p *Provider, k *rsa.PrivateKey, _ int) *key {
		return keycloakKey(t, p, k, "RS256", "sig")
	},
	newEncKey: func(t testing.TB, p *Provider, k *rsa.PrivateKey, alg string) *key {
		return keycloakKey(t, p, k, alg, "enc")
	},
	header:    func(k *key) obj { return obj{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", k.kid}} },
	claims:    func(p *Provider, now time.Time) map[string]any { return keycloakClaims(p, now, false) },
	idClaims:  func(p *Provider, now time.Time) map[string]any { return keycloakClaims(p, now, true) },
	discovery: keycloakMetadata,
	metadata:  keycloakMetadata,
}

// keycloakClaims are the claims of a Keycloak access token, or ID token.
func keycloakClaims(p *Provider, now time.Time, id bool) map[string]any {
	c := map[string]any{
		"exp":                unix(now.Add(5 * time.Minute)),
		"iat":                unix(now),
		"auth_time":          unix(now.Add(-time.Minute)),
		"jti":                uuid4(),
		"iss":                p.Issuer,
		"sub":                uuid4(),
		"azp":                p.ClientID,
		"sid":                uuid4(),
		"acr":                "1",
		"email_verified":     true,
		"name":               "Ada Lovelace",
		"preferred_username": "ada",
		"given_name":         "Ada",
		"family_name":        "Lovelace",
		"email":              "ada@example.com",
	}
	if id {
		c["aud"] = p.ClientID
		c["typ"] = "ID"
		c["at_hash"] = randB64u(16)
		return c
	}
	c["aud"] = []string{p.Audience, "account"} // an audience mapper's; "account" alone without one
	c["typ"] = "Bearer"
	c["allowed-origins"] = []string{"http://localhost:3000"}
	c["realm_access"] = map[string]any{
		"roles": []string{"default-roles-demo", "offline_access", "uma_authorization", "tasks-admin"},
	}
	c["resource_access"] = map[string]any{
		p.Audience: map[string]any{"roles": []string{"tasks:read", "tasks:write"}},
		"account":  map[string]any{"roles": []string{"manage-account", "manage-account-links", "view-profile"}},
	}
	c["scope"] = "openid email profile"
	return c
}

// keycloakKey: kid is base64url SHA-256 of the SubjectPublicKeyInfo, the
// certificate is self-signed with the realm name as subject, x5t and
// x5t#S256 are both published.
func keycloakKey(t testing.TB, p *Provider, k *rsa.PrivateKey, alg, use string) *key {
	der := selfSigned(t, k, p.Tenant, 10*365*24*time.Hour)
	kid := b64u.EncodeToString(spkiSHA256(t, &k.PublicKey))
	return &key{kid: kid, priv: k, jwk: obj{
		{"kid", kid}, {"kty", "RSA"}, {"alg", alg}, {"use", use},
		{"n", rsaN(&k.PublicKey)}, {"e", rsaE(&k.PublicKey)},
		{"x5c", []string{base64.StdEncoding.EncodeToString(der)}},
		{"x5t", x5tSHA1(der)}, {"x5t#S256", x5tS256(der)},
	}}
}

func keycloakMetadata(p *Provider) obj {
	i := p.Issuer
	oidc := i + "/protocol/openid-connect"
	algs := []string{"PS384", "RS384", "EdDSA", "ES384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"}
	return obj{
		{"issuer", i},
		{"authorization_endpoint", oidc + "/auth"},
		{"token_endpoint", oidc + "/token"},
		{"introspection_endpoint", oidc + "/token/introspect"},
		{"userinfo_endpoint", oidc + "/userinfo"},
		{"end_session_endpoint", oidc + "/logout"},
		{"frontchannel_logout_session_supported", true},
		{"frontchannel_logout_supported", true},
		{"jwks_uri", p.JWKSURI},
		{"check_session_iframe", oidc + "/login-status-iframe.html"},
		{"grant_types_supported", []string{"authorization_code", "client_credentials", "implicit", "password", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:uma-ticket", "urn:openid:params:grant-type:ciba"}},
		{"acr_values_supported", []string{"0", "1"}},
		{"response_types_supported", []string{"code", "none", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token"}},
		{"subject_types_supported", []string{"public", "pairwise"}},
		{"prompt_values_supported", []string{"none", "login", "consent"}},
		{"id_token_signing_alg_values_supported", algs},
		{"id_token_encryption_alg_values_supported", []string{"ECDH-ES+A256KW", "ECDH-ES+A192KW", "ECDH-ES+A128KW", "RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "ECDH-ES"}},
		{"id_token_encryption_enc_values_supported", []string{"A256GCM", "A192GCM", "A128GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"}},
		{"userinfo_signing_alg_values_supported", slices.Concat(algs, []string{"none"})},
		{"request_object_signing_alg_values_supported", slices.Concat(algs, []string{"none"})},
		{"response_modes_supported", []string{"query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"}},
		{"registration_endpoint", i + "/clients-registrations/openid-connect"},
		{"token_endpoint_auth_methods_supported", []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"}},
		{"token_endpoint_auth_signing_alg_values_supported", algs},
		{"claims_supported", []string{"aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username", "email", "acr"}},
		{"claim_types_supported", []string{"normal"}},
		{"claims_parameter_supported", true},
		{"scopes_supported", []string{"openid", "acr", "basic", "email", "microprofile-jwt", "offline_access", "organization", "phone", "profile", "roles", "web-origins", "address"}},
		{"request_parameter_supported", true},
		{"request_uri_parameter_supported", true},
		{"require_request_uri_registration", true},
		{"code_challenge_methods_supported", []string{"plain", "S256"}},
		{"tls_client_certificate_bound_access_tokens", true},
		{"dpop_signing_alg_values_supported", []string{"PS384", "RS384", "EdDSA", "ES384", "ES256", "RS256", "ES512", "PS256", "PS512", "RS512"}},
		{"revocation_endpoint", oidc + "/revoke"},
		{"backchannel_logout_supported", true},
		{"backchannel_logout_session_supported", true},
		{"device_authorization_endpoint", oidc + "/auth/device"},
		{"pushed_authorization_request_endpoint", oidc + "/ext/par/request"},
		{"require_pushed_authorization_requests", false},
		{"authorization_response_iss_parameter_supported", true},
	}
}

// --- AWS Cognito user pool ---

var cognito = &profile{
	keys:     2, // one signs ID tokens, the other access tokens
	signWith: 1,
	// The Cache-Control Cognito sends is not reproduced (not known from a
	// captured response): none is sent unless WithCacheControl says so.
	layout: func(p *Provider, base string) {
		p.Tenant = "us-east-1_AbCdEf123"
		p.Issuer = base + "/" + p.Tenant
		p.DiscoveryURL = p.Issuer + "/.well-known/openid-configuration"
		p.JWKSURI = p.Issuer + "/.well-known/jwks.json"
		p.ClientID = randFrom(lowerAlnum, 26)
		p.Audience = p.ClientID // access tokens have no aud: client_id is checked
	},
	newKey: func(t testing.TB, p *Provider, k *rsa.PrivateKey, _ int) *key {
		// kid: standard (padded, + and /) base64 of SHA-256 of the SPKI.
		kid := base64.StdEncoding.EncodeToString(spkiSHA256(t, &k.PublicKey))
		return &key{kid: kid, priv: k, jwk: obj{
			{"alg", "RS256"}, {"e", rsaE(&k.PublicKey)}, {"kid", kid},
			{"kty", "RSA"}, {"n", rsaN(&k.PublicKey)}, {"use", "sig"},
		}}
	},
	header: func(k *key) obj { return obj{{"kid", k.kid}, {"alg", "RS256"}} },
	claims: func(p *Provider, now time.Time) map[string]any {
		sub := uuid4()
		return map[string]any{
			"sub":            sub,
			"cognito:groups": []string{"tasks-admin"},
			"iss":            p.Issuer,
			"version":        2,
			"client_id":      p.ClientID,
			"origin_jti":     uuid4(),
			"event_id":       uuid4(),
			"token_use":      "access",
			"scope":          "aws.cognito.signin.user.admin openid email tasks/read",
			"auth_time":      unix(now.Add(-time.Minute)),
			"exp":            unix(now.Add(time.Hour)),
			"iat":            unix(now),
			"jti":            uuid4(),
			"username":       sub,
		}
	},
	idClaims: func(p *Provider, now time.Time) map[string]any {
		sub := uuid4()
		return map[string]any{
			"sub":              sub,
			"cognito:groups":   []string{"tasks-admin"},
			"email_verified":   true,
			"iss":              p.Issuer,
			"cognito:username": sub,
			"origin_jti":       uuid4(),
			"aud":              p.ClientID,
			"event_id":         uuid4(),
			"token_use":        "id",
			"auth_time":        unix(now.Add(-time.Minute)),
			"exp":              unix(now.Add(time.Hour)),
			"iat":              unix(now),
			"jti":              uuid4(),
			"email":            "ada@example.com",
		}
	},
	discovery: func(p *Provider) obj {
		// The OAuth endpoints live on the pool's domain (here: the same server).
		d := strings.TrimSuffix(p.Issuer, "/"+p.Tenant)
		return obj{
			{"authorization_endpoint", d + "/oauth2/authorize"},
			{"end_session_endpoint", d + "/logout"},
			{"id_token_signing_alg_values_supported", []string{"RS256"}},
			{"issuer", p.Issuer},
			{"jwks_uri", p.JWKSURI},
			{"response_types_supported", []string{"code", "token"}},
			{"revocation_endpoint", d + "/oauth2/revoke"},
			{"scopes_supported", []string{"openid", "email", "phone", "profile"}},
			{"subject_types_supported", []string{"public"}},
			{"token_endpoint", d + "/oauth2/token"},
			{"token_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post"}},
			{"userinfo_endpoint", d + "/oauth2/userInfo"},
		}
	},
}

// --- Google (accounts.google.com) ---

var google = &profile{
	keys:        2,
	discoveryCC: "public, max-age=3600",
	jwksCC:      "public, max-age=21600, must-revalidate, no-transform",
	layout: func(p *Provider, base string) {
		p.Issuer = base
		p.DiscoveryURL = p.Issuer + "/.well-known/openid-configuration"
		p.JWKSURI = base + "/oauth2/v3/certs" // www.googleapis.com in production
		p.ClientID = randFrom(digits, 12) + "-" + randFrom(lowerAlnum, 32) + ".apps.googleusercontent.com"
		p.Audience = p.ClientID
	},
	newKey: func(t testing.TB, p *Provider, k *rsa.PrivateKey, _ int) *key {
		kid := randHex(20)
		return &key{kid: kid, priv: k, jwk: obj{
			{"alg", "RS256"}, {"use", "sig"}, {"kty", "RSA"},
			{"e", rsaE(&k.PublicKey)}, {"n", rsaN(&k.PublicKey)}, {"kid", kid},
		}}
	},
	header: func(k *key) obj { return obj{{"alg", "RS256"}, {"kid", k.kid}, {"typ", "JWT"}} },
	claims: func(p *Provider, now time.Time) map[string]any {
		return map[string]any{
			"iss":            p.Issuer,
			"azp":            p.ClientID,
			"aud":            p.ClientID,
			"sub":            "1" + randFrom(digits, 20),
			"email":          "ada@example.com",
			"email_verified": true,
			"at_hash":        randB64u(16),
			"name":           "Ada Lovelace",
			"picture":        "https://lh3.googleusercontent.com/a/" + randFrom(alnum, 40) + "=s96-c",
			"given_name":     "Ada",
			"family_name":    "Lovelace",
			"iat":            unix(now),
			"exp":            unix(now.Add(time.Hour)),
		}
	},
	discovery: func(p *Provider) obj {
		b := p.Issuer
		return obj{
			{"issuer", p.Issuer},
			{"authorization_endpoint", b + "/o/oauth2/v2/auth"},
			{"device_authorization_endpoint", b + "/device/code"},
			{"token_endpoint", b + "/token"},
			{"userinfo_endpoint", b + "/v1/userinfo"},
			{"revocation_endpoint", b + "/revoke"},
			{"jwks_uri", p.JWKSURI},
			{"response_types_supported", []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token", "none"}},
			{"response_modes_supported", []string{"query", "fragment", "form_post"}},
			{"subject_types_supported", []string{"public"}},
			{"id_token_signing_alg_values_supported", []string{"RS256"}},
			{"scopes_supported", []string{"openid", "email", "profile"}},
			{"token_endpoint_auth_methods_supported", []string{"client_secret_post", "client_secret_basic"}},
			{"claims_supported", []string{"aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub"}},
			{"code_challenge_methods_supported", []string{"plain", "S256"}},
			{"grant_types_supported", []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"}},
		}
	},
}
