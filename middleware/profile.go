package middleware

import (
	"fmt"
	"strings"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// Profile says what an issuer's access tokens look like: the header typ
// values accepted, where the audience is, where roles and scopes are read
// from, a claim or two that tell an access token from an ID token, and the
// size cap. Everything not named here is checked as for any token (alg,
// kid, signature, exp, nbf, iat, iss, sub, strict JSON...): a profile only
// says where a provider puts things, it relaxes nothing else.
//
// The ready-made profiles are functions returning a fresh Profile, so a
// caller may adjust one without changing it for anybody else:
//
//	p := middleware.ProfileOkta()
//	p.Roles = append(p.Roles, middleware.ClaimSource{Path: []string{"groups"}, String: middleware.StringOne})
//
// A nil *Profile in Config or TrustedIssuer means ProfileRFC9068.
type Profile struct {
	// Name names the profile in errors ("entra-id").
	Name string
	// Typ lists the header typ values accepted, compared ignoring ASCII
	// case; "" in the list accepts a token without typ (Okta, Cognito).
	// An empty list means RFC 9068's "at+jwt" and "application/at+jwt".
	// Config.AllowAnyTyp still turns the check off.
	Typ []string
	// AudienceClaim names the claim that must equal (or, for "aud", contain)
	// the configured audience. "" means "aud" (a string or an array of
	// strings). Any other name must be a string claim equal to the
	// audience: Cognito access tokens carry no aud, and "client_id" is
	// their audience.
	AudienceClaim string
	// Require lists string claims that must be present with exactly this
	// value, such as Cognito's token_use "access" or Keycloak's typ
	// "Bearer": what tells the provider's access tokens from its ID tokens
	// when both are signed by the same keys for the same audience.
	Require []RequiredClaim
	// Roles and Scopes say where Claims.Roles and Claims.Scopes are read
	// from: every source in order, their values appended. Empty means none
	// (the claims then have no roles, or no scopes).
	Roles, Scopes []ClaimSource
	// MaxTokenSize is the largest token of this issuer, in bytes. Zero
	// means DefaultMaxTokenSize (8 KiB). Config.MaxTokenSize, when set,
	// overrides it.
	MaxTokenSize int
}

// ClaimSource is a claim holding roles or scopes.
type ClaimSource struct {
	// Path is the claim's name ("scp"), or the names of nested objects and
	// then the member ("realm_access", "roles"). A missing member gives
	// nothing; a member of another type (a number, an object where an array
	// is expected, a string where String is StringRefused) refuses the
	// token with ReasonClaimInvalid.
	Path []string
	// String says how a JSON string is read. The zero value,
	// StringRefused, accepts only an array of strings.
	String StringForm
}

// RequiredClaim is a top-level string claim that must equal Value.
type RequiredClaim struct {
	Name, Value string
}

// StringForm says how a ClaimSource reads a claim that is a string rather
// than an array of strings.
type StringForm = strictjson.StringForm

// The forms of a string claim.
const (
	// StringRefused: only an array is accepted (the default).
	StringRefused = strictjson.StringRefused
	// StringWords: a string holds space-separated values, as OAuth's scope
	// (RFC 6749 §3.3), Entra's scp and Cognito's scope do.
	StringWords = strictjson.StringWords
	// StringOne: a string is one value (a provider that writes "admin"
	// rather than ["admin"] for a user with a single role).
	StringOne = strictjson.StringOne
)

// DefaultEntraMaxTokenSize is ProfileEntraID's size cap: Entra tokens carry
// up to 200 group ids before switching to an overage claim, which makes them
// about 11 KB.
const DefaultEntraMaxTokenSize = 16 << 10

func src(form StringForm, path ...string) ClaimSource {
	return ClaimSource{Path: path, String: form}
}

// ProfileRFC9068 is the default: RFC 9068 JWT access tokens, typ "at+jwt"
// or "application/at+jwt", aud required, roles from "roles" (an array of
// strings, RFC 9068 §2.2.3.1 / RFC 7643), scopes from "scope" (a
// space-separated string, or an array), 8 KiB.
func ProfileRFC9068() *Profile {
	return &Profile{
		Name:   "rfc9068",
		Typ:    []string{"at+jwt", "application/at+jwt"},
		Roles:  []ClaimSource{src(StringRefused, "roles")},
		Scopes: []ClaimSource{src(StringWords, "scope")},
	}
}

// ProfileAuth0 reads Auth0 access tokens for an API: typ "JWT" (or
// "at+jwt" with the RFC 9068 token dialect), aud the API identifier (a
// string, or an array with the userinfo URL beside it), scopes from "scope"
// (space-separated), roles from "permissions" (an array: what RBAC with "Add
// Permissions in the Access Token" grants the user, kept apart from the
// scopes the client was granted, so RequireRoles("read:messages") checks a
// permission and RequireScopes a consented scope). Auth0's issuer ends with
// a "/": configure it exactly ("https://tenant.auth0.com/").
func ProfileAuth0() *Profile {
	return &Profile{
		Name:   "auth0",
		Typ:    []string{"JWT", "at+jwt", "application/at+jwt"},
		Roles:  []ClaimSource{src(StringRefused, "permissions")},
		Scopes: []ClaimSource{src(StringWords, "scope")},
	}
}

// ProfileEntraID reads Microsoft Entra ID v2.0 access tokens: typ "JWT",
// aud the API's application (client) id, roles from "roles" (an array: app
// roles), scopes from "scp" (space-separated: delegated permissions), and a
// 16 KiB cap (DefaultEntraMaxTokenSize). The issuer is
// https://login.microsoftonline.com/{tenant-id}/v2.0; for several tenants use
// Config.IssuerResolver.
func ProfileEntraID() *Profile {
	return &Profile{
		Name:         "entra-id",
		Typ:          []string{"JWT"},
		Roles:        []ClaimSource{src(StringRefused, "roles")},
		Scopes:       []ClaimSource{src(StringWords, "scp")},
		MaxTokenSize: DefaultEntraMaxTokenSize,
	}
}

// ProfileOkta reads access tokens of an Okta custom authorization server:
// no typ, aud the authorization server's audience ("api://default"),
// scopes from "scp" (an array), roles from "groups" (an array, present when
// a groups claim is configured on the server).
func ProfileOkta() *Profile {
	return &Profile{
		Name:   "okta",
		Typ:    []string{""},
		Roles:  []ClaimSource{src(StringRefused, "groups")},
		Scopes: []ClaimSource{src(StringRefused, "scp")},
	}
}

// ProfileKeycloak reads Keycloak access tokens: typ "JWT" (or "at+jwt"
// where the client is set to RFC 9068 tokens), the claim typ "Bearer"
// (Keycloak's ID tokens say "ID"), aud containing the audience (an audience
// mapper adds the API client), roles from "realm_access.roles" and
// "resource_access.<client>.roles" (arrays; client is the Keycloak client
// whose roles count, often the API's own, "" for realm roles only), scopes
// from "scope" (space-separated).
func ProfileKeycloak(client string) *Profile {
	p := &Profile{
		Name:    "keycloak",
		Typ:     []string{"JWT", "at+jwt", "application/at+jwt"},
		Require: []RequiredClaim{{Name: "typ", Value: "Bearer"}},
		Roles:   []ClaimSource{src(StringRefused, "realm_access", "roles")},
		Scopes:  []ClaimSource{src(StringWords, "scope")},
	}
	if client != "" {
		p.Roles = append(p.Roles, src(StringRefused, "resource_access", client, "roles"))
	}
	return p
}

// ProfileCognito reads AWS Cognito user pool access tokens: no typ, no aud
// (the audience is "client_id", the app client id), token_use "access"
// required (Cognito's ID tokens, signed by the same pool, say "id"), roles
// from "cognito:groups" (an array), scopes from "scope" (space-separated).
func ProfileCognito() *Profile {
	return &Profile{
		Name:          "cognito",
		Typ:           []string{""},
		AudienceClaim: "client_id",
		Require:       []RequiredClaim{{Name: "token_use", Value: "access"}},
		Roles:         []ClaimSource{src(StringRefused, "cognito:groups")},
		Scopes:        []ClaimSource{src(StringWords, "scope")},
	}
}

// ProfileGoogle reads Google-signed ID tokens used as bearer tokens, since
// Google's own access tokens are opaque and cannot be verified locally: the
// identity tokens of Google sign-in and of service-to-service calls (the
// metadata server's identity endpoint, IAM generateIdToken, Cloud Run and
// IAP callers). It checks what the gate checks for any token (signature by
// Google's published keys, iss "https://accounts.google.com", exp, iat,
// sub) with typ "JWT" or none, and aud equal to the configured audience: the
// OAuth client id for sign-in tokens, the target audience (often the
// service URL) for service identity tokens. No roles or scopes are read
// (those tokens carry none); email, email_verified, azp and hd are not
// checked: add a Config.Validators function that reads them with
// Claims.Get when the caller's identity matters. Tokens saying iss
// "accounts.google.com" without the scheme need a second TrustedIssuer.
func ProfileGoogle() *Profile {
	return &Profile{
		Name: "google",
		Typ:  []string{"JWT", ""},
	}
}

// profile is a Profile checked and copied by New.
type profile struct {
	name          string
	typ           []string
	anyTyp        bool
	audClaim      string // "" for aud
	audMember     int    // audClaim's index in names
	require       []required
	roles, scopes []claimSource
	names         []string // the top-level members extract reads
	// standard: roles and scopes are read exactly as strictjson.ParseClaims
	// reads them (RFC 9068), so the claims decoder fills them in its one pass.
	standard bool
	maxSize  int
}

// claimSource is a ClaimSource with the index of its top-level member in
// profile.names.
type claimSource struct {
	ClaimSource
	member int
}

// required is a RequiredClaim with the index of its member in names.
type required struct {
	RequiredClaim
	member int
}

// compileProfile checks p (nil: ProfileRFC9068) and copies it; field names
// the configuration field in errors.
func compileProfile(p *Profile, field string, anyTyp bool) (*profile, error) {
	if p == nil {
		p = ProfileRFC9068()
	}
	c := &profile{name: p.Name, anyTyp: anyTyp, audClaim: p.AudienceClaim}
	if c.audClaim == "aud" {
		c.audClaim = ""
	}
	if len(p.Typ) == 0 {
		c.typ = []string{"at+jwt", "application/at+jwt"}
	} else {
		c.typ = append([]string(nil), p.Typ...)
	}
	for _, rc := range p.Require {
		if rc.Name == "" {
			return nil, fmt.Errorf("apiguard: %s.Require has a claim without a name", field)
		}
		if isRegistered(rc.Name) {
			return nil, fmt.Errorf("apiguard: %s.Require names %q, a claim the gate already checks", field, rc.Name)
		}
		c.require = append(c.require, required{RequiredClaim: rc})
	}
	if isRegistered(c.audClaim) && c.audClaim != "" {
		return nil, fmt.Errorf("apiguard: %s.AudienceClaim %q is a registered claim other than aud", field, c.audClaim)
	}
	var err error
	if c.roles, err = copySources(p.Roles, field+".Roles"); err != nil {
		return nil, err
	}
	if c.scopes, err = copySources(p.Scopes, field+".Scopes"); err != nil {
		return nil, err
	}
	c.standard = len(c.roles) == 1 && len(c.roles[0].Path) == 1 && c.roles[0].Path[0] == "roles" && c.roles[0].String == StringRefused &&
		len(c.scopes) == 1 && len(c.scopes[0].Path) == 1 && c.scopes[0].Path[0] == "scope" && c.scopes[0].String == StringWords
	if c.standard { // the claims decoder reads them
		c.roles, c.scopes = nil, nil
	}
	for i := range c.roles {
		c.roles[i].member = c.index(c.roles[i].Path[0])
	}
	for i := range c.scopes {
		c.scopes[i].member = c.index(c.scopes[i].Path[0])
	}
	if c.audClaim != "" {
		c.audMember = c.index(c.audClaim)
	}
	for i := range c.require {
		c.require[i].member = c.index(c.require[i].Name)
	}
	if len(c.names) > maxSelected {
		return nil, fmt.Errorf("apiguard: %s reads %d claims, more than %d", field, len(c.names), maxSelected)
	}
	switch {
	case p.MaxTokenSize < 0:
		return nil, fmt.Errorf("apiguard: %s.MaxTokenSize is negative (%d)", field, p.MaxTokenSize)
	case p.MaxTokenSize == 0:
		c.maxSize = DefaultMaxTokenSize
	case p.MaxTokenSize > strictjson.MaxSize:
		return nil, fmt.Errorf("apiguard: %s.MaxTokenSize %d is above %d", field, p.MaxTokenSize, strictjson.MaxSize)
	default:
		c.maxSize = p.MaxTokenSize
	}
	return c, nil
}

func copySources(in []ClaimSource, field string) ([]claimSource, error) {
	var out []claimSource
	for i, s := range in {
		if len(s.Path) == 0 {
			return nil, fmt.Errorf("apiguard: %s[%d].Path is empty", field, i)
		}
		if isRegistered(s.Path[0]) {
			return nil, fmt.Errorf("apiguard: %s[%d].Path starts with %q, a claim the gate checks itself", field, i, s.Path[0])
		}
		for _, n := range s.Path {
			if n == "" {
				return nil, fmt.Errorf("apiguard: %s[%d].Path %q has an empty name", field, i, strings.Join(s.Path, "."))
			}
		}
		if s.String > StringOne {
			return nil, fmt.Errorf("apiguard: %s[%d].String is %d, not a StringForm", field, i, s.String)
		}
		out = append(out, claimSource{ClaimSource: ClaimSource{Path: append([]string(nil), s.Path...), String: s.String}})
	}
	return out, nil
}

// isRegistered reports whether name is a claim the gate checks itself.
func isRegistered(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		return true
	}
	return false
}

