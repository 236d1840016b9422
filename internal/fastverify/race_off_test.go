//go:build !race

package fastverify

const raceEnabled = false
