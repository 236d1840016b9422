// Package strictjson decodes the two small JSON objects of a JWS, the JOSE
// header and the JWT claims set, strictly and in one pass; AppendString
// writes the JSON strings of the tokens and error bodies apiguard builds.
//
// Strict means: the input is UTF-8 (invalid UTF-8 anywhere, and \u escapes
// that leave a surrogate unpaired, are refused); it is exactly one JSON
// object with nothing but whitespace after it; no object, at any depth, has
// two members with the same name (names are compared after unescaping, so
// "exp" and "\u0065xp" collide); nesting is capped at MaxDepth and the input
// at MaxSize; numbers follow the RFC 8259 grammar. Registered members of a
// known type that have another type (a string "exp", a numeric "alg") are
// refused with a *TypeError.
//
// The decoders take a string and return strings that are substrings of it
// whenever no escape had to be undone, so decoding a typical claims set
// allocates nothing beyond the slices of the Aud, Roles and Scope members
// (and not even those when the caller provides capacity). Everything is safe
// for concurrent use: there is no shared state.
package strictjson

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting accepted; the top-level object is depth 1.
const MaxDepth = 16

// MaxSize is the largest input accepted, in bytes.
const MaxSize = 64 << 10

// Errors of the decoders. A *TypeError wraps ErrType; all others are returned
// as is, so callers compare with errors.Is or ==.
var (
	ErrSyntax    = errors.New("strictjson: invalid JSON")
	ErrUTF8      = errors.New("strictjson: invalid UTF-8")
	ErrDuplicate = errors.New("strictjson: duplicate member name")
	ErrDepth     = errors.New("strictjson: nesting too deep")
	ErrSize      = errors.New("strictjson: input too large")
	ErrNotObject = errors.New("strictjson: top level is not an object")
	ErrTrailing  = errors.New("strictjson: data after the top-level object")
	ErrType      = errors.New("strictjson: member of the wrong type")
	// ErrSelect: Claims.Selected and Claims.Select differ in length (the
	// caller's mistake, never the input's).
	ErrSelect = errors.New("strictjson: Claims.Selected is not as long as Claims.Select")
)

// TypeError reports a registered member whose value has the wrong type. Member
// is the member's name (one of the fixed registered names, never input).
type TypeError struct{ Member string }

func (e *TypeError) Error() string {
	return "strictjson: member \"" + e.Member + "\" has the wrong type"
}

// Unwrap returns ErrType.
func (e *TypeError) Unwrap() error { return ErrType }

// Valid reports whether s is one strict JSON object (see the package doc).
func Valid(s string) error {
	if len(s) > MaxSize {
		return ErrSize
	}
	d := decoder{s: s}
	d.skipWS()
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return ErrNotObject
	}
	if err := d.skipValue(0); err != nil {
		return err
	}
	return d.end()
}

// Header is a decoded JOSE header. Absent string members are "".
type Header struct {
	Alg, Kid, Typ, Cty string
	// Crit is the "crit" member; HasCrit says whether it was present (it is
	// then guaranteed to be an array of strings, possibly empty).
	Crit    []string
	HasCrit bool
	// Members naming or carrying a key. Their values are never decoded.
	HasJKU, HasX5U, HasJWK, HasX5C bool
	// JWK is the raw JSON text of the "jwk" member (validated, not
	// decoded), "" when absent: the key a DPoP proof carries (RFC 9449
	// §4.2), for ParseJWK.
	JWK string
}

