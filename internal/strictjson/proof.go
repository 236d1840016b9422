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
	d, err := begin(s)
	if err != nil {
		return err
	}
	*c = ProofClaims{}
	var names nameSet // names other than the registered ones below
	var seen uint16   // registered names seen, one bit each
	for more := d.firstMember(); more; {
		name, err := d.name()
		if err != nil {
			return err
		}
		bit := proofBit(name)
		if bit == 0 && !names.add(name) || seen&bit != 0 {
			return ErrDuplicate
		}
		seen |= bit
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
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	return d.end()
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
	d, err := begin(s)
	if err != nil {
		return err
	}
	*k = JWK{KeyOps: k.KeyOps[:0]}
	var names nameSet // every name: a JWK has few members
	for more := d.firstMember(); more; {
		name, err := d.name()
		if err != nil {
			return err
		}
		if !names.add(name) {
			return ErrDuplicate
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
		if more, err = d.nextMember(); err != nil {
			return err
		}
	}
	return d.end()
}
