// Package clientip resolves the IP address of the client behind a request,
// trusting forwarding headers only from configured proxies.
//
// The address is the peer of the connection (http.Request.RemoteAddr). Only
// when that peer is inside one of the trusted CIDRs are the forwarding headers
// read, right to left, skipping entries that are themselves trusted proxies:
// the first untrusted entry is the client. Everything left of it was written by
// the client (or by proxies nobody vouches for) and is never read.
//
// X-Forwarded-For is used when present (every header line, each a comma
// list); the RFC 7239 Forwarded header is used only when no X-Forwarded-For
// is present. A proxy that writes only Forwarded must therefore remove any
// X-Forwarded-For sent by clients (the common proxies do one or the other).
//
// Walking stops safely on anything unexpected: an entry that is not an IP
// address makes Resolve fall back to the peer address; an RFC 7239
// obfuscated identifier ("_hidden") or "unknown" makes it use the last trusted
// hop. IPv4-mapped IPv6 addresses are unmapped and zones dropped, so one
// client has one address. The work is linear in the header length.
package clientip

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client IP. The zero value and a nil *Resolver
// trust no proxy. A Resolver is immutable and safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that trusts forwarding headers from peers inside
// trustedCIDRs. Each entry is a CIDR ("10.0.0.0/8", "fd00::/8") or a single
// address, taken as a /32 or /128. An entry that is neither is an error naming
// it.
func New(trustedCIDRs []string) (*Resolver, error) {
	r := &Resolver{}
	for _, s := range trustedCIDRs {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, errors.New("clientip: trusted proxy " + quote(s) + " is not a CIDR or an IP address")
			}
			if p.Addr().Is4In6() {
				bits := p.Bits() - 96
				if bits < 0 {
					return nil, errors.New("clientip: trusted proxy " + quote(s) + " is an IPv4-mapped prefix shorter than /96")
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), bits)
			}
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, errors.New("clientip: trusted proxy " + quote(s) + " is not a CIDR or an IP address")
		}
		a = a.Unmap()
		r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
	}
	return r, nil
}

func quote(s string) string { return "\"" + s + "\"" }

// Trusted reports whether a is inside a trusted CIDR.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r == nil || !a.IsValid() {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer returns the address of the connection's peer from r.RemoteAddr
// ("ip:port", "[ipv6]:port" or a bare address), unmapped and without zone. It
// is the zero Addr when RemoteAddr cannot be parsed.
func Peer(r *http.Request) netip.Addr {
	return parseHostPort(r.RemoteAddr)
}

// FromTrustedProxy reports whether r came straight from a trusted proxy, so
// that headers such as X-Forwarded-Proto may be believed.
func (r *Resolver) FromTrustedProxy(req *http.Request) bool {
	if r == nil || len(r.trusted) == 0 {
		return false
	}
	return r.Trusted(Peer(req))
}

// Resolve returns the client IP of req (see the package documentation). It
// returns the zero Addr only when RemoteAddr itself is not an address.
func (r *Resolver) Resolve(req *http.Request) netip.Addr {
	peer := Peer(req)
	if r == nil || len(r.trusted) == 0 || !r.Trusted(peer) {
		return peer
	}
	if xff := req.Header["X-Forwarded-For"]; len(xff) > 0 {
		return r.walkXFF(xff, peer)
	}
	if fwd := req.Header["Forwarded"]; len(fwd) > 0 {
		return r.walkForwarded(fwd, peer)
	}
	return peer
}

// lastMember splits the right-most member off a comma-separated list
// (RFC 9110 §5.6.1), without its optional whitespace.
func lastMember(v string) (member, rest string) {
	if j := strings.LastIndexByte(v, ','); j >= 0 {
		return trimOWS(v[j+1:]), v[:j]
	}
	return trimOWS(v), ""
}

