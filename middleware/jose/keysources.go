package jose

import (
	"context"
	"errors"
)

// multiKeySource tries its sources in order.
type multiKeySource []KeySource

// MultiKeySource returns a KeySource over srcs (nil ones are ignored), for
// example a token.Issuer's own keys and a RemoteJWKS.
//
// With a kid, the sources are tried in order and the first that has the key
// answers: ErrKeyNotFound from one moves on to the next, and so does any
// other error, such as ErrKeysUnavailable. If none has the key, the answer is
// ErrKeysUnavailable only when every source was unavailable (so the gate
// answers 503 rather than 401), else ErrKeyNotFound.
//
// Without a kid, every source is asked and a key is returned only when
// exactly one source has exactly one key for alg, keeping the rule that a
// token without kid is accepted only where one configured key could have
// signed it. (A source holding several keys for alg answers ErrKeyNotFound,
// like one holding none, so that rule is kept per source and across sources
// that answer.)
func MultiKeySource(srcs ...KeySource) KeySource {
	m := make(multiKeySource, 0, len(srcs))
	for _, s := range srcs {
		if s != nil {
			m = append(m, s)
		}
	}
	return m
}

// LookupKey implements KeySource.
func (m multiKeySource) LookupKey(ctx context.Context, kid, alg string) (*Key, error) {
	unavailable := 0
	var found *Key
	for _, s := range m {
		k, err := s.LookupKey(ctx, kid, alg)
		switch {
		case err == nil && kid != "":
			return k, nil
		case err == nil:
			if found != nil {
				return nil, ErrKeyNotFound // two sources could have signed it
			}
			found = k
		case errors.Is(err, ErrKeyNotFound):
		default:
			unavailable++
		}
	}
	if found != nil {
		return found, nil
	}
	if unavailable == len(m) {
		return nil, ErrKeysUnavailable
	}
	return nil, ErrKeyNotFound
}
