package middleware

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apiguard/apiguard/internal/clientip"
)

// WellKnownResourcePath is the well-known path of OAuth 2.0 protected-resource
// metadata (RFC 9728 §3).
const WellKnownResourcePath = "/.well-known/oauth-protected-resource"

// DefaultMetadataMaxAge is how long clients may cache the metadata document
// (ResourceMetadata.MaxAge's default).
const DefaultMetadataMaxAge = time.Hour

// ResourceMetadata is what the protected resource publishes about itself
// (RFC 9728 §2) beside what the Authenticator knows from its own
// configuration, which MetadataHandler adds: resource (Config.Resource),
// dpop_signing_alg_values_supported (the DPoP verifier's algorithms),
// dpop_bound_access_tokens_required (Config.DPoPRequired) and
// tls_client_certificate_bound_access_tokens (true when Config.MTLS is set).
// Every field is optional; URLs must be absolute https URLs (http on a
// loopback host).
type ResourceMetadata struct {
	// AuthorizationServers are the issuer identifiers (RFC 8414) of the
	// authorization servers that issue tokens for this resource.
	AuthorizationServers []string
	// JWKSURI is the resource's own JWK Set URL (for signed responses),
	// not the authorization server's.
	JWKSURI string
	// ScopesSupported are the scopes used in authorization requests for
	// this resource.
	ScopesSupported []string
	// BearerMethodsSupported are the ways a token is accepted: "header",
	// and "query" when Config.QueryParam is "access_token" (RFC 6750 §2).
	// Default: exactly those the Authenticator reads. "body" is never read
	// and refused here, as is "query" without that QueryParam.
	BearerMethodsSupported []string
	// ResourceSigningAlgValuesSupported are the algorithms the resource
	// signs its responses with.
	ResourceSigningAlgValuesSupported []string
	// ResourceName is a human-readable name of the resource.
	ResourceName string
	// ResourceDocumentation, ResourcePolicyURI and ResourceTOSURI are
	// URLs of the developer documentation, the data policy and the terms
	// of service.
	ResourceDocumentation, ResourcePolicyURI, ResourceTOSURI string
	// AuthorizationDetailsTypesSupported are the RFC 9396
	// authorization_details types the resource understands.
	AuthorizationDetailsTypesSupported []string
	// MaxAge is how long clients may cache the document (Cache-Control:
	// public, max-age=...). Zero means DefaultMetadataMaxAge (1 h).
	MaxAge time.Duration
}

// metadataDoc is the JSON document, members in RFC 9728 §2's order.
type metadataDoc struct {
	Resource                              string   `json:"resource"`
	AuthorizationServers                  []string `json:"authorization_servers,omitempty"`
	JWKSURI                               string   `json:"jwks_uri,omitempty"`
	ScopesSupported                       []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported                []string `json:"bearer_methods_supported"`
	ResourceSigningAlgValuesSupported     []string `json:"resource_signing_alg_values_supported,omitempty"`
	ResourceName                          string   `json:"resource_name,omitempty"`
	ResourceDocumentation                 string   `json:"resource_documentation,omitempty"`
	ResourcePolicyURI                     string   `json:"resource_policy_uri,omitempty"`
	ResourceTOSURI                        string   `json:"resource_tos_uri,omitempty"`
	TLSClientCertificateBoundAccessTokens bool     `json:"tls_client_certificate_bound_access_tokens"`
	AuthorizationDetailsTypesSupported    []string `json:"authorization_details_types_supported,omitempty"`
	DPoPSigningAlgValuesSupported         []string `json:"dpop_signing_alg_values_supported,omitempty"`
	DPoPBoundAccessTokensRequired         bool     `json:"dpop_bound_access_tokens_required"`
}

// ResourceMetadataPath returns the path at which the metadata of the
// resource identified by resource is published (RFC 9728 §3.1): the
// well-known path inserted between the host and the resource's path, the
// slash after the host dropped ("https://api.example/v1/orders" gives
// "/.well-known/oauth-protected-resource/v1/orders", "https://api.example"
// and "https://api.example/" give "/.well-known/oauth-protected-resource").
// It returns "" when resource is not an absolute URL.
func ResourceMetadataPath(resource string) string {
	u, err := url.Parse(resource)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	p := u.EscapedPath()
	if p == "/" {
		p = ""
	}
	return WellKnownResourcePath + p
}

