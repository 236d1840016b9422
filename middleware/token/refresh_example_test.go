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
