//go:build !linux

package ratelimit

func threadCPU() int64 { return 0 }