// walkXFF reads the header lines from the last to the first, and each comma
// list from right to left.
func (r *Resolver) walkXFF(lines []string, peer netip.Addr) netip.Addr {
	last := peer // the last trusted hop seen
	for i := len(lines) - 1; i >= 0; i-- {
		v := lines[i]
		for len(v) > 0 {
			var entry string
			entry, v = lastMember(v)
			if entry == "" {
				continue // "a, , b": empty list members are allowed by RFC 9110
			}
			a := parseHostPort(entry)
			if !a.IsValid() {
				return peer
			}
			if !r.Trusted(a) {
				return a
			}
			last = a
		}
	}
	return last
}

// walkForwarded reads RFC 7239 elements from right to left and uses the for=
// parameter of each.
func (r *Resolver) walkForwarded(lines []string, peer netip.Addr) netip.Addr {
	last := peer
	for i := len(lines) - 1; i >= 0; i-- {
		v := lines[i]
		for len(v) > 0 {
			var elem string
			elem, v = lastMember(v)
			if elem == "" {
				continue
			}
			node, ok := forParam(elem)
			if !ok {
				return peer // an element without for= tells us nothing we can trust
			}
			if node == "unknown" || strings.HasPrefix(node, "_") {
				return last // obfuscated: the hop we trust is the last one we know
			}
			a := parseHostPort(node)
			if !a.IsValid() {
				return peer
			}
			if !r.Trusted(a) {
				return a
			}
			last = a
		}
	}
	return last
}

// forParam returns the unquoted value of the for= pair of a Forwarded
// element ("for=1.2.3.4;proto=https").
func forParam(elem string) (string, bool) { return forwardedParam(elem, "for") }

// parseHostPort parses "ip", "ip:port", "[ipv6]" or "[ipv6]:port" without
// allocating, unmaps IPv4-mapped addresses and drops zones.
func parseHostPort(s string) netip.Addr {
	if a, ok := parseIPv4Port(s); ok {
		return a
	}
	return parseHostPortSlow(s)
}

// parseIPv4Port is the fast path of parseHostPort for the common
// RemoteAddr "a.b.c.d:port" (or a bare "a.b.c.d"): it skips the generic
// colon search and netip's general parser. It reports false on anything
// else, leaving the decision to parseHostPortSlow; when it reports true the
// address is exactly the one parseHostPortSlow would return (the same rules
// as netip.ParseAddr: four decimal fields, each 0 to 255, no leading zero;
// a port of 1 to 5 digits, as isPort). FuzzParseHostPort checks this.
func parseIPv4Port(s string) (netip.Addr, bool) {
	var ip [4]byte
	i := 0
	for f := range 4 {
		if f > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return netip.Addr{}, false
		}
		v := uint(s[i] - '0')
		i++
		// A field is "0" or up to three digits without a leading zero; a
		// digit left over after it fails the separator check that follows.
		if v != 0 {
			for k := 0; k < 2 && i < len(s) && s[i]-'0' <= 9; k++ {
				v = v*10 + uint(s[i]-'0')
				i++
			}
			if v > 255 {
				return netip.Addr{}, false
			}
		}
		ip[f] = byte(v)
	}
	if i < len(s) && (s[i] != ':' || !isPort(s[i+1:])) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

// parseHostPortSlow is parseHostPort for every form.
func parseHostPortSlow(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		rest := s[end+1:]
		if rest != "" && (rest[0] != ':' || !isPort(rest[1:])) {
			return netip.Addr{}
		}
		s = s[1:end]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// exactly one colon: IPv4 with a port
		if !isPort(s[i+1:]) {
			return netip.Addr{}
		}
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// IsLoopbackHost reports whether the host name h (without a port, an IPv6
// address without brackets, as url.URL.Hostname returns it) is localhost or
// a loopback address: where plain http is allowed for a key set, a discovery
// document or a resource identifier.
func IsLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h) // no zone, unlike netip: "::1%eth0" is not a host name here
	return ip != nil && ip.IsLoopback()
}
