package token

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// Errors of the refresh-token lifecycle. A token endpoint answers every error
// that matches ErrInvalidGrant with 400 invalid_grant and the same body, and
// every error that matches ErrStoreUnavailable with 503: the client never
// learns whether a token was unknown, expired, revoked or replayed.
var (
	// ErrInvalidGrant means the refresh token is malformed, unknown, spent,
	// expired, or belongs to a revoked family.
	ErrInvalidGrant = errors.New("apiguard: invalid refresh token")

	// ErrRefreshReuse means a spent refresh token was presented again: the
	// token was stolen or the client is broken, and the whole family has been
	// revoked (RFC 9700 section 4.14.2). errors.Is(err, ErrInvalidGrant) is
	// true for it, so callers that only answer invalid_grant need no special
	// case.
	ErrRefreshReuse = fmt.Errorf("%w: spent refresh token reused, family revoked", ErrInvalidGrant)

	// ErrRefreshKeyMismatch means the refresh token was presented without
	// proof of the key its family is bound to (RotateOptions.JKT empty or
	// another key's), or with a proof for a family that is bound to no key.
	// Nothing was spent, and the family is neither burnt nor revoked: the
	// legitimate holder, who has the key, keeps refreshing, while a thief
	// who copied the token but not the key gets nothing, not even the power
	// to sign the user out by replaying it. The attempt is recorded
	// (RefreshConfig.Audit). errors.Is(err, ErrInvalidGrant) is true for it.
	ErrRefreshKeyMismatch = fmt.Errorf("%w: refresh token presented without its family's key", ErrInvalidGrant)

	// ErrStoreUnavailable wraps an error of the refresh store (for example
	// Redis being unreachable). Nothing was decided: answer 503, never a
	// success and never invalid_grant.
	ErrStoreUnavailable = errors.New("apiguard: refresh store unavailable")
)

// RefreshTokenLen is the length of a refresh token: 32 random bytes (256
// bits) in unpadded base64url.
const RefreshTokenLen = 43

// refreshTokenBytes and familyIDBytes are the entropy of a refresh token
// and of a family ID.
const (
	refreshTokenBytes = 32
	familyIDBytes     = 16
	familyIDLen       = 22 // unpadded base64url of 16 bytes
)

// DefaultFamilyTTL is the absolute lifetime of a refresh-token family: after
// it, the user signs in again however recently the family was refreshed.
const DefaultFamilyTTL = 7 * 24 * time.Hour

// Family is a chain of refresh tokens descending from one sign-in. Only its
// newest token is usable; every older one is spent, and presenting a spent one
// revokes the family.
type Family struct {
	// ID is 128 random bits in unpadded base64url. It is not a secret: it
	// names the family in the audit log and in RevokeFamily.
	ID string
	// Subject is the sub of the access tokens minted from the family.
	Subject string
	// Roles are the roles granted at sign-in, kept across refreshes (or
	// reloaded by RefreshConfig.Reload).
	Roles []string
	// CreatedAt is the sign-in time.
	CreatedAt time.Time
	// ExpiresAt is the absolute end of the family, CreatedAt + FamilyTTL.
	ExpiresAt time.Time
	// JKT is the RFC 7638 thumbprint (SHA-256, unpadded base64url) of the
	// DPoP key the family is bound to (RFC 9449 §5), for its whole life: a
	// spend is refused (ErrRefreshKeyMismatch) unless the request proved
	// possession of that key. Empty: an unbound family, which refuses every
	// spend that comes with a proof (see RotateWith).
	JKT string
}

// DefaultRetryWindow is how long after a spend presenting the spent token
// again returns the same successor rather than counting as reuse, as long as
// that successor is unspent: long enough for go-redis to retry a script
// whose reply was lost and for a client to retry a refresh answered 503 or
// lost on the way, short enough that a thief replaying a stolen token
// meets reuse detection at the next rotation by either party.
const DefaultRetryWindow = 15 * time.Second

