package jose

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// MaxJWKSKeys is the most members a JWK Set's "keys" array may have; a larger
// set is refused as a whole (no provider publishes more than a few dozen).
const MaxJWKSKeys = 1000

// maxJWKSDepth bounds the nesting the set splitter follows. Each key is then
// held to strictjson's own, lower, cap.
const maxJWKSDepth = 64

// errJSONSyntax is the splitter's one error for input that is not JSON.
var errJSONSyntax = errors.New("not valid JSON")

// splitKeySet reads a JWK Set document and returns the raw text of each
// member of its "keys" array, unparsed: each is judged on its own, so that
// one bad key (a duplicate member name, invalid UTF-8, not an object at all)
// is set aside without taking the others down.
//
// The document itself must be one JSON object, with exactly one "keys"
// member, an array of at most MaxJWKSKeys members, and nothing after it;
// outside the keys it is held to strictjson's rules (UTF-8, no duplicate
// member names, bounded nesting). Member names are compared after
// unescaping, so "\u006beys" is "keys".
func splitKeySet(data []byte) ([][]byte, error) {
	sc := jsonScanner{s: data}
	sc.ws()
	if !sc.eat('{') {
		return nil, errors.New("not a JSON object")
	}
	var keys [][]byte
	found := false
	arrStart, arrEnd := 0, 0 // the bytes between '[' and ']' of "keys"
	sc.ws()
	if !sc.eat('}') {
		for {
			name, err := sc.name()
			if err != nil {
				return nil, err
			}
			sc.ws()
			if name != "keys" {
				if err := sc.value(1); err != nil {
					return nil, err
				}
			} else {
				if found {
					return nil, errors.New(`two "keys" members`)
				}
				found = true
				if !sc.eat('[') {
					return nil, errors.New(`"keys" is not an array`)
				}
				arrStart = sc.i
				sc.ws()
				if !sc.eat(']') {
					for {
						sc.ws()
						start := sc.i
						if err := sc.value(2); err != nil {
							return nil, err
						}
						if len(keys) == MaxJWKSKeys {
							return nil, errors.New("more than " + strconv.Itoa(MaxJWKSKeys) + " keys")
						}
						keys = append(keys, data[start:sc.i])
						sc.ws()
						if sc.eat(']') {
							break
						}
						if !sc.eat(',') {
							return nil, errJSONSyntax
						}
					}
				}
				arrEnd = sc.i - 1
			}
			sc.ws()
			if sc.eat('}') {
				break
			}
			if !sc.eat(',') {
				return nil, errJSONSyntax
			}
		}
	}
	sc.ws()
	if sc.i != len(data) {
		return nil, errors.New("data after the JSON object")
	}
	if !found {
		return nil, errors.New(`no "keys" member`)
	}
	// The document without the keys' text: its names and other members are
	// held to the same strict rules as a key.
	skeleton := make([]byte, 0, len(data)-(arrEnd-arrStart))
	skeleton = append(append(skeleton, data[:arrStart]...), data[arrEnd:]...)
	if err := strictjson.Valid(string(skeleton)); err != nil {
		return nil, err
	}
	return keys, nil
}

// objectMembers returns the members of the JSON object raw, whose syntax the
// splitter has already checked, by unescaped name; a name given twice keeps
// its first value and sets dup. It is the lenient view used to find the kid
// and private members of a key that the strict reading refuses.
func objectMembers(raw []byte) (members map[string][]byte, dup bool, ok bool) {
	sc := jsonScanner{s: raw}
	sc.ws()
	if !sc.eat('{') {
		return nil, false, false
	}
	members = make(map[string][]byte)
	sc.ws()
	if sc.eat('}') {
		return members, false, true
	}
	for {
		name, err := sc.name()
		if err != nil {
			return nil, false, false
		}
		sc.ws()
		start := sc.i
		if err := sc.value(1); err != nil {
			return nil, false, false
		}
		if _, seen := members[name]; seen {
			dup = true
		} else {
			members[name] = raw[start:sc.i]
		}
		sc.ws()
		if sc.eat('}') {
			return members, dup, true
		}
		if !sc.eat(',') {
			return nil, false, false
		}
	}
}

