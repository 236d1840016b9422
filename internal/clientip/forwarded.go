package clientip

import (
	"net/http"
	"strings"
)

// Forwarded returns the scheme and host of the request as the client made
// it, as reported by the proxy that sent req, and whether req came straight
// from a trusted proxy (FromTrustedProxy); from any other peer it returns
// ("", "", false) and the headers are never read.
//
// X-Forwarded-Proto and X-Forwarded-Host are used when either is present;
// the RFC 7239 Forwarded header's proto= and host= only when neither is.
// Of each, only the right-most value of the last line is read: the one the
// trusted proxy next to us wrote (a value to its left may come from the
// client). A value not reported is "". Values are returned as sent,
// unvalidated: the caller checks them.
func (r *Resolver) Forwarded(req *http.Request) (scheme, host string, trusted bool) {
	if !r.FromTrustedProxy(req) {
		return "", "", false
	}
	xfp, xfh := req.Header["X-Forwarded-Proto"], req.Header["X-Forwarded-Host"]
	if len(xfp) > 0 || len(xfh) > 0 {
		if len(xfp) > 0 {
			scheme, _ = lastMember(xfp[len(xfp)-1])
		}
		if len(xfh) > 0 {
			host, _ = lastMember(xfh[len(xfh)-1])
		}
		return scheme, host, true
	}
	if fwd := req.Header["Forwarded"]; len(fwd) > 0 {
		elem, _ := lastMember(fwd[len(fwd)-1])
		scheme, _ = forwardedParam(elem, "proto")
		host, _ = forwardedParam(elem, "host")
	}
	return scheme, host, true
}

// forwardedParam returns the unquoted value of the name= pair of a
// Forwarded element ("for=1.2.3.4;proto=https"), false when there is none or
// its value is quoted with escapes (which no node, scheme or host needs).
func forwardedParam(elem, name string) (string, bool) {
	for len(elem) > 0 {
		var pair string
		if j := strings.IndexByte(elem, ';'); j >= 0 {
			pair, elem = elem[:j], elem[j+1:]
		} else {
			pair, elem = elem, ""
		}
		pair = trimOWS(pair)
		if len(pair) <= len(name) || pair[len(name)] != '=' || !strings.EqualFold(pair[:len(name)], name) {
			continue
		}
		val := pair[len(name)+1:]
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
			if strings.IndexByte(val, '\\') >= 0 || strings.IndexByte(val, '"') >= 0 {
				return "", false
			}
		} else if strings.IndexByte(val, '"') >= 0 {
			return "", false
		}
		return val, true
	}
	return "", false
}
