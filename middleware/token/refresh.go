package token

import (
	"context"
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
}

// RefreshStore keeps refresh-token families. It sees token hashes only, never
// tokens. Implementations must be safe for concurrent use, and Spend must be
// atomic: of any number of concurrent Spend calls with the same hash, at most
// one succeeds. See MemoryRefreshStore and the Redis store in
// middleware/redisstore.
//
// Errors: ErrInvalidGrant (or an error wrapping it) for a decision against the
// token, ErrRefreshReuse for a replayed spent token, anything else for a
// store failure (RefreshTokens wraps it in ErrStoreUnavailable).
type RefreshStore interface {
	// Create stores a new family whose current token has hash tokenHash. The
	// family is forgotten after fam.ExpiresAt.
	Create(ctx context.Context, fam Family, tokenHash [32]byte) error

	// Lookup returns the family a token hash belongs to, whether the token is
	// current or spent, without changing anything. It answers
	// ErrInvalidGrant for an unknown hash and for a revoked or expired
	// (at now) family.
	Lookup(ctx context.Context, tokenHash [32]byte, now time.Time) (Family, error)

	// Spend atomically exchanges the family's current token for a new one:
	//   - tokenHash is the current token of a live family: it becomes spent,
	//     newHash becomes current, and the family is returned;
	//   - tokenHash is a spent token of a live family: the family is revoked
	//     and Spend returns the family with ErrRefreshReuse;
	//   - tokenHash is unknown, or its family is revoked or expired at now:
	//     ErrInvalidGrant.
	// Spent hashes stay known until the family expires.
	Spend(ctx context.Context, tokenHash, newHash [32]byte, now time.Time) (Family, error)

	// RevokeFamily revokes every token of the family. Revoking an unknown or
	// expired family is not an error.
	RevokeFamily(ctx context.Context, familyID string) error
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
	// Audit records refresh reuse and family revocations. Nil records
	// nothing.
	Audit *auditlog.Logger
}

// RefreshTokens issues and rotates refresh tokens. It is safe for concurrent
// use when its store is.
//
// A refresh token is 256 random bits in unpadded base64url. Only its SHA-256
// reaches the store; the token itself is never stored and never logged (the
// audit log names it by auditlog.TokenID at most).
type RefreshTokens struct {
	store  RefreshStore
	ttl    time.Duration
	now    func() time.Time
	rand   io.Reader
	reload func(ctx context.Context, sub string) ([]string, error)
	audit  *auditlog.Logger
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
	return &RefreshTokens{
		store:  c.Store,
		ttl:    c.FamilyTTL,
		now:    c.Now,
		rand:   c.Rand,
		reload: c.Reload,
		audit:  c.Audit,
	}, nil
}

// Start begins a family for a sign-in of sub with roles and returns its first
// refresh token.
func (rt *RefreshTokens) Start(ctx context.Context, sub string, roles []string) (string, Family, error) {
	if sub == "" {
		return "", Family{}, errors.New("apiguard: refresh: empty subject")
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
	}
	if err := rt.store.Create(ctx, fam, h); err != nil {
		return "", Family{}, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return tok, fam, nil
}

// Rotate spends token and returns its successor with the family (whose Roles
// are reloaded when RefreshConfig.Reload is set). Errors match
// ErrInvalidGrant (ErrRefreshReuse for a replayed spent token, returned with
// the family, now revoked) or ErrStoreUnavailable.
func (rt *RefreshTokens) Rotate(ctx context.Context, token string) (string, Family, error) {
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
				return "", fam, ErrInvalidGrant
			}
			return "", Family{}, fmt.Errorf("%w: reloading roles: %w", ErrStoreUnavailable, err)
		}
	}
	next, nh, err := rt.newToken()
	if err != nil {
		return "", Family{}, err
	}
	fam, err := rt.store.Spend(ctx, h, nh, now)
	if err != nil {
		if errors.Is(err, ErrRefreshReuse) {
			rt.audit.RecordContext(ctx, auditlog.Event{
				Name:   auditlog.RefreshReuse,
				Reason: "refresh_reuse",
				Sub:    fam.Subject,
				Token:  auditlog.TokenID(token),
				Detail: "refresh family " + fam.ID + " revoked",
			})
			return "", fam, ErrRefreshReuse
		}
		return "", Family{}, rt.storeErr(err)
	}
	if rt.reload != nil {
		fam.Roles = roles
	}
	return next, fam, nil
}

// RevokeFamily revokes every refresh token of the family (a logout, or an
// administrator's action). A malformed ID is ErrInvalidGrant; an unknown one
// is not an error.
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
	return nil
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
	if len(token) != RefreshTokenLen {
		return hash, false
	}
	for i := 0; i < len(token); i++ {
		if !refreshB64Char(token[i]) {
			return hash, false
		}
	}
	// 43 characters carry 258 bits: the last one must leave the two spare
	// bits zero, or several strings would name the same 32 bytes.
	if refreshB64Value(token[len(token)-1])&0x3 != 0 {
		return hash, false
	}
	return sha256.Sum256([]byte(token)), true
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
