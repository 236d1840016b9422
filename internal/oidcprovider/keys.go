package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// rsaKeyBits is the size of every signing key this provider makes.
const rsaKeyBits = 2048

// signingKey is the private half, handed to op when it signs an access token.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

var _ op.SigningKey = (*signingKey)(nil)

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is one entry of the JWKS. Only the public key is ever exposed.
type publicKey struct {
	id  string
	key *rsa.PublicKey
}

var _ op.Key = (*publicKey)(nil)

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }

// keyRing holds the current signing key and every public key issued so far, so
// that tokens signed before a rotation still verify against the JWKS.
type keyRing struct {
	mu      sync.RWMutex
	current *signingKey
	public  []*publicKey // oldest first; the current key is the last one
}

func newKeyRing() (*keyRing, error) {
	r := &keyRing{}
	if _, err := r.rotate(); err != nil {
		return nil, err
	}
	return r, nil
}

// rotate makes a fresh RSA key the signing key and returns its kid. The old
// public keys stay in the set.
func (r *keyRing) rotate() (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaKeyBits)
	if err != nil {
		return "", fmt.Errorf("oidcprovider: generate RSA key: %w", err)
	}
	kid, err := thumbprintKID(&priv.PublicKey)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = &signingKey{id: kid, key: priv}
	r.public = append(r.public, &publicKey{id: kid, key: &priv.PublicKey})
	return kid, nil
}

func (r *keyRing) signing() *signingKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

func (r *keyRing) keySet() []op.Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	keys := make([]op.Key, len(r.public))
	for i, k := range r.public {
		keys[i] = k
	}
	return keys
}

// thumbprintKID names a key by its RFC 7638 SHA-256 thumbprint, so a new key
// always gets a new kid and the kid can be checked against the key itself.
func thumbprintKID(pub *rsa.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("oidcprovider: key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
