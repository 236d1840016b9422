package main

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// demoUser is one account of the example's own user store.
type demoUser struct {
	name  string
	hash  []byte
	roles []string
}

// userStore is the example's in-memory user store: the demo users alice
// (roles user) and admin (roles user and admin), with their passwords hashed
// with bcrypt at start.
type userStore struct {
	users map[string]demoUser
	// dummy is a bcrypt hash of a random-looking password, compared against
	// when the user does not exist, so an unknown user costs the same time
	// as a wrong password (no user enumeration by timing).
	dummy []byte
}

var errBadCredentials = errors.New("bad credentials")

// bcryptCost is bcrypt's default cost; tests lower it through newUserStore.
const bcryptCost = bcrypt.DefaultCost

func newUserStore(cost int) (*userStore, error) {
	s := &userStore{users: map[string]demoUser{}}
	for _, u := range []struct {
		name, password string
		roles          []string
	}{
		{"alice", "alice-password", []string{"user"}},
		{"admin", "admin-password", []string{"user", "admin"}},
	} {
		h, err := bcrypt.GenerateFromPassword([]byte(u.password), cost)
		if err != nil {
			return nil, fmt.Errorf("hashing the demo password of %s: %w", u.name, err)
		}
		s.users[u.name] = demoUser{name: u.name, hash: h, roles: u.roles}
	}
	d, err := bcrypt.GenerateFromPassword([]byte("no user has this password"), cost)
	if err != nil {
		return nil, err
	}
	s.dummy = d
	return s, nil
}

// authenticate returns the user's roles when the password is right. Unknown
// users and wrong passwords take the same path: one bcrypt comparison.
func (s *userStore) authenticate(name, password string) ([]string, error) {
	u, ok := s.users[name]
	hash := u.hash
	if !ok {
		hash = s.dummy
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil || !ok {
		return nil, errBadCredentials
	}
	return append([]string(nil), u.roles...), nil
}

// roles returns a user's current roles (for refresh: roles are reloaded, so
// a role removed from a user ends with the next refresh).
func (s *userStore) roles(name string) ([]string, error) {
	u, ok := s.users[name]
	if !ok {
		return nil, errBadCredentials
	}
	return append([]string(nil), u.roles...), nil
}
