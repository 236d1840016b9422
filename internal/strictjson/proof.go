package strictjson

// ProofClaims is a decoded DPoP proof's claims set (RFC 9449 §4.2). Absent
// string members are "".
type ProofClaims struct {
	// Htm is the request method, Htu its URI, Jti the proof's identifier,
	// Ath the base64url SHA-256 of the access token, Nonce the server's
	// nonce: all strings.
	Htm, Htu, Jti, Ath, Nonce string
	// Iat must be a JSON number.
	Iat NumericDate
	// HasAth and HasNonce say whether those members were present (an
	// empty string is present).
	HasAth, HasNonce bool
}

// ParseProofClaims decodes s into c, in one pass and held to the same rules
// as ParseClaims (see the package doc): "htm", "htu", "jti", "ath" and
// "nonce" must be strings and "iat" a number; any other member is validated
// and skipped.
func ParseProofClaims(s string, c *ProofClaims) error {
	*c = ProofClaims{}
	var m members
	if err := m.begin(s); err != nil {
		return err
	}
	d := &m.d
	for {
		name, bit, ok, err := m.next(proofBit)
		if !ok {
			return err
		}
		switch bit {
		case 1 << 0:
			c.Htm, err = d.stringMember(name)
		case 1 << 1:
			c.Htu, err = d.stringMember(name)
		case 1 << 2:
			c.Jti, err = d.stringMember(name)
		case 1 << 3:
			c.HasAth = true
			c.Ath, err = d.stringMember(name)
		case 1 << 4:
			c.HasNonce = true
			c.Nonce, err = d.stringMember(name)
		case 1 << 5:
			c.Iat, err = d.date(name)
		default:
			err = d.skipValue(1)
		}
		if err != nil {
			return err
		}
	}
}

// members walks the top-level members of an object for a decoder of its
// own, one member per next: the loop of ParseHeader and ParseClaims, for
// decoders that need not be among the fastest. It allocates nothing.
type members struct {
	d     decoder
	names nameSet // names other than the registered ones
	seen  uint16  // registered names seen, one bit each
	began bool
}

func (m *members) begin(s string) (err error) {
	m.d, err = begin(s)
	return err
}

// next reads the next member's name, refusing a duplicate (bit gives each
// registered name its own bit, 0 for any other name), and leaves the decoder
// at its value, which the caller must read. ok false ends the walk, with err
// nil at the end of a valid object.
func (m *members) next(bit func(string) uint16) (name string, b uint16, ok bool, err error) {
	more := true
	if !m.began {
		m.began, more = true, m.d.firstMember()
	} else if more, err = m.d.nextMember(); err != nil {
		return "", 0, false, err
	}
	if !more {
		return "", 0, false, m.d.end()
	}
	if name, err = m.d.name(); err != nil {
		return "", 0, false, err
	}
	b = bit(name)
	if b == 0 && !m.names.add(name) || m.seen&b != 0 {
		return "", 0, false, ErrDuplicate
	}
	m.seen |= b
	return name, b, true, nil
}

func proofBit(name string) uint16 {
	switch name {
	case "htm":
		return 1 << 0
	case "htu":
		return 1 << 1
	case "jti":
		return 1 << 2
	case "ath":
		return 1 << 3
	case "nonce":
		return 1 << 4
	case "iat":
		return 1 << 5
	}
	return 0
}

// JWK is a decoded JSON Web Key (RFC 7517) as far as a verifier reads one.
// Absent string members are "".
type JWK struct {
	// Kty, Crv, Kid, Alg and Use are strings; X, Y (EC, OKP), N and E
	// (RSA) the base64url key material, undecoded.
	Kty, Crv, Kid, Alg, Use, X, Y, N, E string
	// KeyOps is "key_ops", an array of strings; HasKeyOps says whether it
	// was present.
	KeyOps    []string
	HasKeyOps bool
	// Private names the first member of a private or symmetric key present
	// (RFC 7518 §6.3.2, §6.4: d, p, q, dp, dq, qi, oth; §6.4.1: k), "" when
	// there is none. Its value is validated, never decoded.
	Private string
}

// ParseJWK decodes the JSON object s, a JWK, into k: the members above must
// have their types (a private member may have any), any other member is
// validated and skipped, and s is held to the package's strict rules.
func ParseJWK(s string, k *JWK) error {
	*k = JWK{KeyOps: k.KeyOps[:0]}
	var m members
	if err := m.begin(s); err != nil {
		return err
	}
	d := &m.d
	for {
		name, _, ok, err := m.next(noBit)
		if !ok {
			return err
		}
		switch name {
		case "kty":
			k.Kty, err = d.stringMember(name)
		case "crv":
			k.Crv, err = d.stringMember(name)
		case "kid":
			k.Kid, err = d.stringMember(name)
		case "alg":
			k.Alg, err = d.stringMember(name)
		case "use":
			k.Use, err = d.stringMember(name)
		case "x":
			k.X, err = d.stringMember(name)
		case "y":
			k.Y, err = d.stringMember(name)
		case "n":
			k.N, err = d.stringMember(name)
		case "e":
			k.E, err = d.stringMember(name)
		case "key_ops":
			k.HasKeyOps = true
			k.KeyOps, err = d.stringArray(name, k.KeyOps, true)
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			if k.Private == "" {
				k.Private = name
			}
			err = d.skipValue(1)
		default:
			err = d.skipValue(1)
		}
		if err != nil {
			return err
		}
	}
}

// noBit registers no name: every member's name goes to the nameSet.
func noBit(string) uint16 { return 0 }
