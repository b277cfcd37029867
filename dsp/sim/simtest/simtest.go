// Package simtest holds what the tests of the simulator's packages share: the example
// profiles. It is imported by tests only.
package simtest

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/bidsieve/bidsieve/dsp/sim"
)

// ExamplePath is the path of the example profiles, dsp/sim/testdata/example.yaml (a copy
// of shared/sim/example.yaml), found from this file so that a test in any folder can use it.
func ExamplePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "example.yaml")
}

// LoadExample loads the example profiles, failing t if they do not load.
func LoadExample(t testing.TB) *sim.Profiles {
	t.Helper()
	p, err := sim.Load(ExamplePath())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
