package problem

import (
	"net/http"
	"strings"
)

// maxRanges bounds the media ranges Prefers reads, over all Accept lines:
// later ones are ignored, so a huge Accept costs no more than this.
const maxRanges = 64

// Prefers reports whether r's Accept field prefers application/problem+json
// to application/json, the default error body. Each of the two types gets
// the q-value of the most specific media range that matches it (RFC 9110
// §12.5.1: "type/subtype" over "type/*" over "*/*"; parameters other than q
// are not compared; of equally specific ranges, the lowest q); a type no range matches is not acceptable (q=0).
// Problem details are preferred when their q is positive and either higher
// than the JSON's, or equal to it and named by an exact
// "application/problem+json" range (the client asked for them by name,
// not merely through a wildcard). So "Accept: */*" or no Accept at all keep
// the default body; "application/problem+json" or
// "application/problem+json, application/json" choose problem details;
// "application/problem+json;q=0.5, application/json" does not.
//
// A range with a malformed q (anything but a qvalue, RFC 9110 §12.4.2) is
// ignored, as are ranges beyond the first 64. Prefers does not allocate.
func Prefers(r *http.Request) bool {
	return PrefersAccept(r.Header.Values("Accept")...)
}

// PrefersAccept is Prefers over the values of Accept fields.
func PrefersAccept(accept ...string) bool {
	var p, j match
	n := 0
	for _, line := range accept {
		for line != "" && n < maxRanges {
			var rng string
			rng, line, _ = strings.Cut(line, ",")
			rng = trimOWS(rng)
			if rng == "" {
				continue
			}
			n++
			mt, params, _ := strings.Cut(rng, ";")
			typ, sub, ok := strings.Cut(trimOWS(mt), "/")
			if !ok || typ == "" || sub == "" {
				continue
			}
			q, ok := rangeQ(params)
			if !ok {
				continue
			}
			p.consider(typ, sub, "problem+json", q)
			j.consider(typ, sub, "json", q)
		}
	}
	return p.q > 0 && (p.q > j.q || p.q == j.q && p.spec == specExact)
}

// Specificities of a media range matching application/<subtype>.
const (
	specNone = iota
	specAny  // */*
	specType // application/*
	specExact
)

// match is the best media range found for one offered type.
type match struct {
	spec int
	q    int // thousandths
}

// consider updates m with a range typ/sub of q-value q, for the offered
// type application/<subtype>. Of two ranges equally specific, the lower q
// counts, so an explicit refusal (q=0) is never overridden.
func (m *match) consider(typ, sub, subtype string, q int) {
	spec := specNone
	switch {
	case typ == "*" && sub == "*":
		spec = specAny
	case !strings.EqualFold(typ, "application"):
	case sub == "*":
		spec = specType
	case strings.EqualFold(sub, subtype):
		spec = specExact
	}
	if spec == specNone || spec < m.spec {
		return
	}
	if spec > m.spec || q < m.q {
		m.spec, m.q = spec, q
	}
}

// rangeQ returns the q-value (in thousandths) of a media range's
// parameters (what follows its first ';'): 1000 without a q, and false
// when a q is malformed.
func rangeQ(params string) (int, bool) {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, val, _ := strings.Cut(trimOWS(p), "=")
		if len(name) == 1 && (name[0] == 'q' || name[0] == 'Q') {
			return parseQ(trimOWS(val))
		}
	}
	return 1000, true
}

// parseQ parses a qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ].
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 || s[0] != '0' && s[0] != '1' {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return q, true
	}
	if s[1] != '.' {
		return 0, false
	}
	scale := 100
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || s[0] == '1' && c != '0' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	return q, true
}

// trimOWS trims spaces and horizontal tabs.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
