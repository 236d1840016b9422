package ratelimit

import (
	"context"
	"errors"
)

type contextT = context.Context

var errTest = errors.New("store down")