// MaxRetryWindow bounds RefreshConfig.RetryWindow.
const MaxRetryWindow = time.Minute

// Successor is the token a spend installs: its SHA-256, and the token itself
// sealed (AES-256-GCM) under a key derived from the token it replaces, so
// that only whoever presents that spent token can open it. A store keeps the
// sealed form only for the retry window; it never sees the successor in the
// clear.
type Successor struct {
	Hash   [32]byte
	Sealed []byte
}

// SpendRequest is one spend asked of a RefreshStore.
type SpendRequest struct {
	// Hash is the SHA-256 of the presented token.
	Hash [32]byte
	// Next is the successor to install when Hash is the current token.
	Next Successor
	// Now is the time of the request: a family whose absolute expiry is not
	// after Now is refused.
	Now time.Time
	// RetryUntil ends this spend's retry window (Now + the window): until
	// then, Hash presented again gets Next back (Retry), as long as Next is
	// still current.
	RetryUntil time.Time
	// JKT is the thumbprint of the key the request proved possession of
	// (empty: no proof). Unless it equals the family's Family.JKT, the
	// spend is refused with ErrRefreshKeyMismatch before any other decision
	// about Hash, and nothing changes.
	JKT string
}

// SpendResult is what a successful spend returns.
type SpendResult struct {
	// Family is the family, or the revoked family with ErrRefreshReuse, or
	// the unchanged family with ErrRefreshKeyMismatch.
	Family Family
	// Next is the family's current token after the call: the request's for
	// a fresh spend, the earlier spend's for a retry.
	Next Successor
	// Retry reports that Hash had been spent within its retry window and
	// its successor is still unspent: nothing changed, and Next is that
	// successor.
	Retry bool
}

// RefreshStore keeps refresh-token families. It sees token hashes and sealed
// successors only, never tokens. Implementations must be safe for concurrent
// use, and Spend must be atomic: of any number of concurrent Spend calls
// with the same hash, at most one installs a successor, and every other one
// sees its outcome.
//
// Errors: ErrInvalidGrant (or an error wrapping it) for a decision against the
// token, ErrRefreshReuse for a replayed spent token, ErrRefreshKeyMismatch
// for a spend without the family's key, anything else for a store failure
// (RefreshTokens wraps it in ErrStoreUnavailable).
type RefreshStore interface {
	// Create stores a new family whose current token has hash tokenHash. The
	// family is forgotten after fam.ExpiresAt. fam.JKT is kept with it, and
	// never changes.
	Create(ctx context.Context, fam Family, tokenHash [32]byte) error

	// Lookup returns the family a token hash belongs to, whether the token is
	// current or spent, without changing anything. It answers
	// ErrInvalidGrant for an unknown hash and for a revoked or expired
	// (at now) family.
	Lookup(ctx context.Context, tokenHash [32]byte, now time.Time) (Family, error)

	// Spend atomically exchanges the family's current token for a new one:
	//   - req.Hash is a token (current or spent) of a live family whose JKT
	//     differs from req.JKT: nothing changes, and Spend returns the
	//     family with ErrRefreshKeyMismatch; this is decided before the
	//     cases below, so a token presented without its key is never spent,
	//     retried or taken for reuse;
	//   - req.Hash is the current token of a live family: it becomes spent,
	//     req.Next becomes current and is remembered, sealed, until
	//     req.RetryUntil; Spend returns the family and req.Next;
	//   - req.Hash is the token spent most recently, req.Now is before that
	//     spend's RetryUntil, and the family is live: a retry; nothing
	//     changes and Spend returns the family, the successor that spend
	//     installed, and Retry (the same presentation, retried, gets the
	//     same successor, however many times);
	//   - req.Hash is any other spent token of a live family (an older one,
	//     the previous one after its window, or after its successor was
	//     itself spent): the family is revoked and Spend returns the family
	//     with ErrRefreshReuse;
	//   - req.Hash is unknown, or its family is revoked or expired at
	//     req.Now: ErrInvalidGrant.
	// Spent hashes stay known until the family expires.
	Spend(ctx context.Context, req SpendRequest) (SpendResult, error)

	// RevokeFamily revokes every token of the family. Revoking an unknown or
	// expired family is not an error.
	RevokeFamily(ctx context.Context, familyID string) error
}

