package strictjson

// StringForm says how ValueStrings reads a member that is a JSON string rather
// than an array of strings.
type StringForm uint8

const (
	// StringRefused: only an array of strings is accepted; a string is a
	// *TypeError.
	StringRefused StringForm = iota
	// StringWords: a string is space-separated words (RFC 6749 §3.3).
	StringWords
	// StringOne: a string is one value.
	StringOne
)

// PeekString returns the top-level string member name of the object s and
// whether it is present, checking the whole of s as strictly as ParseClaims
// does (UTF-8, one object, no duplicate member at any depth, depth and size
// caps, no trailing data). It is the gate's pre-read of "iss" from a payload
// whose signature has not been checked yet. A present member that is not a
// string is a *TypeError.
func PeekString(s, name string) (string, bool, error) {
	d, err := begin(s)
	if err != nil {
		return "", false, err
	}
	var names nameSet // as in ParseClaims: registered names by bit, others here
	var seen uint16
	var v string
	found := false
	for more := d.firstMember(); more; {
		n, err := d.name()
		if err != nil {
			return "", false, err
		}
		bit := claimBit(n)
		if bit == 0 && !names.add(n) || seen&bit != 0 {
			return "", false, ErrDuplicate
		}
		seen |= bit
		if n == name {
			found = true
			if v, err = d.stringMember(peekMember); err != nil {
				return "", false, err
			}
		} else if err = d.skipValue(1); err != nil {
			return "", false, err
		}
		if more, err = d.nextMember(); err != nil {
			return "", false, err
		}
	}
	if err := d.end(); err != nil {
		return "", false, err
	}
	return v, found, nil
}

// MemberString returns the top-level string member name of the object s,
// which must have been accepted by ParseClaims or Valid (so it is not
// checked again), and whether it is present. A present member that is not
// a string is a *TypeError.
func MemberString(s, name string) (string, bool, error) {
	d, err := begin(s)
	if err != nil {
		return "", false, err
	}
	for more := d.firstMember(); more; {
		n, err := d.name()
		if err != nil {
			return "", false, err
		}
		if n == name {
			v, err := d.stringMember(selectMember)
			return v, err == nil, err
		}
		if err = d.skipValue(1); err != nil {
			return "", false, err
		}
		if more, err = d.nextMember(); err != nil {
			return "", false, err
		}
	}
	return "", false, nil
}

// peekMember and selectMember name, in a *TypeError, the member PeekString
// or ValueStrings found of the wrong type (a fixed name, never input).
const (
	peekMember   = "peeked"
	selectMember = "selected"
)

// ValueStrings appends to dst the strings of the value v (raw JSON text kept
// by ParseClaims in Claims.Selected) or, with a path, of the member at path
// inside it (path[0] a member of v, path[1] a member of that object...).
// An array of strings gives its elements; a string is read as form says; an
// empty v, or a member absent on the way, gives nothing. Anything else on
// the path (an object member that is not an object, a value of another
// type) is a *TypeError: a claim the profile reads is never silently
// ignored.
func ValueStrings(v string, path []string, form StringForm, dst []string) ([]string, error) {
	if v == "" {
		return dst, nil
	}
	d := decoder{s: v}
	for _, name := range path {
		if d.peek() != '{' {
			return dst, &TypeError{Member: selectMember}
		}
		d.i++
		found := false
		for more := d.firstMember(); more; {
			n, err := d.name()
			if err != nil {
				return dst, err
			}
			if n == name {
				found = true
				break
			}
			if err = d.skipValue(2); err != nil {
				return dst, err
			}
			if more, err = d.nextMember(); err != nil {
				return dst, err
			}
		}
		if !found {
			return dst, nil
		}
	}
	if d.peek() == '"' {
		s, err := d.str()
		if err != nil {
			return dst, err
		}
		switch form {
		case StringWords:
			return appendFields(dst, s), nil
		case StringOne:
			if s == "" {
				return dst, &TypeError{Member: selectMember}
			}
			return append(dst, s), nil
		}
		return dst, &TypeError{Member: selectMember}
	}
	return d.stringArray(selectMember, dst, true)
}

// ValueString returns the string of the value v (raw JSON text kept by
// ParseClaims in Claims.Selected), false when v is empty (the member was absent), and a *TypeError
// when v is not a string.
func ValueString(v string) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	d := decoder{s: v}
	s, err := d.stringMember(selectMember)
	return s, err == nil, err
}