// setResource validates Config.Resource and Config.ResourceMetadata and
// prepares the document and the resource_metadata URL of the challenges.
func (a *Authenticator) setResource(cfg *Config) error {
	if cfg.Resource == "" {
		if cfg.ResourceMetadata != nil {
			return fmt.Errorf("apiguard: Config.ResourceMetadata is set without Config.Resource")
		}
		return nil
	}
	u, err := url.Parse(cfg.Resource)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.Opaque != "":
		return fmt.Errorf("apiguard: Config.Resource %q is not an absolute URL", redactURL(cfg.Resource))
	case u.Scheme != "https" && !(u.Scheme == "http" && clientip.IsLoopbackHost(u.Hostname())):
		return fmt.Errorf("apiguard: Config.Resource %q is not https (http only on a loopback host)", redactURL(cfg.Resource))
	case u.Fragment != "" || strings.Contains(cfg.Resource, "#"):
		return fmt.Errorf("apiguard: Config.Resource %q has a fragment (RFC 9728 §1.2)", redactURL(cfg.Resource))
	case u.RawQuery != "" || strings.Contains(cfg.Resource, "?"):
		return fmt.Errorf("apiguard: Config.Resource %q has a query, which the well-known path cannot carry", redactURL(cfg.Resource))
	}
	m := cfg.ResourceMetadata
	if m == nil {
		m = &ResourceMetadata{}
	}
	doc := metadataDoc{
		Resource:                              cfg.Resource,
		JWKSURI:                               m.JWKSURI,
		ResourceName:                          m.ResourceName,
		ResourceDocumentation:                 m.ResourceDocumentation,
		ResourcePolicyURI:                     m.ResourcePolicyURI,
		ResourceTOSURI:                        m.ResourceTOSURI,
		TLSClientCertificateBoundAccessTokens: cfg.MTLS != nil,
		DPoPBoundAccessTokensRequired:         cfg.DPoPRequired,
	}
	for i, s := range m.AuthorizationServers {
		if err := checkMetadataURL(s, fmt.Sprintf("AuthorizationServers[%d]", i), true); err != nil {
			return err
		}
	}
	doc.AuthorizationServers = append([]string(nil), m.AuthorizationServers...)
	for _, f := range []struct {
		name string
		v    string
	}{{"JWKSURI", m.JWKSURI}, {"ResourceDocumentation", m.ResourceDocumentation}, {"ResourcePolicyURI", m.ResourcePolicyURI}, {"ResourceTOSURI", m.ResourceTOSURI}} {
		if f.v != "" {
			if err := checkMetadataURL(f.v, f.name, false); err != nil {
				return err
			}
		}
	}
	for i, s := range m.ScopesSupported {
		if s == "" || !quotedStringSafe(s) || strings.Contains(s, " ") {
			return fmt.Errorf("apiguard: Config.ResourceMetadata.ScopesSupported[%d] %q is not a scope token", i, s)
		}
	}
	doc.ScopesSupported = append([]string(nil), m.ScopesSupported...)
	query := a.queryParam == accessTokenParam
	doc.BearerMethodsSupported = []string{"header"}
	if query {
		doc.BearerMethodsSupported = append(doc.BearerMethodsSupported, "query")
	}
	if m.BearerMethodsSupported != nil {
		doc.BearerMethodsSupported = []string{}
		for i, s := range m.BearerMethodsSupported {
			if s != "header" && !(s == "query" && query) {
				return fmt.Errorf("apiguard: Config.ResourceMetadata.BearerMethodsSupported[%d] %q is not a method the Authenticator reads (header, or query with Config.QueryParam %q)", i, s, accessTokenParam)
			}
			doc.BearerMethodsSupported = append(doc.BearerMethodsSupported, s)
		}
	}
	doc.ResourceSigningAlgValuesSupported = append([]string(nil), m.ResourceSigningAlgValuesSupported...)
	doc.AuthorizationDetailsTypesSupported = append([]string(nil), m.AuthorizationDetailsTypesSupported...)
	if a.dpop != nil {
		doc.DPoPSigningAlgValuesSupported = append([]string(nil), a.dpop.Algorithms()...)
	}
	maxAge := m.MaxAge
	switch {
	case maxAge < 0:
		return fmt.Errorf("apiguard: Config.ResourceMetadata.MaxAge is negative (%v)", maxAge)
	case maxAge == 0:
		maxAge = DefaultMetadataMaxAge
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("apiguard: Config.ResourceMetadata: %w", err)
	}
	a.metadata = append(body, '\n')
	a.metadataCache = "public, max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	mu := url.URL{Scheme: u.Scheme, Host: u.Host}
	a.metadataURL = mu.String() + ResourceMetadataPath(cfg.Resource)
	if !quotedStringSafe(a.metadataURL) {
		return fmt.Errorf("apiguard: Config.Resource %q gives a metadata URL that cannot be quoted", redactURL(cfg.Resource))
	}
	return nil
}

// checkMetadataURL checks one URL of ResourceMetadata: absolute, https (http
// on a loopback host), no fragment; issuer identifiers (issuer) no query
// either (RFC 8414 §2).
func checkMetadataURL(s, field string, issuer bool) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.User != nil:
		return fmt.Errorf("apiguard: Config.ResourceMetadata.%s %q is not an absolute URL", field, redactURL(s))
	case u.Scheme != "https" && !(u.Scheme == "http" && clientip.IsLoopbackHost(u.Hostname())):
		return fmt.Errorf("apiguard: Config.ResourceMetadata.%s %q is not https (http only on a loopback host)", field, redactURL(s))
	case strings.Contains(s, "#") || issuer && strings.Contains(s, "?"):
		return fmt.Errorf("apiguard: Config.ResourceMetadata.%s %q has a fragment or, for an issuer, a query", field, redactURL(s))
	}
	return nil
}

// ResourceMetadataURL returns the URL of the Authenticator's metadata
// document (Config.Resource's scheme and host, and ResourceMetadataPath),
// which every 401 challenge and 403 insufficient_scope names in
// resource_metadata; "" without Config.Resource.
func (a *Authenticator) ResourceMetadataURL() string { return a.metadataURL }

// MetadataHandler returns the handler of the protected-resource metadata
// document (RFC 9728 §3.2): mount it at ResourceMetadataPath(Config.Resource)
// (without authentication). It answers GET and HEAD with the JSON document,
// Content-Type: application/json, Cache-Control: public, max-age=... and an
// ETag (If-None-Match answers 304), other methods with 405. Without
// Config.Resource it answers 404.
func (a *Authenticator) MetadataHandler() http.Handler {
	if a.metadata == nil {
		return http.NotFoundHandler()
	}
	doc, cacheControl := a.metadata, a.metadataCache
	etag := `"` + strconv.FormatUint(fnv64(doc), 36) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h["Allow"] = []string{"GET, HEAD"}
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h["Content-Type"] = []string{"application/json"}
		h["Cache-Control"] = []string{cacheControl}
		h["Etag"] = []string{etag}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(doc))
	})
}

// fnv64 is FNV-1a over b: the ETag of a document fixed at construction.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}
