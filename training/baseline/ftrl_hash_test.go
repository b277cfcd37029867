package baseline

import (
	"slices"
	"testing"

	"github.com/bidsieve/bidsieve/features"
)

// A stored FTRL model is a table of weights indexed by these buckets: pin them (a string,
// a bool, an int, a bucketed float and a cross) so that a change of hash, which would
// make every stored baseline score garbage, shows up here.
func TestFTRLBucketsArePinned(t *testing.T) {
	groups := [][]string{{}, {"country"}, {"publisher", "format"}, {"user_id"}, {"hour_utc"}, {"floor_bucket", "country"}}
	h, err := newHasher(groups, 22)
	if err != nil {
		t.Fatal(err)
	}
	r := features.Raw{Country: "USA", Region: "CA", DeviceType: "phone", OS: "ios", Channel: "app",
		Publisher: "p7", Format: "300x250", HourUTC: 13, FloorCPM: 0.75, UserID: true}
	for _, c := range []struct {
		dsp  string
		want []uint32
	}{
		{"alpha", []uint32{0x216bca, 0x3dfadd, 0x36e2bd, 0xe9870, 0x183f8f, 0x2184d8}},
		{"bravo", []uint32{0xc4152, 0xc2815, 0xdd65, 0x1833d8, 0x102417, 0x145960}},
	} {
		if got := h.buckets(&r, c.dsp); !slices.Equal(got, c.want) {
			t.Errorf("buckets for %s = %#x, want %#x", c.dsp, got, c.want)
		}
	}
}
