//go:build race

package loadtest

// raceEnabled: the race detector makes every HTTP round trip of the tester and of the
// test's server slower, by about a millisecond on the CI machine.
const raceEnabled = true
