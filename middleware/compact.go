package middleware

import (
	"encoding/base64"
	"strings"
)

// compact is a JWS compact serialization split and decoded. header and
// payload are the decoded JSON texts (substrings of one string);
// signingInput and sig share one buffer.
type compact struct {
	header, payload string
	signingInput    []byte // "header.payload" as received
	sig             []byte
}

// parseCompact checks the shape of a compact JWS and decodes its segments:
// at most max bytes, exactly two dots, only [A-Za-z0-9_-], no padding, and
// each segment in canonical base64url (enc must be
// base64.RawURLEncoding.Strict(), which refuses non-zero unused bits; with
// '\r' and '\n' refused by the scan, decoding is then one-to-one, so
// re-encoding gives back the same text).
//
// Hostile input costs linear time: the dots are found with IndexByte (the
// search stops at the third), the decoder stops at its first bad byte, and
// only a refused token is scanned once more, by classify, to name the
// reason.
func parseCompact(token string, max int, enc *base64.Encoding) (compact, Reason) {
	if len(token) > max {
		return compact{}, ReasonTokenTooLarge
	}
	// Find the dots with the vectorized IndexByte; a third dot fails at once.
	dot1 := strings.IndexByte(token, '.')
	if dot1 <= 0 {
		return compact{}, ReasonMalformed
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.') + dot1 + 1
	if dot2 == dot1 || dot2 == dot1+1 || dot2 == len(token)-1 || strings.IndexByte(token[dot2+1:], '.') >= 0 {
		return compact{}, ReasonMalformed
	}
	// The decoder refuses every byte outside [A-Za-z0-9_-] except '\r' and
	// '\n', which it skips: refuse those here, so decoding is one-to-one.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return compact{}, ReasonMalformed
	}
	h, p, s := token[:dot1], token[dot1+1:dot2], token[dot2+1:]
	if len(h)%4 == 1 || len(p)%4 == 1 || len(s)%4 == 1 {
		return compact{}, classify(token)
	}
	// One buffer holds the token's bytes (the decoder's input and the
	// signing input) and the decoded segments; one string holds the decoded
	// header and payload.
	hn, pn, sn := enc.DecodedLen(len(h)), enc.DecodedLen(len(p)), enc.DecodedLen(len(s))
	buf := make([]byte, len(token)+hn+pn+sn)
	in, out := buf[:copy(buf, token)], buf[len(token):]
	if n, err := enc.Decode(out[:hn], in[:dot1]); err != nil || n != hn {
		return compact{}, classify(token)
	}
	if n, err := enc.Decode(out[hn:hn+pn], in[dot1+1:dot2]); err != nil || n != pn {
		return compact{}, classify(token)
	}
	if n, err := enc.Decode(out[hn+pn:], in[dot2+1:]); err != nil || n != sn {
		return compact{}, classify(token)
	}
	text := string(out[:hn+pn])
	return compact{
		header:       text[:hn],
		payload:      text[hn:],
		signingInput: in[:dot2],
		sig:          out[hn+pn:],
	}, ""
}

// classify names why a token the fast path refused is not a canonical
// compact JWS, in one pass that stops at the first bad byte or third dot.
func classify(token string) Reason {
	dots, seg := 0, 0
	lens := [3]int{}
	for i := 0; i < len(token); i++ {
		switch tokenClass[token[i]] {
		case cB64URL:
			lens[seg]++
		case cDot:
			if dots++; dots == 3 {
				return ReasonMalformed
			}
			seg++
		case cStd, cPad:
			return ReasonBadBase64
		default:
			return ReasonMalformed
		}
	}
	if dots != 2 || lens[0] == 0 || lens[1] == 0 || lens[2] == 0 {
		return ReasonMalformed
	}
	// Right alphabet and shape: the length or the unused bits are wrong.
	return ReasonBadBase64
}