// typOK reports whether the header's typ is one the profile accepts.
func (p *profile) typOK(typ string) bool {
	if p.anyTyp {
		return true
	}
	for _, t := range p.typ {
		if asciiEqualFold(typ, t) {
			return true
		}
	}
	return false
}

// maxSelected is how many top-level members a profile may read (roles and
// scopes sources, the audience claim and the required claims).
const maxSelected = 16

// extract fills c.Roles and c.Scopes from the members the claims decoder
// kept (vals, the raw text of p.names, read in the decoder's one pass), and
// checks the audience claim (when not aud) and the required claims; it only
// walks into those members. It runs on cache misses only, after the
// signature and the strict claims decoder.
func (p *profile) extract(c *Claims, vals []string, audience []string) Reason {
	if len(p.names) == 0 {
		return ""
	}
	var err error
	roles, scopes := c.roleBuf[:0], c.scopeBuf[:0]
	for _, s := range p.roles {
		if roles, err = strictjson.ValueStrings(vals[s.member], s.Path[1:], s.String, roles); err != nil {
			return ReasonClaimInvalid
		}
	}
	for _, s := range p.scopes {
		if scopes, err = strictjson.ValueStrings(vals[s.member], s.Path[1:], s.String, scopes); err != nil {
			return ReasonClaimInvalid
		}
	}
	if len(roles) > 0 {
		c.Roles = roles[:len(roles):len(roles)]
	}
	if len(scopes) > 0 {
		c.Scopes = scopes[:len(scopes):len(scopes)]
	}
	if p.audClaim != "" {
		v, ok, err := strictjson.ValueString(vals[p.audMember])
		if err != nil {
			return ReasonClaimInvalid
		}
		if !ok || !contains(audience, v) {
			return ReasonAudMismatch
		}
	}
	for _, rc := range p.require {
		v, ok, err := strictjson.ValueString(vals[rc.member])
		if err != nil || !ok || v != rc.Value {
			return ReasonClaimInvalid
		}
	}
	return ""
}

// index returns the position of name in p.names, adding it.
func (p *profile) index(name string) int {
	for i, n := range p.names {
		if n == name {
			return i
		}
	}
	p.names = append(p.names, name)
	return len(p.names) - 1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