// ParseHeader decodes s into h. "alg", "kid", "typ" and "cty" must be strings
// and "crit" an array of strings; any other member is validated and skipped.
func ParseHeader(s string, h *Header) error {
	d, err := begin(s)
	if err != nil {
		return err
	}
	var names nameSet // names other than the registered ones below
	var seen uint16   // registered names seen, one bit each
	for more := d.firstMember(); more; {
		name, err := d.name()
		if err != nil {
			return err
		}
		bit := headerBit(name)
		if bit == 0 && !names.add(name) || seen&bit != 0 {
			return ErrDuplicate
		}
		seen |= bit
		switch bit {
		case 1 << 0: // alg
			h.Alg, err = d.stringMember(name)
		case 1 << 1: // kid
			h.Kid, err = d.stringMember(name)
		case 1 << 2: // typ
			h.Typ, err = d.stringMember(name)
		case 1 << 3: // cty
			h.Cty, err = d.stringMember(name)
		case 1 << 4: // crit
			h.HasCrit = true
			h.Crit, err = d.stringArray(name, h.Crit[:0], false)
		case 1 << 5: // jku
			h.HasJKU = true
			err = d.skipValue(1)
		case 1 << 6: // x5u
			h.HasX5U = true
			err = d.skipValue(1)
		case 1 << 7: // jwk
			h.HasJWK = true
			d.skipWS()
			start := d.i
			if err = d.skipValue(1); err == nil {
				h.JWK = d.s[start:d.i]
			}
		case 1 << 8: // x5c
			h.HasX5C = true
			err = d.skipValue(1)
		default:
			err = d.skipValue(1)
		}
		if err != nil {
			return err
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	return d.end()
}

// NumericDate is a JSON number of seconds since the epoch (RFC 7519 §2), as
// whole seconds and nanoseconds. Set says whether the member was present.
type NumericDate struct {
	Sec  int64
	Nsec int64
	Set  bool
}

// Claims is a decoded JWT claims set.
type Claims struct {
	// Sid is "sid", the session the token belongs to (a string).
	Iss, Sub, Jti, Sid string
	// Aud is "aud", a string or an array of strings; HasAud says whether it
	// was present.
	Aud    []string
	HasAud bool
	// Exp, Nbf and Iat must be JSON numbers.
	Exp, Nbf, Iat NumericDate
	// Roles is "roles", an array of strings.
	Roles []string
	// Scope is "scope", a space-separated string or an array of strings.
	Scope []string
	// NoRolesScope, set by the caller, leaves "roles" and "scope" undecoded
	// (still validated, and still refused when duplicated), for callers that
	// read them another way (Select, ValueStrings).
	NoRolesScope bool
	// Acr is "acr", the authentication context class (a string).
	Acr string
	// AuthTime is "auth_time", when the user authenticated (a number).
	AuthTime NumericDate
	// Cnf is "cnf", the confirmation of RFC 7800 (an object).
	Cnf Confirmation
	// Select, set by the caller, names top-level members other than iss,
	// sub, jti, aud, exp, nbf and iat whose raw JSON text the decoder keeps
	// in Selected (same length as Select, "" for an absent member), in the
	// same pass: what a profile reads with ValueStrings and ValueString.
	Select, Selected []string
}

// Confirmation is the "cnf" claim (RFC 7800 §3.1): the key or certificate a
// token is bound to. Set says whether cnf was present, an object. JKT is
// its "jkt" member (RFC 9449 §6.1, a JWK SHA-256 thumbprint) and X5TS256
// its "x5t#S256" member (RFC 8705 §3.1, a certificate SHA-256 thumbprint):
// each a non-empty string when present. Other members (jwk, kid...) are
// validated and skipped, and Others counts them.
type Confirmation struct {
	JKT, X5TS256 string
	Set          bool
	Others       int
}

// maxDate bounds decoded dates (about 31.7 million years) so that any
// NumericDate converts to a time.Time without overflow.
const maxDate = 1e15

// ParseClaims decodes s into c. Slices in c are appended to from length zero,
// so a caller may pass capacity it owns and avoid allocating.
func ParseClaims(s string, c *Claims) error {
	d, err := begin(s)
	if err != nil {
		return err
	}
	c.Aud, c.Roles, c.Scope = c.Aud[:0], c.Roles[:0], c.Scope[:0]
	if len(c.Selected) != len(c.Select) {
		return ErrSelect
	}
	clear(c.Selected)
	var names nameSet // names other than the registered ones below
	var seen uint16   // registered names seen, one bit each
	for more := d.firstMember(); more; {
		name, err := d.name()
		if err != nil {
			return err
		}
		bit := claimBit(name)
		if bit == 0 && !names.add(name) || seen&bit != 0 {
			return ErrDuplicate
		}
		seen |= bit
		switch bit {
		case 1 << 0: // iss
			c.Iss, err = d.stringMember(name)
		case 1 << 1: // sub
			c.Sub, err = d.stringMember(name)
		case 1 << 2: // jti
			c.Jti, err = d.stringMember(name)
		case 1 << 9: // sid
			c.Sid, err = d.stringMember(name)
		case 1 << 10: // acr
			start := d.valueStart()
			c.Acr, err = d.stringMember(name)
			d.keep(c, name, start, err)
		case 1 << 11: // auth_time
			start := d.valueStart()
			c.AuthTime, err = d.date(name)
			d.keep(c, name, start, err)
		case 1 << 12: // cnf
			start := d.valueStart()
			err = d.confirmation(&c.Cnf)
			d.keep(c, name, start, err)
		case 1 << 3: // aud
			c.HasAud = true
			if d.peek() == '"' {
				var a string
				a, err = d.stringMember(name)
				c.Aud = append(c.Aud, a)
			} else {
				c.Aud, err = d.stringArray(name, c.Aud, true)
			}
		case 1 << 4: // exp
			c.Exp, err = d.date(name)
		case 1 << 5: // nbf
			c.Nbf, err = d.date(name)
		case 1 << 6: // iat
			c.Iat, err = d.date(name)
		case 1 << 7: // roles
			if c.NoRolesScope {
				err = d.selectValue(c, name)
			} else {
				c.Roles, err = d.stringArray(name, c.Roles, true)
			}
		case 1 << 8: // scope
			if c.NoRolesScope {
				err = d.selectValue(c, name)
			} else if d.peek() == '"' {
				var sc string
				sc, err = d.stringMember(name)
				c.Scope = appendFields(c.Scope, sc)
			} else {
				c.Scope, err = d.stringArray(name, c.Scope, true)
			}
		default:
			err = d.selectValue(c, name)
		}
		if err != nil {
			return err
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	return d.end()
}

// valueStart skips whitespace and returns where the next value starts.
func (d *decoder) valueStart() int {
	d.skipWS()
	return d.i
}

// keep records the raw text of the value of member name, decoded from start
// to here without error, in c.Selected when c.Select names it: a profile may
// read a member the decoder also decodes (acr, auth_time, cnf).
func (d *decoder) keep(c *Claims, name string, start int, err error) {
	if err != nil {
		return
	}
	for i, n := range c.Select {
		if n == name {
			c.Selected[i] = d.s[start:d.i]
			return
		}
	}
}

// confirmation reads the cnf object: jkt and x5t#S256 must be non-empty
// strings, any other member is validated and skipped, and no name may
// appear twice.
func (d *decoder) confirmation(cnf *Confirmation) error {
	if d.peek() != '{' {
		if err := d.skipValue(1); err != nil {
			return err
		}
		return &TypeError{Member: "cnf"}
	}
	d.i++
	cnf.Set = true
	var names nameSet
	for more := d.firstMember(); more; {
		n, err := d.name()
		if err != nil {
			return err
		}
		if !names.add(n) {
			return ErrDuplicate
		}
		switch n {
		case "jkt":
			cnf.JKT, err = d.stringMember("cnf")
			if err == nil && cnf.JKT == "" {
				err = &TypeError{Member: "cnf"}
			}
		case "x5t#S256":
			cnf.X5TS256, err = d.stringMember("cnf")
			if err == nil && cnf.X5TS256 == "" {
				err = &TypeError{Member: "cnf"}
			}
		default:
			cnf.Others++
			err = d.skipValue(2)
		}
		if err != nil {
			return err
		}
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	return nil
}

// selectValue skips the value of member name, keeping its raw text in
// c.Selected when c.Select names it.
func (d *decoder) selectValue(c *Claims, name string) error {
	if len(c.Select) == 0 {
		return d.skipValue(1)
	}
	d.skipWS()
	start := d.i
	if err := d.skipValue(1); err != nil {
		return err
	}
	for i, n := range c.Select {
		if n == name {
			c.Selected[i] = d.s[start:d.i]
			break
		}
	}
	return nil
}

// Member returns the raw JSON text of the top-level member name of the
// object s, which must have been accepted by Valid, ParseHeader or
// ParseClaims. Names are compared after unescaping.
func Member(s, name string) (string, bool) {
	d, err := begin(s)
	if err != nil {
		return "", false
	}
	for more := d.firstMember(); more; {
		n, err := d.name()
		if err != nil {
			return "", false
		}
		d.skipWS()
		start := d.i
		if err := d.skipValue(1); err != nil {
			return "", false
		}
		if n == name {
			return s[start:d.i], true
		}
		if more, err = d.nextMember(); err != nil {
			return "", false
		}
	}
	return "", false
}

// headerBit and claimBit give each registered name its own bit (0 for any
// other name), so duplicates among them are found without comparing strings.
func headerBit(name string) uint16 {
	switch name {
	case "alg":
		return 1 << 0
	case "kid":
		return 1 << 1
	case "typ":
		return 1 << 2
	case "cty":
		return 1 << 3
	case "crit":
		return 1 << 4
	case "jku":
		return 1 << 5
	case "x5u":
		return 1 << 6
	case "jwk":
		return 1 << 7
	case "x5c":
		return 1 << 8
	}
	return 0
}

func claimBit(name string) uint16 {
	switch name {
	case "iss":
		return 1 << 0
	case "sub":
		return 1 << 1
	case "jti":
		return 1 << 2
	case "aud":
		return 1 << 3
	case "exp":
		return 1 << 4
	case "nbf":
		return 1 << 5
	case "iat":
		return 1 << 6
	case "roles":
		return 1 << 7
	case "scope":
		return 1 << 8
	case "sid":
		return 1 << 9
	case "acr":
		return 1 << 10
	case "auth_time":
		return 1 << 11
	case "cnf":
		return 1 << 12
	}
	return 0
}

// appendFields appends the space-separated words of s (RFC 6749 §3.3).
func appendFields(dst []string, s string) []string {
	start := -1
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// nameSet detects duplicate member names of one object: a linear scan over a
// small inline array, then a map once an object has many members, so that a
// hostile object costs linear time.
type nameSet struct {
	n     int
	small [16]string
	big   map[string]struct{}
}

func (ns *nameSet) add(name string) bool {
	if ns.big != nil {
		if _, dup := ns.big[name]; dup {
			return false
		}
		ns.big[name] = struct{}{}
		return true
	}
	for _, s := range ns.small[:ns.n] {
		if s == name {
			return false
		}
	}
	if ns.n < len(ns.small) {
		ns.small[ns.n] = name
		ns.n++
		return true
	}
	ns.big = make(map[string]struct{}, 2*len(ns.small))
	for _, s := range ns.small {
		ns.big[s] = struct{}{}
	}
	ns.big[name] = struct{}{}
	return true
}

type decoder struct {
	s string
	i int
}

func begin(s string) (decoder, error) {
	if len(s) > MaxSize {
		return decoder{}, ErrSize
	}
	d := decoder{s: s}
	d.skipWS()
	if d.i >= len(s) || s[d.i] != '{' {
		return d, ErrNotObject
	}
	d.i++
	return d, nil
}

// firstMember consumes whitespace after '{' and reports whether a member
// follows (false: the object is empty and its '}' was consumed). An invalid
// byte is left for name() to report.
func (d *decoder) firstMember() bool {
	d.skipWS()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return false
	}
	return true
}

// nextMember consumes ',' (true) or '}' (false).
func (d *decoder) nextMember() (bool, error) {
	d.skipWS()
	if d.i >= len(d.s) {
		return false, ErrSyntax
	}
	switch d.s[d.i] {
	case ',':
		d.i++
		return true, nil
	case '}':
		d.i++
		return false, nil
	}
	return false, ErrSyntax
}

// name reads `"name" :` and returns the unescaped name.
func (d *decoder) name() (string, error) {
	d.skipWS()
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return "", ErrSyntax
	}
	n, err := d.str()
	if err != nil {
		return "", err
	}
	d.skipWS()
	if d.i >= len(d.s) || d.s[d.i] != ':' {
		return "", ErrSyntax
	}
	d.i++
	return n, nil
}

func (d *decoder) end() error {
	d.skipWS()
	if d.i != len(d.s) {
		return ErrTrailing
	}
	return nil
}

func (d *decoder) peek() byte {
	d.skipWS()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *decoder) skipWS() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// stringMember reads a value that must be a string.
func (d *decoder) stringMember(member string) (string, error) {
	if d.peek() != '"' {
		if err := d.skipValue(1); err != nil {
			return "", err
		}
		return "", &TypeError{Member: member}
	}
	return d.str()
}

// stringArray reads a value that must be an array of strings, appending to
// dst. allowEmpty false refuses [].
func (d *decoder) stringArray(member string, dst []string, allowEmpty bool) ([]string, error) {
	if d.peek() != '[' {
		if err := d.skipValue(1); err != nil {
			return dst, err
		}
		return dst, &TypeError{Member: member}
	}
	d.i++
	d.skipWS()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		if !allowEmpty {
			return dst, &TypeError{Member: member}
		}
		return dst, nil
	}
	for {
		if d.peek() != '"' {
			if err := d.skipValue(2); err != nil {
				return dst, err
			}
			return dst, &TypeError{Member: member}
		}
		v, err := d.str()
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
		d.skipWS()
		if d.i >= len(d.s) {
			return dst, ErrSyntax
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return dst, nil
		default:
			return dst, ErrSyntax
		}
	}
}

// date reads a value that must be a JSON number.
func (d *decoder) date(member string) (NumericDate, error) {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		if err := d.skipValue(1); err != nil {
			return NumericDate{}, err
		}
		return NumericDate{}, &TypeError{Member: member}
	}
	num, integer, err := d.number()
	if err != nil {
		return NumericDate{}, err
	}
	if integer && len(num) <= 16 {
		var v int64
		neg := num[0] == '-'
		digits := num
		if neg {
			digits = num[1:]
		}
		for i := 0; i < len(digits); i++ {
			v = v*10 + int64(digits[i]-'0')
		}
		if v > maxDate {
			v = maxDate
		}
		if neg {
			v = -v
		}
		return NumericDate{Sec: v, Set: true}, nil
	}
	f, perr := strconv.ParseFloat(num, 64)
	if perr != nil && !errors.Is(perr, strconv.ErrRange) {
		return NumericDate{}, ErrSyntax
	}
	switch {
	case f > maxDate:
		f = maxDate
	case f < -maxDate:
		f = -maxDate
	}
	sec := int64(f)
	if float64(sec) > f { // round toward minus infinity
		sec--
	}
	nsec := int64((f - float64(sec)) * 1e9)
	if nsec >= 1e9 {
		nsec = 1e9 - 1
	}
	return NumericDate{Sec: sec, Nsec: nsec, Set: true}, nil
}

// number reads an RFC 8259 number and reports whether it has neither a
// fraction nor an exponent.
func (d *decoder) number() (string, bool, error) {
	s, start := d.s, d.i
	i := d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return "", false, ErrSyntax
	}
	integer := true
	if i < len(s) && s[i] == '.' {
		integer = false
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return "", false, ErrSyntax
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return "", false, ErrSyntax
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	d.i = i
	return s[start:i], integer, nil
}

// str reads a string starting at the opening quote and returns its unescaped
// value: a substring of the input when it has no escape.
func (d *decoder) str() (string, error) {
	s := d.s
	i := d.i + 1
	start := i
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return s[start:i], nil
		case c == '\\':
			return d.strEscaped(start, i)
		case c < 0x20:
			return "", ErrSyntax
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return "", ErrUTF8
			}
			i += size
		}
	}
	return "", ErrSyntax
}