// jsonScanner checks JSON syntax (RFC 8259) without building values. It
// does not judge UTF-8 or duplicate names: strictjson does, per key.
type jsonScanner struct {
	s []byte
	i int
}

func (sc *jsonScanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *jsonScanner) eat(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// name reads `"name" :` and returns the name unescaped.
func (sc *jsonScanner) name() (string, error) {
	tok, err := sc.rawName()
	if err != nil {
		return "", err
	}
	var name string
	if err := json.Unmarshal(tok, &name); err != nil {
		return "", errJSONSyntax
	}
	return name, nil
}

// value skips one JSON value at nesting depth.
func (sc *jsonScanner) value(depth int) error {
	if depth > maxJWKSDepth {
		return errors.New("nesting too deep")
	}
	if sc.i >= len(sc.s) {
		return errJSONSyntax
	}
	switch c := sc.s[sc.i]; {
	case c == '"':
		return sc.str()
	case c == '{':
		sc.i++
		sc.ws()
		if sc.eat('}') {
			return nil
		}
		for {
			if _, err := sc.rawName(); err != nil {
				return err
			}
			sc.ws()
			if err := sc.value(depth + 1); err != nil {
				return err
			}
			sc.ws()
			if sc.eat('}') {
				return nil
			}
			if !sc.eat(',') {
				return errJSONSyntax
			}
		}
	case c == '[':
		sc.i++
		sc.ws()
		if sc.eat(']') {
			return nil
		}
		for {
			sc.ws()
			if err := sc.value(depth + 1); err != nil {
				return err
			}
			sc.ws()
			if sc.eat(']') {
				return nil
			}
			if !sc.eat(',') {
				return errJSONSyntax
			}
		}
	case c == 't':
		return sc.literal("true")
	case c == 'f':
		return sc.literal("false")
	case c == 'n':
		return sc.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return sc.number()
	}
	return errJSONSyntax
}

// rawName reads `"name" :` without unescaping.
func (sc *jsonScanner) rawName() ([]byte, error) {
	sc.ws()
	start := sc.i
	if err := sc.str(); err != nil {
		return nil, err
	}
	tok := sc.s[start:sc.i]
	sc.ws()
	if !sc.eat(':') {
		return nil, errJSONSyntax
	}
	return tok, nil
}

// str skips a string: no control characters, only the escapes of RFC 8259.
func (sc *jsonScanner) str() error {
	if !sc.eat('"') {
		return errJSONSyntax
	}
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		sc.i++
		switch {
		case c == '"':
			return nil
		case c < 0x20:
			return errJSONSyntax
		case c == '\\':
			if sc.i >= len(sc.s) {
				return errJSONSyntax
			}
			e := sc.s[sc.i]
			sc.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if sc.i+4 > len(sc.s) {
					return errJSONSyntax
				}
				for _, h := range sc.s[sc.i : sc.i+4] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return errJSONSyntax
					}
				}
				sc.i += 4
			default:
				return errJSONSyntax
			}
		}
	}
	return errJSONSyntax
}

func (sc *jsonScanner) literal(lit string) error {
	if len(sc.s)-sc.i < len(lit) || string(sc.s[sc.i:sc.i+len(lit)]) != lit {
		return errJSONSyntax
	}
	sc.i += len(lit)
	return nil
}

// number skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (sc *jsonScanner) number() error {
	sc.eat('-')
	switch {
	case sc.eat('0'):
	case sc.i < len(sc.s) && '1' <= sc.s[sc.i] && sc.s[sc.i] <= '9':
		sc.digits()
	default:
		return errJSONSyntax
	}
	if sc.eat('.') {
		if sc.digits() == 0 {
			return errJSONSyntax
		}
	}
	if sc.eat('e') || sc.eat('E') {
		if !sc.eat('+') {
			sc.eat('-')
		}
		if sc.digits() == 0 {
			return errJSONSyntax
		}
	}
	return nil
}

func (sc *jsonScanner) digits() int {
	n := 0
	for sc.i < len(sc.s) && '0' <= sc.s[sc.i] && sc.s[sc.i] <= '9' {
		sc.i++
		n++
	}
	return n
}
