//go:build race

package e2e

// raceEnabled: the race detector makes every auction several times slower.
const raceEnabled = true
