package middleware

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/textproto"

	"github.com/apiguard/apiguard/internal/clientip"
)

// DefaultCertHeader is MTLSConfig.CertHeader's default, RFC 9440's header.
const DefaultCertHeader = "Client-Cert"

// MaxCertHeaderSize bounds the certificate header read from a trusted proxy,
// in bytes (a certificate of 12 KiB, base64 encoded).
const MaxCertHeaderSize = 16 << 10

// MTLSConfig says where the client certificate of a certificate-bound token
// (RFC 8705 §3, cnf["x5t#S256"]) is read when TLS ends at a proxy. Without
// it (Config.MTLS nil) the certificate is read only from the request's own
// TLS connection (r.TLS.PeerCertificates[0]); a certificate-bound token is
// checked either way.
type MTLSConfig struct {
	// TrustedProxies are the CIDRs (or addresses) of the proxies that end
	// TLS and pass the client's certificate in CertHeader. A request from
	// one of them is judged by that header alone (never by the proxy's own
	// certificate); from any other peer, the header is ignored. Default
	// none: the header is never read.
	TrustedProxies []string
	// CertHeader is the header carrying the client's certificate, as RFC
	// 9440 defines Client-Cert: an RFC 8941 byte sequence, the DER in
	// base64 between colons (":MIIB...:"). Default DefaultCertHeader.
	CertHeader string
}

// mtls is the compiled MTLSConfig.
type mtls struct {
	proxies *clientip.Resolver
	header  string // canonical
}

func newMTLS(c *MTLSConfig) (*mtls, error) {
	p, err := clientip.New(c.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("apiguard: Config.MTLS.TrustedProxies: %w", err)
	}
	h := c.CertHeader
	if h == "" {
		h = DefaultCertHeader
	}
	if !isToken(h) {
		return nil, fmt.Errorf("apiguard: Config.MTLS.CertHeader %q is not a header name", c.CertHeader)
	}
	return &mtls{proxies: p, header: textproto.CanonicalMIMEHeaderKey(h)}, nil
}

// checkCertificate checks that the request comes with the certificate whose
// SHA-256 thumbprint (base64url, RFC 8705 §3.1) is want.
func (a *Authenticator) checkCertificate(r *http.Request, want string) *Error {
	der, reason := a.clientCertificate(r)
	if reason != "" {
		return newError(reason, nil)
	}
	sum := sha256.Sum256(der)
	var got [43]byte // base64url of 32 bytes, unpadded
	base64.RawURLEncoding.Encode(got[:], sum[:])
	if len(want) != len(got) || subtle.ConstantTimeCompare(got[:], []byte(want)) != 1 {
		return newError(ReasonCertMismatch, nil)
	}
	return nil
}

// clientCertificate returns the DER of the request's client certificate:
// from a trusted proxy, its certificate header, and otherwise the TLS
// connection's first peer certificate.
func (a *Authenticator) clientCertificate(r *http.Request) ([]byte, Reason) {
	if a.mtls != nil && a.mtls.proxies.FromTrustedProxy(r) {
		vs := r.Header[a.mtls.header]
		switch len(vs) {
		case 0:
			return nil, ReasonCertMissing
		case 1:
		default:
			return nil, ReasonCertHeader
		}
		der, ok := parseByteSequence(vs[0])
		if !ok {
			return nil, ReasonCertHeader
		}
		return der, ""
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, ReasonCertMissing
	}
	return r.TLS.PeerCertificates[0].Raw, ""
}

// parseByteSequence decodes an RFC 8941 §3.3.5 byte sequence,
// ":<base64>:" with optional surrounding spaces, refusing anything larger
// than MaxCertHeaderSize, empty, or not canonical base64 (RFC 4648 §4 with
// padding).
func parseByteSequence(v string) ([]byte, bool) {
	if len(v) > MaxCertHeaderSize {
		return nil, false
	}
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if len(v) < 3 || v[0] != ':' || v[len(v)-1] != ':' {
		return nil, false
	}
	der, err := base64.StdEncoding.Strict().DecodeString(v[1 : len(v)-1])
	if err != nil || len(der) == 0 {
		return nil, false
	}
	return der, true
}
