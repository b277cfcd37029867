package training

import "testing"

// The downsampling draw decides which no-bid rows a seed keeps: pin a few draws so that
// a change of hash shows up here, not as a silently different training sample.
func TestKeepUniformIsPinned(t *testing.T) {
	for _, c := range []struct {
		seed          uint64
		req, imp, dsp string
		want          float64
	}{
		{0, "", "", "", 0.14808806872409186},
		{1, "req-1", "1", "alpha", 0.5588590728560502},
		{42, "6f1c2a", "imp-2", "bravo", 0.5054634224053314},
		{7, "a", "bc", "d", 0.6323826576086292},
		{7, "ab", "c", "d", 0.8606973632477879},
	} {
		if got := keepUniform(c.seed, c.req, c.imp, c.dsp); got != c.want {
			t.Errorf("keepUniform(%d, %q, %q, %q) = %v, want %v", c.seed, c.req, c.imp, c.dsp, got, c.want)
		}
	}
}
