package middleware

import (
	"net/http"
	"net/url"
	"strings"
)

// bearerFromHeader reads an Authorization header value (RFC 6750 §2.1):
// the scheme "Bearer" in any case, one or more spaces, then a b64token and
// nothing else. isBearer is false when the value uses another scheme (Basic,
// Digest...): for a bearer-protected resource that is no credentials at all.
// A Bearer value with a missing or invalid token gives ReasonMalformedHeader.
// Bearer values longer than max plus room for the scheme are refused before
// they are scanned.
func bearerFromHeader(v string, max int) (token string, isBearer bool, reason Reason) {
	token, isBearer, reason = bearerCandidate(v, max)
	if token != "" && !isB64Token(token) {
		return "", true, ReasonMalformedHeader
	}
	return token, isBearer, reason
}

// bearerCandidate is bearerFromHeader without the b64token syntax check of a
// non-empty token, which the Authenticator makes only on a validation-cache
// miss: every cached token passed the stricter compact-form check, and
// skipping a second scan of it keeps a hit cheap.
func bearerCandidate(v string, max int) (token string, isBearer bool, reason Reason) {
	return schemeCandidate(v, "Bearer", max)
}

// schemeCandidate is bearerCandidate for the auth-scheme scheme (Bearer, or
// DPoP, whose credentials have the same syntax: RFC 9449 §7.1).
func schemeCandidate(v, scheme string, max int) (token string, isScheme bool, reason Reason) {
	// The auth-scheme is a token ending at the first space or the end; only
	// its first len(scheme)+1 bytes need a look.
	n := len(scheme)
	if len(v) < n || !asciiEqualFold(v[:n], scheme) || len(v) > n && v[n] != ' ' {
		return "", false, ""
	}
	if len(v) > max+maxSchemeOverhead {
		return "", true, ReasonTokenTooLarge
	}
	i := n
	for i < len(v) && v[i] == ' ' {
		i++
	}
	token = v[i:]
	if token == "" {
		return "", true, ReasonMalformedHeader
	}
	if len(token) > max {
		return "", true, ReasonTokenTooLarge
	}
	return token, true, ""
}

