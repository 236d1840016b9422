package cors

import (
	"net/netip"
	"strings"
)

// problem says why a string is not an acceptable origin; construction errors
// name it, requests only need to know there is one.
type problem uint8

const (
	okOrigin problem = iota
	badScheme
	badHost
	badPort
	hasPath
	hasQuery
	hasFragment
	hasUserinfo
)

func (p problem) String() string {
	switch p {
	case badScheme:
		return `the scheme must be "https" or "http"`
	case badHost:
		return "the host is not a valid domain name or IP address"
	case badPort:
		return "the port must be a number from 1 to 65535 without leading zeros"
	case hasPath:
		return "an origin has no path"
	case hasQuery:
		return "an origin has no query"
	case hasFragment:
		return "an origin has no fragment"
	case hasUserinfo:
		return "an origin has no user information"
	}
	return "ok"
}

// origin is a parsed, normalised origin. Its strings point into the input
// or into canon, so parsing an already canonical origin does not allocate.
type origin struct {
	canon    string // scheme "://" host [":" port], lower case, default port removed
	https    bool
	host     string // lower case; an IPv6 address keeps its brackets
	port     string // "" for the scheme's default port
	isIP     bool
	loopback bool // localhost, 127.0.0.0/8 or [::1]
}

// parseOrigin parses and normalises an http or https origin: it lower-cases
// the scheme and host, drops the default port and a single trailing slash,
// and refuses anything else a URL may carry (user information, a path, a
// query, a fragment).
func parseOrigin(s string) (origin, problem) {
	var o origin
	i := strings.Index(s, "://")
	if i < 0 {
		return o, badScheme
	}
	scheme := s[:i]
	switch {
	case strings.EqualFold(scheme, "https"):
		o.https = true
	case strings.EqualFold(scheme, "http"):
	default:
		return o, badScheme
	}
	rest := s[i+3:]
	authority := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		authority = rest[:j]
		tail := rest[j:]
		if tail[0] == '/' {
			tail = tail[1:]
		}
		switch {
		case tail == "":
		case tail[0] == '?':
			return o, hasQuery
		case tail[0] == '#':
			return o, hasFragment
		default:
			return o, hasPath
		}
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return o, hasUserinfo
	}

	host, port := authority, ""
	var hostChanged bool
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return o, badHost
		}
		host = authority[:end+1]
		if after := authority[end+1:]; after != "" {
			if after[0] != ':' {
				return o, badHost
			}
			port = after[1:]
			if port == "" {
				return o, badPort
			}
		}
		a, err := netip.ParseAddr(host[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return o, badHost
		}
		o.isIP = true
		o.loopback = a.IsLoopback()
		if canon := "[" + a.String() + "]"; canon != host {
			host, hostChanged = canon, true
		}
	} else {
		if j := strings.LastIndexByte(authority, ':'); j >= 0 {
			host, port = authority[:j], authority[j+1:]
			if port == "" {
				return o, badPort
			}
		}
		var ok bool
		if o.isIP, ok = validHost(host); !ok {
			return o, badHost
		}
		if o.isIP {
			o.loopback = host[:4] == "127."
		} else {
			o.loopback = strings.EqualFold(host, "localhost")
		}
	}
	if port != "" {
		if !validPort(port) {
			return o, badPort
		}
		if (o.https && port == "443") || (!o.https && port == "80") {
			port = ""
			hostChanged = true // the canonical form is shorter
		}
	}
	o.port = port

	if !hostChanged && !hasUpper(scheme) && !hasUpper(authority) {
		// Already canonical, but for a trailing slash: no allocation.
		o.host = host
		o.canon = s[:len(scheme)+3+len(authority)]
		return o, okOrigin
	}
	var b strings.Builder
	b.Grow(len(s))
	if o.https {
		b.WriteString("https://")
	} else {
		b.WriteString("http://")
	}
	start := b.Len()
	for k := 0; k < len(host); k++ {
		b.WriteByte(lower(host[k]))
	}
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	o.canon = b.String()
	o.host = o.canon[start : start+len(host)]
	return o, okOrigin
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// validPort accepts 1 to 65535 written without leading zeros.
func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// validHost accepts an ASCII domain name (letters, digits, '-', '_', non-empty
// labels of at most 63 bytes, no trailing dot) or a dotted-quad IPv4 address.
// A name whose last label is numeric must be a canonical IPv4 address, as a
// browser would have rewritten anything else ("127.1", "0x7f.0.0.1").
func validHost(h string) (isIP, ok bool) {
	if h == "" || len(h) > 253 {
		return false, false
	}
	label := 0
	lastStart := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 {
				return false, false
			}
			label = 0
			lastStart = i + 1
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false, false
		}
		label++
		if label > 63 {
			return false, false
		}
	}
	if label == 0 {
		return false, false
	}
	last := h[lastStart:]
	if isNumericLabel(last) {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is4() || a.String() != h {
			return false, false
		}
		return true, true
	}
	return false, true
}

// isNumericLabel reports whether a label would make a URL parser read the
// host as an IPv4 address: decimal digits, or a 0x hexadecimal number.
func isNumericLabel(l string) bool {
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}
