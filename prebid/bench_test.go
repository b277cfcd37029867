package prebid

import (
	"encoding/json"
	"testing"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// BenchmarkComplete: validate and complete one bid, with and without writing
// ext.prebid.type (the one allocation).
func BenchmarkComplete(b *testing.B) {
	imp := bannerImp([2]int64{300, 250})
	ext := json.RawMessage(`{"dsp":{"seat":"s1","deal":null},"prebid":{"meta":{"adomain":["a.com"]}}}`)
	typed := json.RawMessage(`{"dsp":{"seat":"s1","deal":null},"prebid":{"type":"banner","meta":{"adomain":["a.com"]}}}`)
	for _, bc := range []struct {
		name string
		ext  json.RawMessage
	}{{"writes type", ext}, {"type present", typed}, {"no ext", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				bid := openrtb2.Bid{ID: "b1", ImpID: "1", CrID: "cr", AdM: "<div/>", Ext: bc.ext}
				if r := Complete(&bid, imp); r != RejectNone {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkBucket: the hb_pb of one price with the auto granularity.
func BenchmarkBucket(b *testing.B) {
	b.ReportAllocs()
	var buf []byte
	for i := 0; i < b.N; i++ {
		buf = Auto.AppendBucket(buf[:0], 7_654_321)
	}
}

// BenchmarkKeys: the targeting keys of a winning bid, both key sets.
func BenchmarkKeys(b *testing.B) {
	t := Targeting{Granularity: Medium, IncludeWinners: true, IncludeBidderKeys: true, IncludeFormat: true}
	bid := TargetBid{Bidder: "dspa", ID: "b1", Price: 1_234_000, Media: MediaBanner, W: 300, H: 250, Winner: true}
	b.ReportAllocs()
	dst := make([]KeyValue, 0, 16)
	for i := 0; i < b.N; i++ {
		dst = t.Keys(dst[:0], &bid)
	}
}
