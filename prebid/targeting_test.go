package prebid

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseTargeting: Prebid Server's defaults and each field of ext.prebid.targeting.
func TestParseTargeting(t *testing.T) {
	tests := []struct {
		name    string
		ext     string
		want    *Targeting
		wantErr bool
	}{
		{"no ext", ``, nil, false},
		{"no targeting", `{"prebid":{"debug":true}}`, nil, false},
		{"defaults", `{"prebid":{"targeting":{}}}`, &Targeting{Granularity: Medium, IncludeWinners: true, IncludeBidderKeys: true}, false},
		{"name and flags", `{"prebid":{"targeting":{"pricegranularity":"dense","includewinners":true,"includebidderkeys":false,"includeformat":true}}}`,
			&Targeting{Granularity: Dense, IncludeWinners: true, IncludeFormat: true}, false},
		{"custom object", `{"prebid":{"targeting":{"pricegranularity":{"precision":1,"ranges":[{"max":10,"increment":1}]},"includewinners":false}}}`,
			&Targeting{Granularity: Granularity{1, []Range{{10_000_000, 1_000_000}}}, IncludeBidderKeys: true}, false},
		{"media type granularity", `{"prebid":{"targeting":{"mediatypepricegranularity":{"video":"high"}}}}`,
			&Targeting{Granularity: Medium, ByMedia: [numMedia]Granularity{MediaVideo: High}, IncludeWinners: true, IncludeBidderKeys: true}, false},
		{"both key sets off", `{"prebid":{"targeting":{"includewinners":false,"includebidderkeys":false}}}`, nil, true},
		{"bad granularity", `{"prebid":{"targeting":{"pricegranularity":"fine"}}}`, nil, true},
		{"bad media granularity", `{"prebid":{"targeting":{"mediatypepricegranularity":{"banner":{"precision":99,"ranges":[{"max":1,"increment":1}]}}}}}`, nil, true},
		{"not JSON", `{"prebid":`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTargeting(json.RawMessage(tt.ext))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestKeys: winner keys unsuffixed, bidder keys suffixed and cut at 20 characters, the
// format, deal and env keys only when asked for or present.
func TestKeys(t *testing.T) {
	all := Targeting{Granularity: Medium, IncludeWinners: true, IncludeBidderKeys: true}
	winner := TargetBid{Bidder: "dspa", ID: "b1", Price: 1_234_000, Media: MediaBanner, W: 300, H: 250, Winner: true}
	tests := []struct {
		name string
		t    Targeting
		b    TargetBid
		want []KeyValue
	}{
		{"winner, both key sets", all, winner, []KeyValue{
			{"hb_pb_dspa", "1.20"}, {"hb_pb", "1.20"},
			{"hb_bidder_dspa", "dspa"}, {"hb_bidder", "dspa"},
			{"hb_size_dspa", "300x250"}, {"hb_size", "300x250"},
			{"hb_adid_dspa", "b1"}, {"hb_adid", "b1"},
		}},
		{"loser: bidder keys only", all, TargetBid{Bidder: "dspb", ID: "b2", Price: 900_000, Media: MediaVideo}, []KeyValue{
			{"hb_pb_dspb", "0.90"}, {"hb_bidder_dspb", "dspb"}, {"hb_adid_dspb", "b2"},
		}},
		{"winners only", Targeting{Granularity: Low, IncludeWinners: true}, winner, []KeyValue{
			{"hb_pb", "1.00"}, {"hb_bidder", "dspa"}, {"hb_size", "300x250"}, {"hb_adid", "b1"},
		}},
		{"loser with winners only: nothing", Targeting{Granularity: Low, IncludeWinners: true}, TargetBid{Bidder: "x", Price: 1}, nil},
		{"format, deal, app", Targeting{Granularity: High, IncludeWinners: true, IncludeFormat: true},
			TargetBid{Bidder: "d", ID: "b", Price: 2_000_000, Media: MediaNative, DealID: "deal-7", App: true, Winner: true}, []KeyValue{
				{"hb_pb", "2.00"}, {"hb_bidder", "d"}, {"hb_adid", "b"}, {"hb_format", "native"}, {"hb_deal", "deal-7"}, {"hb_env", "mobile-app"},
			}},
		{"long bidder name cut at 20", Targeting{Granularity: Medium, IncludeBidderKeys: true},
			TargetBid{Bidder: "averyveryverylongdsp", ID: "b", Price: 100_000}, []KeyValue{
				{"hb_pb_averyveryveryl", "0.10"}, {"hb_bidder_averyveryv", "averyveryverylongdsp"}, {"hb_adid_averyveryver", "b"},
			}},
		{"media granularity wins for its type", Targeting{Granularity: Low, ByMedia: [numMedia]Granularity{MediaVideo: High}, IncludeWinners: true},
			TargetBid{Bidder: "d", ID: "b", Price: 1_230_000, Media: MediaVideo, Winner: true}, []KeyValue{
				{"hb_pb", "1.23"}, {"hb_bidder", "d"}, {"hb_adid", "b"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.t.Keys(nil, &tt.b)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestBidderKeyCutsOnARuneBoundary(t *testing.T) {
	got := bidderKey("hb_bidder", "dspéé") // "hb_bidder_dspé" is 15 bytes; 20 ends inside é
	got2 := bidderKey("hb_bidder", "dspaaaaéé")
	if got != "hb_bidder_dspéé" {
		t.Errorf("short key changed: %q", got)
	}
	if got2 != "hb_bidder_dspaaaaé" || len(got2) > MaxKeyLength {
		t.Errorf("got %q (%d bytes)", got2, len(got2))
	}
}

// TestSetTargeting: the keys land in ext.prebid.targeting beside ext.prebid.type and the
// DSP's own members, as valid JSON, with odd characters escaped.
func TestSetTargeting(t *testing.T) {
	kvs := []KeyValue{{"hb_pb", "1.20"}, {"hb_bidder", `d"s\p` + "\x01\xff"}, {"hb_pb", "dup"}}
	ext, ok := SetTargeting(json.RawMessage(`{"x":1,"prebid":{"type":"banner"}}`), kvs)
	if !ok {
		t.Fatal("refused")
	}
	var got struct {
		X      int `json:"x"`
		Prebid struct {
			Type      string            `json:"type"`
			Targeting map[string]string `json:"targeting"`
		} `json:"prebid"`
	}
	if err := json.Unmarshal(ext, &got); err != nil {
		t.Fatalf("%s: %v", ext, err)
	}
	want := map[string]string{"hb_pb": "1.20", "hb_bidder": `d"s\p` + "\x01\ufffd"}
	if got.X != 1 || got.Prebid.Type != "banner" || !cmp.Equal(got.Prebid.Targeting, want) {
		t.Errorf("ext %s", ext)
	}
	if _, ok := SetTargeting(json.RawMessage(`"s"`), kvs); ok {
		t.Error("a string ext was accepted")
	}
	if _, ok := SetTargeting(json.RawMessage(`{`), kvs); ok {
		t.Error("invalid JSON was accepted")
	}
}
