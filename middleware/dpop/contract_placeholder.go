// PLACEHOLDER, NOT THE REAL PACKAGE. The dpop helper builds package dpop on
// branch dpop (see /work/notes/dpop-contract.md); this file only declares
// the contract's names so that branch gate compiles until that branch is
// merged, and is deleted by that merge. New always fails and Verify refuses
// everything: nothing here verifies a proof.

// Package dpop is a placeholder of the DPoP verifier's contract.
package dpop

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrReplay is the contract's replay error.
var ErrReplay = errors.New("dpop: proof replayed")

// ReplayCache is the contract's replay cache.
type ReplayCache interface {
	Use(ctx context.Context, jkt, jti string, expires time.Time) error
}

// MemoryReplayCache is the contract's memory replay cache (placeholder).
type MemoryReplayCache struct{}

// NewMemoryReplayCache is a placeholder.
func NewMemoryReplayCache(max int) *MemoryReplayCache { return &MemoryReplayCache{} }

// Use always fails: this is a placeholder.
func (*MemoryReplayCache) Use(context.Context, string, string, time.Time) error {
	return errPlaceholder
}

// Config is the contract's configuration.
type Config struct {
	Algorithms     []string
	MaxAge         time.Duration
	Leeway         time.Duration
	Replay         ReplayCache
	NonceSecret    []byte
	NonceStep      time.Duration
	PublicURL      string
	TrustedProxies []string
	MaxProofSize   int
	Now            func() time.Time
}

// Verifier is the contract's verifier (placeholder: it verifies nothing).
type Verifier struct{}

var errPlaceholder = errors.New("dpop: placeholder of branch gate, merge branch dpop")

// New always fails: this is a placeholder.
func New(cfg Config) (*Verifier, error) { return nil, errPlaceholder }

// Algorithms is a placeholder.
func (v *Verifier) Algorithms() []string { return []string{"ES256"} }

// Nonce is a placeholder.
func (v *Verifier) Nonce() string { return "" }

// Verify refuses every proof: this is a placeholder.
func (v *Verifier) Verify(r *http.Request, accessToken string) (*Proof, error) {
	return nil, &Error{Code: "invalid_dpop_proof", Reason: "dpop_placeholder", Description: "invalid DPoP proof", Status: http.StatusUnauthorized, Err: errPlaceholder}
}

// Proof is the contract's verified proof.
type Proof struct {
	JKT       string
	JTI       string
	Alg       string
	IssuedAt  time.Time
	NextNonce string
}

// Error is the contract's refusal.
type Error struct {
	Code        string
	Reason      string
	Description string
	Nonce       string
	Status      int
	Err         error
}

func (e *Error) Error() string { return "dpop: " + e.Reason }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
