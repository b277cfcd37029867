package metrics

import "testing"

// A request's key groups its rows in training and evaluation alike: pin a few keys so
// that a change of hash shows up here.
func TestRequestKeyIsPinned(t *testing.T) {
	for _, c := range []struct {
		id   string
		want uint64
	}{
		{"", 0xc3817c016ba4ff30},
		{"a", 0x5f29c2aadd9b8527},
		{"req-1", 0x3bb8aa8883d7b8ec},
		{"6f1c2a9e-0b3d-4c1e-9a7f-2d5e8b1c0a4f", 0x13c7dae64c06f99f},
	} {
		if got := RequestKey(c.id); got != c.want {
			t.Errorf("RequestKey(%q) = %#x, want %#x", c.id, got, c.want)
		}
	}
}
