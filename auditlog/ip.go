package auditlog

import (
	"net/http"
	"net/netip"
	"strconv"

	"github.com/apiguard/apiguard/internal/reqctx"
)

// IPMode says how much of the client IP an audit line keeps.
type IPMode int

const (
	// IPFull writes the whole address ("203.0.113.7", "2001:db8::1").
	IPFull IPMode = iota
	// IPMasked writes the network only: an IPv4 address as its /24
	// ("203.0.113.0/24"), an IPv6 address as its /48 ("2001:db8:1::/48").
	IPMasked
	// IPNone writes no ip field at all.
	IPNone
)

// String returns the mode's name.
func (m IPMode) String() string {
	switch m {
	case IPFull:
		return "full"
	case IPMasked:
		return "masked"
	case IPNone:
		return "none"
	}
	return "IPMode(" + strconv.Itoa(int(m)) + ")"
}

// appendIP appends ip as the mode writes it and reports whether anything was
// appended. An IPv4-mapped IPv6 address is unmapped first, so it is masked as
// the IPv4 address it is.
func (m IPMode) appendIP(b []byte, ip netip.Addr) ([]byte, bool) {
	if !ip.IsValid() {
		return b, false
	}
	ip = ip.Unmap().WithZone("")
	switch m {
	case IPFull:
		return ip.AppendTo(b), true
	case IPMasked:
		bits := 48
		if ip.Is4() {
			bits = 24
		}
		p, err := ip.Prefix(bits)
		if err != nil {
			return b, false
		}
		return p.AppendTo(b), true
	}
	return b, false
}

// reduce returns ip cut to what the mode writes: the address, its network's
// address, or none. appendIP writes the result as it writes ip.
func (m IPMode) reduce(ip netip.Addr) netip.Addr {
	if !ip.IsValid() {
		return netip.Addr{}
	}
	ip = ip.Unmap().WithZone("")
	switch m {
	case IPFull:
		return ip
	case IPMasked:
		bits := 48
		if ip.Is4() {
			bits = 24
		}
		if p, err := ip.Prefix(bits); err == nil {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// requestIP is the client IP of r: the one a trusted-proxy-aware step put in
// the request's reqctx.Info, else the direct peer from RemoteAddr. Forwarding
// headers are never read here.
func requestIP(r *http.Request, info *reqctx.Info) netip.Addr {
	if info != nil && info.IP.IsValid() {
		return info.IP
	}
	if r == nil {
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr()
	}
	if ip, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return ip
	}
	return netip.Addr{}
}
