package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// errNotSupported answers every flow this provider does not offer: it has no
// users, so no authorization code, refresh, device or token-exchange flow.
var errNotSupported = errors.New("oidcprovider: not supported by this test provider")

// errBadClient is deliberately a plain error: op turns it into invalid_client
// (a server_error would answer 500).
var errBadClient = errors.New("oidcprovider: unknown client or wrong secret")

// storage is the whole of the provider's state, in memory: one confidential
// client that may only use client_credentials, and the key ring.
type storage struct {
	client   *client
	secret   string
	audience []string
	scopes   []string // the scopes the client may ask for; also its default
	lifetime time.Duration
	keys     *keyRing
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// tokenRequest is what ClientCredentialsTokenRequest hands back to op; op
// reads the JWT's sub, aud and (through GetPrivateClaimsFromRequest) scope
// from it.
type tokenRequest struct {
	subject  string
	audience []string
	scopes   []string
}

func (t *tokenRequest) GetSubject() string    { return t.subject }
func (t *tokenRequest) GetAudience() []string { return t.audience }
func (t *tokenRequest) GetScopes() []string   { return t.scopes }

// --- ClientCredentialsStorage ---

func (s *storage) ClientCredentials(_ context.Context, clientID, clientSecret string) (op.Client, error) {
	if err := s.checkSecret(clientID, clientSecret); err != nil {
		return nil, err
	}
	return s.client, nil
}

func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	granted := s.scopes
	if len(scopes) > 0 {
		for _, sc := range scopes {
			if !slices.Contains(s.scopes, sc) {
				return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", sc)
			}
		}
		granted = scopes
	}
	return &tokenRequest{
		subject:  clientID,
		audience: slices.Clone(s.audience),
		scopes:   slices.Clone(granted),
	}, nil
}

func (s *storage) checkSecret(clientID, clientSecret string) error {
	idOK := subtle.ConstantTimeCompare([]byte(clientID), []byte(s.client.id))
	secretOK := subtle.ConstantTimeCompare([]byte(clientSecret), []byte(s.secret))
	if idOK&secretOK != 1 {
		return errBadClient
	}
	return nil
}

// --- AuthStorage: only the token and key parts are real ---

func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, err
	}
	return hex.EncodeToString(b[:]), time.Now().UTC().Add(s.lifetime), nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.keys.signing(), nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return s.keys.keySet(), nil
}

// GetPrivateClaimsFromRequest adds the granted scopes as the RFC 9068 "scope"
// claim. op's AccessTokenClaims has a scope field but CreateJWT never fills
// it, so without this the JWT would carry no scope at all.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	if len(req.GetScopes()) == 0 {
		return nil, nil
	}
	return map[string]any{"scope": strings.Join(req.GetScopes(), " ")}, nil
}

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errNotSupported
}

func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotSupported
}

func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotSupported
}

func (s *storage) SaveAuthCode(context.Context, string, string) error { return errNotSupported }

func (s *storage) DeleteAuthRequest(context.Context, string) error { return errNotSupported }

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNotSupported
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNotSupported
}

func (s *storage) TerminateSession(context.Context, string, string) error { return errNotSupported }

func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrRequestNotSupported().WithDescription("revocation is not supported by this test provider")
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// --- OPStorage ---

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if subtle.ConstantTimeCompare([]byte(clientID), []byte(s.client.id)) != 1 {
		return nil, errBadClient
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	return s.checkSecret(clientID, clientSecret)
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errNotSupported
}

// SetIntrospectionFromToken fails, so the introspection endpoint answers
// {"active":false}: this provider keeps no record of the tokens it issued.
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errNotSupported
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID has no keys to give, so the JWT-bearer grant and
// private_key_jwt client authentication, which op always routes, always fail.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotSupported
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotSupported
}

func (s *storage) Health(context.Context) error { return nil }

// client is the single confidential client; its access tokens are JWTs.
type client struct {
	id string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return nil }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (c *client) LoginURL(string) string               { return "" }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return 0 }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