// maxSchemeOverhead is how many bytes beyond the token an Authorization value
// may have ("Bearer" or "DPoP" and its spaces).
const maxSchemeOverhead = 64

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for i < len(s) {
		if k := tokenClass[s[i]]; k == cOther || k == cPad {
			break
		}
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// source says where a token was found.
type source uint8

const (
	fromNone source = iota
	fromHeader
	fromDPoP // Authorization: DPoP, read only with a DPoP verifier
	fromQuery
	fromCookie
)

// extract finds the one token of r. It returns fromNone with no reason when
// r carries no bearer credentials. A token from the Authorization header has
// not had its b64token syntax checked yet (see bearerCandidate).
func (a *Authenticator) extract(r *http.Request) (string, source, Reason) {
	max := a.maxSize
	var token string
	src := fromNone
	switch hv := r.Header["Authorization"]; len(hv) {
	case 0:
	case 1:
		t, isBearer, reason := bearerCandidate(hv[0], max)
		if reason != "" {
			return "", fromHeader, reason
		}
		if isBearer {
			token, src = t, fromHeader
		} else if a.dpop != nil {
			t, isDPoP, reason := schemeCandidate(hv[0], "DPoP", max)
			if reason != "" {
				return "", fromDPoP, reason
			}
			if isDPoP {
				token, src = t, fromDPoP
			}
		}
	default:
		return "", fromHeader, ReasonMultipleHeaders
	}
	if a.queryParam != "" && r.URL != nil && r.URL.RawQuery != "" {
		if len(r.URL.RawQuery) > 4*max+len(a.queryParam)+1024 {
			return "", fromQuery, ReasonTokenTooLarge
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return "", fromQuery, ReasonMalformedHeader
		}
		if vs, ok := q[a.queryParam]; ok {
			if src != fromNone || len(vs) != 1 {
				return "", fromQuery, ReasonMultipleTokens
			}
			if len(vs[0]) > max {
				return "", fromQuery, ReasonTokenTooLarge
			}
			if !isB64Token(vs[0]) {
				return "", fromQuery, ReasonMalformedHeader
			}
			token, src = vs[0], fromQuery
		}
	}
	if a.cookie != "" {
		cs := r.CookiesNamed(a.cookie)
		if len(cs) > 0 {
			if src != fromNone || len(cs) != 1 {
				return "", fromCookie, ReasonMultipleTokens
			}
			v := cs[0].Value
			if len(v) > max {
				return "", fromCookie, ReasonTokenTooLarge
			}
			if !isB64Token(v) {
				return "", fromCookie, ReasonMalformedHeader
			}
			if !a.csrfOK(r) {
				return "", fromCookie, ReasonCSRF
			}
			token, src = v, fromCookie
		}
	}
	// One method per request (RFC 6750 §2): a token found anywhere plus the
	// standard access_token query parameter is refused, whether query
	// tokens are read or not (a configured QueryParam was checked above).
	if src != fromNone && r.URL != nil && r.URL.RawQuery != "" &&
		!(src == fromQuery && a.queryParam == accessTokenParam) && queryHas(r.URL.RawQuery, accessTokenParam) {
		return "", fromQuery, ReasonMultipleTokens
	}
	return token, src, ""
}

// accessTokenParam is the query parameter of RFC 6750 §2.3.
const accessTokenParam = "access_token"

// queryHas reports whether the raw query has a parameter named name (after
// unescaping, as url.ParseQuery reads it). It allocates only for a name
// with escapes.
func queryHas(raw, name string) bool {
	if !strings.Contains(raw, name) && strings.IndexByte(raw, '%') < 0 {
		return false
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, _, _ := strings.Cut(pair, "=")
		if key == name {
			return true
		}
		if strings.ContainsAny(key, "%+") {
			if k, err := url.QueryUnescape(key); err == nil && k == name {
				return true
			}
		}
	}
	return false
}

// csrfOK is the CSRF defence of cookie tokens: safe methods pass; unsafe
// ones need an Origin header equal to one of CSRFOrigins or the CSRFHeader
// present.
func (a *Authenticator) csrfOK(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, "":
		return true
	}
	if a.csrfHeader != "" && r.Header.Get(a.csrfHeader) != "" {
		return true
	}
	if origins := r.Header["Origin"]; len(origins) == 1 {
		for _, o := range a.csrfOrigins {
			if origins[0] == o {
				return true
			}
		}
	}
	return false
}

// Byte classes of the token syntaxes.
const (
	cOther  uint8 = iota
	cB64URL       // A-Z a-z 0-9 - _
	cDot          // .
	cStd          // + /
	cPad          // =
	cTilde        // ~
)

// tokenClass classifies every byte for the b64token and compact-form scans.
// It is a read-only lookup table.
var tokenClass = [256]uint8{
	'a': cB64URL, 'b': cB64URL, 'c': cB64URL, 'd': cB64URL, 'e': cB64URL, 'f': cB64URL, 'g': cB64URL,
	'h': cB64URL, 'i': cB64URL, 'j': cB64URL, 'k': cB64URL, 'l': cB64URL, 'm': cB64URL, 'n': cB64URL,
	'o': cB64URL, 'p': cB64URL, 'q': cB64URL, 'r': cB64URL, 's': cB64URL, 't': cB64URL, 'u': cB64URL,
	'v': cB64URL, 'w': cB64URL, 'x': cB64URL, 'y': cB64URL, 'z': cB64URL, 'A': cB64URL, 'B': cB64URL,
	'C': cB64URL, 'D': cB64URL, 'E': cB64URL, 'F': cB64URL, 'G': cB64URL, 'H': cB64URL, 'I': cB64URL,
	'J': cB64URL, 'K': cB64URL, 'L': cB64URL, 'M': cB64URL, 'N': cB64URL, 'O': cB64URL, 'P': cB64URL,
	'Q': cB64URL, 'R': cB64URL, 'S': cB64URL, 'T': cB64URL, 'U': cB64URL, 'V': cB64URL, 'W': cB64URL,
	'X': cB64URL, 'Y': cB64URL, 'Z': cB64URL, '0': cB64URL, '1': cB64URL, '2': cB64URL, '3': cB64URL,
	'4': cB64URL, '5': cB64URL, '6': cB64URL, '7': cB64URL, '8': cB64URL, '9': cB64URL, '-': cB64URL,
	'_': cB64URL, '.': cDot, '+': cStd, '/': cStd, '=': cPad, '~': cTilde,
}