// SessionRevoker revokes the session of a family: every access token whose
// sid claim names it. A middleware.RevocationList (memory or Redis) is one;
// this package names only the method it calls, so that the gate's package
// never has to import this one.
type SessionRevoker interface {
	RevokeSession(ctx context.Context, iss, sid string, keepUntil time.Time) error
}

// RefreshConfig configures RefreshTokens. Only Store is required.
type RefreshConfig struct {
	// Store keeps the families. Required.
	Store RefreshStore
	// FamilyTTL is the absolute lifetime of a family. Zero means
	// DefaultFamilyTTL (7 days); negative is an error.
	FamilyTTL time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Rand is the source of tokens and family IDs. Nil means crypto/rand;
	// only tests should set it.
	Rand io.Reader
	// Reload, when set, is called at each rotation with the family's subject
	// and its result replaces the roles returned for the new access token,
	// so a demoted user loses a role at the next refresh. An error wrapping
	// ErrInvalidGrant (the user is gone or disabled) revokes the family and
	// fails the rotation with ErrInvalidGrant; any other error fails it with
	// ErrStoreUnavailable and leaves the presented token unspent. Nil means
	// the roles granted at sign-in are kept.
	Reload func(ctx context.Context, sub string) (roles []string, err error)
	// Audit records refresh reuse, retries and family revocations. Nil
	// records nothing.
	Audit *auditlog.Logger
	// RetryWindow is how long after a spend the same token, presented
	// again, gets the same successor instead of revoking the family (see
	// DefaultRetryWindow). Zero means DefaultRetryWindow (15 s); negative or
	// above MaxRetryWindow (1 min) is an error.
	RetryWindow time.Duration

	// Revocation, when set, revokes the session of every family revoked
	// here (a reuse, RevokeFamily, a denied Reload): RevokeSession(Issuer,
	// family ID), so the family's access tokens, which carry the family ID
	// as their sid claim (IssuerConfig's SessionID, per token), are refused
	// by every gate using this list at once instead of living until they
	// expire. Nil revokes refresh tokens only.
	Revocation SessionRevoker
	// Issuer is the iss of the access tokens minted from the families.
	// Required with Revocation.
	Issuer string
	// AccessTTL is how long a session revocation is kept: the longest
	// lifetime of those access tokens plus the gate's leeway. Zero means
	// DefaultAccessTTL + 1 minute.
	AccessTTL time.Duration
}

// RefreshTokens issues and rotates refresh tokens. It is safe for concurrent
// use when its store is.
//
// A refresh token is 256 random bits in unpadded base64url. Only its SHA-256
// reaches the store; the token itself is never stored and never logged (the
// audit log names it by auditlog.TokenID at most).
type RefreshTokens struct {
	store     RefreshStore
	ttl       time.Duration
	now       func() time.Time
	rand      io.Reader
	reload    func(ctx context.Context, sub string) ([]string, error)
	audit     *auditlog.Logger
	window    time.Duration
	revoke    SessionRevoker
	iss       string
	accessTTL time.Duration
}

