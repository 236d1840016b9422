package middleware

import (
	"encoding/base64"
	"unsafe"
)

// compact is a JWS compact serialization split and decoded. header and
// payload are the decoded JSON texts; they alias buf, which is never written
// after decoding, so they are ordinary immutable strings.
type compact struct {
	header, payload string
	signingInput    string // "header.payload" as received
	sig             []byte
}

// parseCompact checks the shape of a compact JWS and decodes its segments:
// at most max bytes, exactly two dots, only [A-Za-z0-9_-], no padding, and
// each segment in canonical base64url (enc must be
// base64.RawURLEncoding.Strict(), which refuses non-zero unused bits; with
// '\r' and '\n' refused by the scan, decoding is then one-to-one, so
// re-encoding gives back the same text).
//
// The scan is a single pass that stops at the first bad byte or the third
// dot, so hostile input costs at most one look at each byte.
func parseCompact(token string, max int, enc *base64.Encoding) (compact, Reason) {
	if len(token) > max {
		return compact{}, ReasonTokenTooLarge
	}
	dot1, dot2 := -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return compact{}, ReasonMalformed
			}
		case c == '=' || c == '+' || c == '/':
			return compact{}, ReasonBadBase64
		default:
			return compact{}, ReasonMalformed
		}
	}
	if dot2 < 0 || dot1 == 0 || dot2 == dot1+1 || dot2 == len(token)-1 {
		return compact{}, ReasonMalformed
	}
	h, p, s := token[:dot1], token[dot1+1:dot2], token[dot2+1:]
	if len(h)%4 == 1 || len(p)%4 == 1 || len(s)%4 == 1 {
		return compact{}, ReasonBadBase64
	}
	hn, pn, sn := enc.DecodedLen(len(h)), enc.DecodedLen(len(p)), enc.DecodedLen(len(s))
	buf := make([]byte, hn+pn+sn)
	if n, err := enc.Decode(buf[:hn], view(h)); err != nil || n != hn {
		return compact{}, ReasonBadBase64
	}
	if n, err := enc.Decode(buf[hn:hn+pn], view(p)); err != nil || n != pn {
		return compact{}, ReasonBadBase64
	}
	if n, err := enc.Decode(buf[hn+pn:], view(s)); err != nil || n != sn {
		return compact{}, ReasonBadBase64
	}
	return compact{
		header:       unsafe.String(&buf[0], hn),
		payload:      unsafe.String(&buf[hn], pn),
		signingInput: token[:dot2],
		sig:          buf[hn+pn:],
	}, ""
}

// view returns the bytes of s without copying. The result must only be read:
// it is passed to functions (base64 decoding, signature verification) that
// never write their input.
func view(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
