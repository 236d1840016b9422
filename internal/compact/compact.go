// Package compact splits and decodes the JWS compact serialization (RFC 7515
// §7.1) strictly: the one shape parser of everything apiguard verifies, the
// access tokens of the gate (middleware) and the DPoP proofs of
// middleware/dpop, so that both refuse exactly the same texts.
package compact

import (
	"encoding/base64"
	"strings"
)

// Fault says why Parse refused a text. The zero value, OK, means it did not.
type Fault uint8

const (
	// OK: no fault.
	OK Fault = iota
	// TooLarge: longer than the caller's cap.
	TooLarge
	// Malformed: not three non-empty dot-separated segments of [A-Za-z0-9_-].
	Malformed
	// BadBase64: the right shape, but padding, '+' or '/', a segment length
	// of 4n+1, or non-zero unused bits (not canonical base64url).
	BadBase64
)

// Parts is a compact JWS split and decoded. Header and Payload are the
// decoded JSON texts (substrings of one string); SigningInput ("header.payload"
// as received) and Sig share one buffer.
type Parts struct {
	Header, Payload string
	SigningInput    []byte
	Sig             []byte
}

// Parse checks the shape of a compact JWS and decodes its segments: at most
// max bytes, exactly two dots, only [A-Za-z0-9_-], no padding, and each
// segment in canonical base64url (enc must be base64.RawURLEncoding.Strict(),
// which refuses non-zero unused bits; with '\r' and '\n' refused by the scan,
// decoding is then one-to-one, so re-encoding gives back the same text).
//
// Hostile input costs linear time: the dots are found with IndexByte (the
// search stops at the third), the decoder stops at its first bad byte, and
// only a refused text is scanned once more, by classify, to name the fault.
// It allocates twice: one buffer for the bytes, one string for the JSON.
func Parse(token string, max int, enc *base64.Encoding) (Parts, Fault) {
	if len(token) > max {
		return Parts{}, TooLarge
	}
	// Find the dots with the vectorized IndexByte; a third dot fails at once.
	dot1 := strings.IndexByte(token, '.')
	if dot1 <= 0 {
		return Parts{}, Malformed
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.') + dot1 + 1
	if dot2 == dot1 || dot2 == dot1+1 || dot2 == len(token)-1 || strings.IndexByte(token[dot2+1:], '.') >= 0 {
		return Parts{}, Malformed
	}
	// The decoder refuses every byte outside [A-Za-z0-9_-] except '\r' and
	// '\n', which it skips: refuse those here, so decoding is one-to-one.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return Parts{}, Malformed
	}
	h, p, s := token[:dot1], token[dot1+1:dot2], token[dot2+1:]
	if len(h)%4 == 1 || len(p)%4 == 1 || len(s)%4 == 1 {
		return Parts{}, classify(token)
	}
	// One buffer holds the token's bytes (the decoder's input and the
	// signing input) and the decoded segments; one string holds the decoded
	// header and payload.
	hn, pn, sn := enc.DecodedLen(len(h)), enc.DecodedLen(len(p)), enc.DecodedLen(len(s))
	buf := make([]byte, len(token)+hn+pn+sn)
	in, out := buf[:copy(buf, token)], buf[len(token):]
	if n, err := enc.Decode(out[:hn], in[:dot1]); err != nil || n != hn {
		return Parts{}, classify(token)
	}
	if n, err := enc.Decode(out[hn:hn+pn], in[dot1+1:dot2]); err != nil || n != pn {
		return Parts{}, classify(token)
	}
	if n, err := enc.Decode(out[hn+pn:], in[dot2+1:]); err != nil || n != sn {
		return Parts{}, classify(token)
	}
	text := string(out[:hn+pn])
	return Parts{
		Header:       text[:hn],
		Payload:      text[hn:],
		SigningInput: in[:dot2],
		Sig:          out[hn+pn:],
	}, OK
}

// classify names why a text the fast path refused is not a canonical compact
// JWS, in one pass that stops at the first bad byte or third dot.
func classify(token string) Fault {
	dots, seg := 0, 0
	lens := [3]int{}
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			lens[seg]++
		case c == '.':
			if dots++; dots == 3 {
				return Malformed
			}
			seg++
		case c == '+', c == '/', c == '=':
			return BadBase64
		default:
			return Malformed
		}
	}
	if dots != 2 || lens[0] == 0 || lens[1] == 0 || lens[2] == 0 {
		return Malformed
	}
	// Right alphabet and shape: the length or the unused bits are wrong.
	return BadBase64
}
