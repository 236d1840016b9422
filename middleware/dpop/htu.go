package dpop

import (
	"net/netip"
	"strconv"
	"strings"
)

// The htu comparison (RFC 9449 §4.3): the proof's htu and the request's URI
// are compared without their query and fragment, after RFC 3986 §6.2.2 and
// §6.2.3 normalisation of each part:
//
//   - scheme: http or https, compared case-insensitively;
//   - host: lower-cased (IDNs are not converted: a client sends the A-label),
//     an IPv6 literal in its canonical text form, the port dropped when it
//     is the scheme's default (80, 443) or empty, and without leading zeros;
//     no userinfo, no percent-encoding, only [A-Za-z0-9._~-] in a name;
//   - path: an empty path is "/", percent-encodings of unreserved characters
//     are decoded and all others upper-cased, and dot segments ("." and "..",
//     also percent-encoded) are removed; any character outside RFC 3986's
//     pchar and "/" refuses the URI (a client percent-encodes it).
//
// Everything else (a trailing dot in the host, "//" in the path, "%2F"
// against "/") stays significant: such URIs name different resources.

// normalizeHTU splits an absolute http(s) URI into its normalised scheme,
// host and path, dropping the query and fragment; ok is false when s is not
// such a URI. The parts are substrings of s whenever s is already normal.
func normalizeHTU(s string) (scheme, host, path string, ok bool) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		if !validTail(s[i:]) {
			return "", "", "", false
		}
		s = s[:i]
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return "", "", "", false
	}
	switch {
	case strings.EqualFold(s[:i], "https"):
		scheme = "https"
	case strings.EqualFold(s[:i], "http"):
		scheme = "http"
	default:
		return "", "", "", false
	}
	rest := s[i+3:]
	auth, p := rest, ""
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		auth, p = rest[:j], rest[j:]
	}
	if host, ok = normalizeHost(auth, scheme); !ok {
		return "", "", "", false
	}
	if path, ok = normalizePath(p); !ok {
		return "", "", "", false
	}
	return scheme, host, path, true
}

// validTail reports whether t, a URI's "?query#fragment" (either may be
// absent), has only the characters RFC 3986 allows there: pchar, "/", "?",
// one '#' before the fragment, and well-formed percent-encodings.
func validTail(t string) bool {
	hash := false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case isUnreserved(c), isSubDelim(c), c == ':', c == '@', c == '/', c == '?':
		case c == '#' && !hash:
			hash = true
		case c == '%' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

// normalizeHost normalises an RFC 3986 authority without userinfo: a
// registered name or IPv4 address, or a bracketed IPv6 address, and an
// optional port.
func normalizeHost(h, scheme string) (string, bool) {
	name, port := h, ""
	ipv6 := false
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false
		}
		name, port = h[:end+1], h[end+1:]
		if port != "" && port[0] != ':' {
			return "", false
		}
		ipv6 = true
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i:]
	}
	if port != "" {
		port = port[1:] // the ':'
	}
	changed := false
	if ipv6 {
		a, err := netip.ParseAddr(name[1 : len(name)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		if canon := "[" + a.String() + "]"; canon != name {
			name, changed = canon, true
		}
	} else {
		if name == "" {
			return "", false
		}
		upper := false
		for i := 0; i < len(name); i++ {
			c := name[i]
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			case 'A' <= c && c <= 'Z':
				upper = true
			default:
				return "", false
			}
		}
		if upper {
			name, changed = strings.ToLower(name), true
		}
	}
	switch {
	case port == "":
		changed = changed || len(name) != len(h)
	default:
		if len(port) > 5 {
			return "", false
		}
		n := 0
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "", false
			}
			n = n*10 + int(port[i]-'0')
		}
		if n == 0 || n > 65535 {
			return "", false
		}
		if scheme == "http" && n == 80 || scheme == "https" && n == 443 {
			port, changed = "", true
		} else if port[0] == '0' {
			port, changed = strconv.Itoa(n), true
		}
	}
	if !changed {
		return h, true
	}
	if port == "" {
		return name, true
	}
	return name + ":" + port, true
}

// normalizePath normalises an absolute path (or the empty path, which is
// "/"); false when p has a character outside pchar and "/", or a '%' that
// does not begin a triplet.
func normalizePath(p string) (string, bool) {
	if p == "" {
		return "/", true
	}
	if p[0] != '/' {
		return "", false
	}
	rewrite := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case isUnreserved(c), c == '/', c == ':', c == '@', isSubDelim(c):
			if c == '.' && (p[i-1] == '/') && (i+1 == len(p) || p[i+1] == '/' || p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/')) {
				rewrite = true // a dot segment
			}
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", false
			}
			rewrite = true
			i += 2
		default:
			return "", false
		}
	}
	if !rewrite {
		return p, true
	}
	// Decode the unreserved, upper-case the rest, then remove dot segments.
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		v := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(v) {
			b = append(b, v)
		} else {
			b = append(b, '%', upperHex[v>>4], upperHex[v&15])
		}
		i += 2
	}
	return removeDotSegments(string(b)), true
}

// removeDotSegments is RFC 3986 §5.2.4 for an absolute path.
func removeDotSegments(p string) string {
	segs := strings.Split(p[1:], "/")
	out := segs[:0]
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "") // "/a/." and "/a/.." end with a slash
		}
	}
	return "/" + strings.Join(out, "/")
}

const upperHex = "0123456789ABCDEF"

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isSubDelim(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
