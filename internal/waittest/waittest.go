// Package waittest holds how tests wait for something that happens in another goroutine
// or process: poll a condition until it holds, or fail the test after a deadline. It is
// imported by tests only.
package waittest

import (
	"testing"
	"time"
)

// Timeout is how long For waits, and Interval how often it asks.
const (
	Timeout  = 10 * time.Second
	Interval = 20 * time.Millisecond
)

// For polls cond every Interval until it returns true, and fails the test (naming what it
// waited for) when it has not within Timeout.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(Interval)
	}
}