// NewRefreshTokens validates c and returns a RefreshTokens.
func NewRefreshTokens(c RefreshConfig) (*RefreshTokens, error) {
	if c.Store == nil {
		return nil, errors.New("apiguard: RefreshConfig.Store is nil")
	}
	if c.FamilyTTL < 0 {
		return nil, fmt.Errorf("apiguard: RefreshConfig.FamilyTTL is negative (%v)", c.FamilyTTL)
	}
	if c.FamilyTTL == 0 {
		c.FamilyTTL = DefaultFamilyTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.RetryWindow < 0 || c.RetryWindow > MaxRetryWindow {
		return nil, fmt.Errorf("apiguard: RefreshConfig.RetryWindow %v is outside [0, %v]", c.RetryWindow, MaxRetryWindow)
	}
	if c.RetryWindow == 0 {
		c.RetryWindow = DefaultRetryWindow
	}
	if c.Revocation != nil && c.Issuer == "" {
		return nil, errors.New("apiguard: RefreshConfig.Issuer is empty while Revocation is set")
	}
	if c.AccessTTL < 0 {
		return nil, fmt.Errorf("apiguard: RefreshConfig.AccessTTL is negative (%v)", c.AccessTTL)
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = DefaultAccessTTL + time.Minute
	}
	return &RefreshTokens{
		store:     c.Store,
		ttl:       c.FamilyTTL,
		now:       c.Now,
		rand:      c.Rand,
		reload:    c.Reload,
		audit:     c.Audit,
		window:    c.RetryWindow,
		revoke:    c.Revocation,
		iss:       c.Issuer,
		accessTTL: c.AccessTTL,
	}, nil
}

// StartOptions are the optional parts of a family begun by StartWith.
type StartOptions struct {
	// JKT binds the family to a DPoP key (RFC 9449 §5): the thumbprint of
	// the key of the sign-in request's verified DPoP proof (dpop.Proof.JKT),
	// 43 characters of unpadded base64url. Every rotation must then prove
	// the same key (RotateOptions.JKT), so a stolen refresh token is useless
	// without it. RFC 9449 §5 requires it for public clients; a confidential
	// client's refresh tokens are bound by its client authentication
	// instead, and may stay unbound. Empty: an unbound family.
	JKT string
}

// RotateOptions are what a refresh request proved, for RotateWith.
type RotateOptions struct {
	// JKT is the thumbprint of the key of the refresh request's verified
	// DPoP proof (dpop.Proof.JKT); empty when it carried none. It must be
	// the family's Family.JKT (both empty for an unbound family).
	JKT string
}

// Start begins an unbound family for a sign-in of sub with roles and returns
// its first refresh token: StartWith with no options.
func (rt *RefreshTokens) Start(ctx context.Context, sub string, roles []string) (string, Family, error) {
	return rt.StartWith(ctx, sub, roles, StartOptions{})
}

// StartWith begins a family for a sign-in of sub with roles, bound to the
// DPoP key o.JKT when it is set, and returns its first refresh token. A
// malformed o.JKT is an error naming it (a caller's bug: answer 500).
func (rt *RefreshTokens) StartWith(ctx context.Context, sub string, roles []string, o StartOptions) (string, Family, error) {
	if sub == "" {
		return "", Family{}, errors.New("apiguard: refresh: empty subject")
	}
	if err := checkThumbprint("refresh: StartOptions.JKT", o.JKT); err != nil {
		return "", Family{}, err
	}
	var idb [familyIDBytes]byte
	if _, err := io.ReadFull(rt.rand, idb[:]); err != nil {
		return "", Family{}, fmt.Errorf("apiguard: refresh: reading random family id: %w", err)
	}
	tok, h, err := rt.newToken()
	if err != nil {
		return "", Family{}, err
	}
	now := rt.now()
	fam := Family{
		ID:        base64.RawURLEncoding.EncodeToString(idb[:]),
		Subject:   sub,
		Roles:     slices.Clone(roles),
		CreatedAt: now,
		ExpiresAt: now.Add(rt.ttl),
		JKT:       o.JKT,
	}
	if err := rt.store.Create(ctx, fam, h); err != nil {
		return "", Family{}, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return tok, fam, nil
}

// Rotate spends token, presented without a DPoP proof, and returns its
// successor: RotateWith with no options. The token of a family bound to a
// key is refused (ErrRefreshKeyMismatch) and stays unspent.
func (rt *RefreshTokens) Rotate(ctx context.Context, token string) (string, Family, error) {
	return rt.RotateWith(ctx, token, RotateOptions{})
}

// RotateWith spends token and returns its successor with the family (whose
// Roles are reloaded when RefreshConfig.Reload is set). Errors match
// ErrInvalidGrant (ErrRefreshReuse for a replayed spent token, returned with
// the family, now revoked; ErrRefreshKeyMismatch, returned with the family,
// unchanged) or ErrStoreUnavailable.
//
// Key binding (RFC 9449 §5): o.JKT must equal the family's JKT, which the
// store checks atomically before anything else, so a mismatch changes
// nothing:
//   - a bound family's token without a proof, or with another key's, is
//     refused: whoever presents it lacks the key, so it cannot be the
//     legitimate client; spending it would hand the thief a successor,
//     and revoking the family would let anyone who ever saw a token sign
//     the user out. The token stays usable by its holder, and the attempt
//     is a security_threat event (reason refresh_key_mismatch);
//   - an unbound family's token with a proof is refused too (reason
//     refresh_family_unbound): binding a family mid-life would let a thief
//     holding an unbound token claim the family for his own key, after
//     which the legitimate client's presentations would be mismatches
//     rather than reuse, and the theft would go unseen. A client that
//     turns DPoP on signs in again (StartWith with the key);
//   - reuse detection is unchanged for whoever proves the key: a spent
//     token of a bound family presented with the family's key revokes it.
//
// The retry window (below) is subject to the same check: a retry gets the
// successor only with the family's key.
//
// Rotate is idempotent within the retry window (RefreshConfig.RetryWindow):
// the token presented again, by a retry of the store's script after a lost
// reply or by a client retrying after a 503, gets the same successor as
// long as that successor is unspent. Concurrent presentations of one token
// therefore all get the same successor; never two different ones. After the
// window, or once the successor has been used, presenting the token is reuse.
func (rt *RefreshTokens) RotateWith(ctx context.Context, token string, o RotateOptions) (string, Family, error) {
	if err := checkThumbprint("refresh: RotateOptions.JKT", o.JKT); err != nil {
		return "", Family{}, err
	}
	h, ok := HashRefreshToken(token)
	if !ok {
		return "", Family{}, ErrInvalidGrant
	}
	now := rt.now()
	var roles []string
	if rt.reload != nil {
		fam, err := rt.store.Lookup(ctx, h, now)
		if err != nil {
			return "", Family{}, rt.storeErr(err)
		}
		if fam.JKT != o.JKT {
			// Refused before Reload: no directory call, and no denial
			// revoking the family, for whoever lacks the key. (A family's
			// JKT never changes; the store checks again when spending.)
			return "", fam, rt.keyMismatch(ctx, token, fam, o.JKT)
		}
		roles, err = rt.reload(ctx, fam.Subject)
		if err != nil {
			if errors.Is(err, ErrInvalidGrant) {
				if rerr := rt.store.RevokeFamily(ctx, fam.ID); rerr != nil {
					return "", fam, fmt.Errorf("%w: %w", ErrStoreUnavailable, rerr)
				}
				rt.audit.RecordContext(ctx, auditlog.Event{
					Name:   auditlog.TokenRevoked,
					Reason: "refresh_reload_denied",
					Sub:    fam.Subject,
					Detail: "refresh family " + fam.ID + " revoked",
				})
				if rerr := rt.revokeSession(ctx, fam); rerr != nil {
					return "", fam, rerr
				}
				return "", fam, ErrInvalidGrant
			}
			return "", Family{}, fmt.Errorf("%w: reloading roles: %w", ErrStoreUnavailable, err)
		}
	}
	next, nh, err := rt.newToken()
	if err != nil {
		return "", Family{}, err
	}
	sealed, err := sealSuccessor(rt.rand, token, h, next, nh)
	if err != nil {
		return "", Family{}, err
	}
	res, err := rt.store.Spend(ctx, SpendRequest{
		Hash:       h,
		Next:       Successor{Hash: nh, Sealed: sealed},
		Now:        now,
		RetryUntil: now.Add(rt.window),
		JKT:        o.JKT,
	})
	fam := res.Family
	if err != nil {
		if errors.Is(err, ErrRefreshKeyMismatch) {
			return "", fam, rt.keyMismatch(ctx, token, fam, o.JKT)
		}
		if errors.Is(err, ErrRefreshReuse) {
			rt.audit.RecordContext(ctx, auditlog.Event{
				Name:   auditlog.RefreshReuse,
				Reason: "refresh_reuse",
				Sub:    fam.Subject,
				Token:  auditlog.TokenID(token),
				Detail: "refresh family " + fam.ID + " revoked",
			})
			// The refresh family is dead whatever happens to its session;
			// a failure here is in the audit log (revokeSession).
			_ = rt.revokeSession(ctx, fam)
			return "", fam, ErrRefreshReuse
		}
		return "", Family{}, rt.storeErr(err)
	}
	if res.Next.Hash != nh {
		// A retry: the successor installed by the earlier spend.
		next, ok = openSuccessor(token, h, res.Next)
		if !ok {
			return "", Family{}, fmt.Errorf("%w: the stored successor does not open", ErrStoreUnavailable)
		}
	}
	if res.Retry {
		rt.audit.RecordContext(ctx, auditlog.Event{
			Name:   auditlog.TokenRefresh,
			Reason: "refresh_retry",
			Sub:    fam.Subject,
			Token:  auditlog.TokenID(token),
			Detail: "refresh token presented again within the retry window; same successor",
		})
	}
	if rt.reload != nil {
		fam.Roles = roles
	}
	return next, fam, nil
}

// keyMismatch records a refusal for want of the family's key and returns
// ErrRefreshKeyMismatch.
func (rt *RefreshTokens) keyMismatch(ctx context.Context, token string, fam Family, jkt string) error {
	ev := auditlog.Event{
		Name:   auditlog.SecurityThreat,
		Reason: "refresh_key_mismatch",
		Sub:    fam.Subject,
		Token:  auditlog.TokenID(token),
		Detail: "refresh family " + fam.ID + " is bound to a DPoP key; token presented without a proof of it; nothing spent",
	}
	switch {
	case fam.JKT == "":
		ev.Name, ev.Reason = auditlog.TokenRejected, "refresh_family_unbound"
		ev.Detail = "refresh family " + fam.ID + " is bound to no key; a DPoP proof cannot bind it mid-life; nothing spent"
	case jkt != "":
		ev.Detail = "refresh family " + fam.ID + " is bound to a DPoP key; token presented with another key's proof; nothing spent"
	}
	rt.audit.RecordContext(ctx, ev)
	return ErrRefreshKeyMismatch
}

// RevokeFamily revokes every refresh token of the family (a logout, or an
// administrator's action), and its session when RefreshConfig.Revocation is
// set. A malformed ID is ErrInvalidGrant; an unknown one is not an error.
func (rt *RefreshTokens) RevokeFamily(ctx context.Context, familyID string) error {
	if !validRefreshFamilyID(familyID) {
		return ErrInvalidGrant
	}
	if err := rt.store.RevokeFamily(ctx, familyID); err != nil {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	rt.audit.RecordContext(ctx, auditlog.Event{
		Name:   auditlog.TokenRevoked,
		Reason: "refresh_family_revoked",
		Detail: "refresh family " + familyID + " revoked",
	})
	return rt.revokeSession(ctx, Family{ID: familyID})
}

// revokeSession revokes the family's session in the configured revocation
// list. A failure is recorded (the list may hold it locally while its shared
// store is down) and returned wrapped in ErrStoreUnavailable.
func (rt *RefreshTokens) revokeSession(ctx context.Context, fam Family) error {
	if rt.revoke == nil || fam.ID == "" {
		return nil
	}
	err := rt.revoke.RevokeSession(ctx, rt.iss, fam.ID, rt.now().Add(rt.accessTTL))
	if err != nil {
		rt.audit.RecordContext(ctx, auditlog.Event{
			Name:   auditlog.StoreUnavailable,
			Reason: "session_revocation_failed",
			Sub:    fam.Subject,
			Detail: "refresh family " + fam.ID + " revoked; its access tokens may live until they expire",
		})
		return fmt.Errorf("%w: revoking the session: %w", ErrStoreUnavailable, err)
	}
	return nil
}

// successorInfo is the HKDF info of the key sealing a successor.
const successorInfo = "apiguard refresh successor v1"

// successorKey derives the key that seals the successor of token. It comes
// from the token itself, which no store holds (they keep its SHA-256, a
// different function of it), so a store's content alone never opens a
// sealed successor.
func successorKey(token string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, []byte(token), nil, successorInfo, 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// sealSuccessor seals next under the key of token: nonce || AES-256-GCM,
// with the two hashes as additional data.
func sealSuccessor(r io.Reader, token string, h [32]byte, next string, nh [32]byte) ([]byte, error) {
	aead, err := successorKey(token)
	if err != nil {
		return nil, fmt.Errorf("apiguard: refresh: sealing successor: %w", err)
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(next)+aead.Overhead())
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("apiguard: refresh: reading random nonce: %w", err)
	}
	return aead.Seal(out, out, []byte(next), successorAD(h, nh)), nil
}

// openSuccessor opens a successor sealed by sealSuccessor and checks that it
// is the token whose hash the store holds as current.
func openSuccessor(token string, h [32]byte, s Successor) (string, bool) {
	aead, err := successorKey(token)
	if err != nil || len(s.Sealed) < aead.NonceSize() {
		return "", false
	}
	n := aead.NonceSize()
	pt, err := aead.Open(nil, s.Sealed[:n], s.Sealed[n:], successorAD(h, s.Hash))
	if err != nil {
		return "", false
	}
	next := string(pt)
	if got, ok := HashRefreshToken(next); !ok || got != s.Hash {
		return "", false
	}
	return next, true
}

func successorAD(h, nh [32]byte) []byte {
	ad := make([]byte, 0, 64)
	return append(append(ad, h[:]...), nh[:]...)
}

// storeErr keeps ErrInvalidGrant decisions as they are (without the store's
// wording, which may say why) and wraps everything else in
// ErrStoreUnavailable.
func (rt *RefreshTokens) storeErr(err error) error {
	if errors.Is(err, ErrInvalidGrant) {
		return ErrInvalidGrant
	}
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
}

func (rt *RefreshTokens) newToken() (string, [32]byte, error) {
	var b [refreshTokenBytes]byte
	if _, err := io.ReadFull(rt.rand, b[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("apiguard: refresh: reading random token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	return tok, sha256.Sum256([]byte(tok)), nil
}

// HashRefreshToken checks that token has the shape of a refresh token (43
// characters of unpadded base64url, canonical) and returns the SHA-256 a
// store keeps for it. ok is false for anything else, which is rejected
// before any store is asked.
func HashRefreshToken(token string) (hash [32]byte, ok bool) {
	if !validB64Of32(token) {
		return hash, false
	}
	return sha256.Sum256([]byte(token)), true
}

// validB64Of32 reports whether s is 32 bytes in canonical unpadded
// base64url: a refresh token, or a SHA-256 thumbprint (jkt, x5t#S256).
func validB64Of32(s string) bool {
	if len(s) != RefreshTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !refreshB64Char(s[i]) {
			return false
		}
	}
	// 43 characters carry 258 bits: the last one must leave the two spare
	// bits zero, or several strings would name the same 32 bytes.
	return refreshB64Value(s[len(s)-1])&0x3 == 0
}

func validRefreshFamilyID(id string) bool {
	if len(id) != familyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !refreshB64Char(id[i]) {
			return false
		}
	}
	// 22 characters carry 132 bits: the 4 spare bits must be zero.
	return refreshB64Value(id[len(id)-1])&0xf == 0
}

func refreshB64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func refreshB64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	default:
		return 63
	}
}