// strEscaped continues str from the first backslash at i.
func (d *decoder) strEscaped(start, i int) (string, error) {
	s := d.s
	buf := make([]byte, 0, len(s)-start)
	buf = append(buf, s[start:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(buf), nil
		case c == '\\':
			if i+1 >= len(s) {
				return "", ErrSyntax
			}
			switch s[i+1] {
			case '"', '\\', '/':
				buf = append(buf, s[i+1])
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					return "", ErrSyntax
				}
				i += 6
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return "", ErrUTF8 // a low surrogate alone
				case r >= 0xD800 && r <= 0xDBFF:
					if i+1 >= len(s) || s[i] != '\\' || s[i+1] != 'u' {
						return "", ErrUTF8
					}
					lo, ok := hex4(s, i+2)
					if !ok {
						return "", ErrSyntax
					}
					if lo < 0xDC00 || lo > 0xDFFF {
						return "", ErrUTF8
					}
					i += 6
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				return "", ErrSyntax
			}
			i += 2
		case c < 0x20:
			return "", ErrSyntax
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return "", ErrUTF8
			}
			buf = append(buf, s[i:i+size]...)
			i += size
		}
	}
	return "", ErrSyntax
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipValue validates and skips one value; depth is the nesting depth of the
// container holding it (0 for the top level).
func (d *decoder) skipValue(depth int) error {
	d.skipWS()
	if d.i >= len(d.s) {
		return ErrSyntax
	}
	switch c := d.s[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '{':
		if depth+1 > MaxDepth {
			return ErrDepth
		}
		d.i++
		var names nameSet
		for more := d.firstMember(); more; {
			n, err := d.name()
			if err != nil {
				return err
			}
			if !names.add(n) {
				return ErrDuplicate
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			if more, err = d.nextMember(); err != nil {
				return err
			}
		}
		return nil
	case c == '[':
		if depth+1 > MaxDepth {
			return ErrDepth
		}
		d.i++
		d.skipWS()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return nil
		}
		for {
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipWS()
			if d.i >= len(d.s) {
				return ErrSyntax
			}
			switch d.s[d.i] {
			case ',':
				d.i++
			case ']':
				d.i++
				return nil
			default:
				return ErrSyntax
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		_, _, err := d.number()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	}
	return ErrSyntax
}

func (d *decoder) literal(lit string) error {
	if len(d.s)-d.i >= len(lit) && d.s[d.i:d.i+len(lit)] == lit {
		d.i += len(lit)
		return nil
	}
	return ErrSyntax
}
