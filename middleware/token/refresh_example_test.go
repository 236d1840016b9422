package token_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/apiguard/apiguard/middleware/token"
)

// A sign-in starts a family; each refresh spends the presented token and
// returns its successor; replaying a spent token revokes the whole family.
func ExampleRefreshTokens() {
	ctx := context.Background()
	rt, err := token.NewRefreshTokens(token.RefreshConfig{
		Store: token.NewMemoryRefreshStore(nil),
	})
	if err != nil {
		panic(err)
	}

	first, fam, _ := rt.Start(ctx, "alice", []string{"user"})
	second, fam2, err := rt.Rotate(ctx, first)
	fmt.Println("rotated:", err == nil, "same family:", fam2.ID == fam.ID, "roles:", fam2.Roles)

	// The same token presented again at once (a retry after a lost answer)
	// gets the same successor.
	again, _, err := rt.Rotate(ctx, first)
	fmt.Println("retry gets the same successor:", err == nil && again == second)

	// The client refreshes again; then an attacker replays the first token.
	third, _, _ := rt.Rotate(ctx, second)
	_, _, err = rt.Rotate(ctx, first)
	fmt.Println("replay:", errors.Is(err, token.ErrRefreshReuse), "answer invalid_grant:", errors.Is(err, token.ErrInvalidGrant))

	// The family is gone: the legitimate client must sign in again.
	_, _, err = rt.Rotate(ctx, third)
	fmt.Println("current token after the replay:", errors.Is(err, token.ErrInvalidGrant))

	// A malformed token is refused before any store lookup.
	_, _, err = rt.Rotate(ctx, "not-a-refresh-token")
	fmt.Println("malformed:", errors.Is(err, token.ErrInvalidGrant))
	// Output:
	// rotated: true same family: true roles: [user]
	// retry gets the same successor: true
	// replay: true answer invalid_grant: true
	// current token after the replay: true
	// malformed: true
}

// A family begun with a DPoP proof's key thumbprint (RFC 9449 §5) rotates
// only with a proof of the same key; a copied token alone is refused and
// spends nothing.
func ExampleRefreshTokens_StartWith() {
	ctx := context.Background()
	rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: token.NewMemoryRefreshStore(nil)})
	if err != nil {
		panic(err)
	}
	// jkt is dpop.Proof.JKT of the sign-in request's verified proof.
	const jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	first, fam, _ := rt.StartWith(ctx, "alice", []string{"user"}, token.StartOptions{JKT: jkt})
	fmt.Println("bound:", fam.JKT == jkt)

	// A thief with the token but without the key.
	_, _, err = rt.Rotate(ctx, first)
	fmt.Println("no proof:", errors.Is(err, token.ErrRefreshKeyMismatch), "answer invalid_grant:", errors.Is(err, token.ErrInvalidGrant))
	_, _, err = rt.RotateWith(ctx, first, token.RotateOptions{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
	fmt.Println("another key:", errors.Is(err, token.ErrRefreshKeyMismatch))

	// The client, with its key: the token was not spent by the refusals.
	_, fam2, err := rt.RotateWith(ctx, first, token.RotateOptions{JKT: jkt})
	fmt.Println("with the key:", err == nil, "still bound:", fam2.JKT == jkt)
	// Mint its access token with token.TokenOptions{SessionID: fam2.ID,
	// JKT: fam2.JKT}: the same key binds both (see ExampleIssuer_Issue_dpop).
	// Output:
	// bound: true
	// no proof: true answer invalid_grant: true
	// another key: true
	// with the key: true still bound: true
}
