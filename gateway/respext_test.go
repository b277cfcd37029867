package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/prebid"
	"github.com/google/go-cmp/cmp"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// TestBidsAreValidatedAndCompleted: each DSP bid is checked and completed against the imp
// it names before the auction (prebid.Complete). A refused bid never wins, is counted by
// reason, and is named in a Prebid client's ext.errors; a completed one reaches the
// publisher with the size and media type Prebid.js needs.
func TestBidsAreValidatedAndCompleted(t *testing.T) {
	banner := openrtb2.Imp{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}
	multi := openrtb2.Imp{ID: "1", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}, {W: 728, H: 90}}}}
	video := openrtb2.Imp{ID: "1", Video: &openrtb2.Video{MIMEs: []string{"video/mp4"}, W: 640, H: 480}}
	both := openrtb2.Imp{ID: "1", Banner: banner.Banner, Video: video.Video}
	bid := func(f func(b *openrtb2.Bid)) openrtb2.Bid {
		b := openrtb2.Bid{ID: "b1", ImpID: "1", Price: 5, CrID: "cr1", AdM: "<ad/>"}
		f(&b)
		return b
	}
	tests := []struct {
		name   string
		imp    openrtb2.Imp
		bid    openrtb2.Bid
		reject string // the reason it is refused; "" when it must win
		// the winner as the publisher gets it
		w, h  int64
		mtype openrtb2.MarkupType
		ext   string
	}{
		{name: "no crid", imp: banner, bid: bid(func(b *openrtb2.Bid) { b.CrID = "" }), reject: "missing_crid"},
		{name: "no id", imp: banner, bid: bid(func(b *openrtb2.Bid) { b.ID = "" }), reject: "missing_id"},
		{name: "no impid", imp: banner, bid: bid(func(b *openrtb2.Bid) { b.ImpID = "" }), reject: "missing_impid"},
		{name: "an imp the request lacks", imp: banner, bid: bid(func(b *openrtb2.Bid) { b.ImpID = "9" }), reject: "unknown_imp"},
		{name: "single-size banner, no size or mtype: completed", imp: banner, bid: bid(func(*openrtb2.Bid) {}),
			w: 300, h: 250, mtype: openrtb2.MarkupBanner, ext: `{"prebid":{"type":"banner"}}`},
		{name: "multi-size banner, no size", imp: multi, bid: bid(func(*openrtb2.Bid) {}), reject: "missing_size"},
		{name: "multi-size banner with its size", imp: multi, bid: bid(func(b *openrtb2.Bid) { b.W, b.H = 728, 90 }),
			w: 728, h: 90, mtype: openrtb2.MarkupBanner, ext: `{"prebid":{"type":"banner"}}`},
		{name: "video bid on a banner imp", imp: banner, bid: bid(func(b *openrtb2.Bid) { b.MType = openrtb2.MarkupVideo }), reject: "media_type_not_offered"},
		{name: "video without adm or nurl", imp: video, bid: bid(func(b *openrtb2.Bid) { b.AdM = "" }), reject: "video_without_adm"},
		{name: "video, no size: the player's", imp: video, bid: bid(func(b *openrtb2.Bid) { b.AdM = "<VAST/>" }),
			w: 640, h: 480, mtype: openrtb2.MarkupVideo, ext: `{"prebid":{"type":"video"}}`},
		{name: "banner and video imp, no type", imp: both, bid: bid(func(*openrtb2.Bid) {}), reject: "ambiguous_media_type"},
		{name: "mtype and ext.prebid.type disagree", imp: both, bid: bid(func(b *openrtb2.Bid) {
			b.MType, b.Ext = openrtb2.MarkupBanner, json.RawMessage(`{"prebid":{"type":"video"}}`)
		}), reject: "media_type_conflict"},
		{name: "ext.prebid.type alone, the DSP's ext kept", imp: both, bid: bid(func(b *openrtb2.Bid) {
			b.Ext = json.RawMessage(`{"dsp":{"x":[1,2]},"prebid":{"type":"video","meta":{"adv":"a"}}}`)
		}), w: 640, h: 480, mtype: openrtb2.MarkupVideo, ext: `{"dsp":{"x":[1,2]},"prebid":{"type":"video","meta":{"adv":"a"}}}`},
		{name: "ext not an object", imp: banner, bid: bid(func(b *openrtb2.Bid) { b.Ext = json.RawMessage(`[1]`) }), reject: "invalid_ext"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeDSP(t, func(req *openrtb2.BidRequest) answer {
				return answer{body: openrtb2.BidResponse{ID: req.ID, SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{tt.bid}}}}}
			})
			tg := newTestGateway(t, testConfig(a))
			req := request("r1", 0)
			req.Imp = []openrtb2.Imp{tt.imp}
			req.Ext = json.RawMessage(`{"prebid":{}}`)
			status, body := tg.post(t, req)
			var resp struct {
				openrtb2.BidResponse
				Ext prebid.ResponseExt `json:"ext"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatalf("status %d body %q: %v", status, body, err)
			}
			tg.stop(t)
			n := tg.metric(t, "bidsieve_dsp_invalid_bids_total", "dsp", "a")
			if tt.reject != "" {
				if len(resp.SeatBid) != 0 {
					t.Errorf("body %s: a refused bid reached the publisher", body)
				}
				if got := tg.metric(t, "bidsieve_dsp_invalid_bids_total", "dsp", "a", "reason", tt.reject); got != 1 || n != 1 {
					t.Errorf("invalid bids of a: %d with reason %s, %d in all; want 1 and 1", got, tt.reject, n)
				}
				if e := resp.Ext.Errors["a"]; len(e) != 1 || e[0].Code != prebid.ErrorCodeBadServerResponse || !strings.HasSuffix(e[0].Message, "rejected: "+tt.reject) {
					t.Errorf("ext.errors.a = %+v; want one code 4 naming %s", e, tt.reject)
				}
				return
			}
			if status != http.StatusOK || len(resp.SeatBid) != 1 || n != 0 {
				t.Fatalf("status %d body %s, %d invalid bids: want the bid to win", status, body, n)
			}
			got := resp.SeatBid[0].Bid[0]
			if got.W != tt.w || got.H != tt.h || got.MType != tt.mtype || string(got.Ext) != tt.ext {
				t.Errorf("winner %dx%d mtype %d ext %s; want %dx%d mtype %d ext %s", got.W, got.H, got.MType, got.Ext, tt.w, tt.h, tt.mtype, tt.ext)
			}
		})
	}
}

// TestSeatNonBid: with ext.prebid.returnallbidstatus, each DSP considered says per imp why
// it has no bid in the auction, with the community extension's codes; the winner and the
// outbid loser are not listed. ext.responsetimemillis has every DSP called and ext.errors
// the failures.
func TestSeatNonBid(t *testing.T) {
	late := func(*openrtb2.BidRequest) answer { return answer{delay: 2 * time.Second} }
	a := newFakeDSP(t, bidOn(2, nil))                                                    // wins
	b := newFakeDSP(t, bidOn(1, nil))                                                    // outbid
	c := newFakeDSP(t, noBid)                                                            // no bid: 0
	d := newFakeDSP(t, late)                                                             // timeout: 101
	e := newFakeDSP(t, bidOn(3, func(b *openrtb2.Bid) { b.CrID = "" }))                  // refused bid: 300
	f := newFakeDSP(t, bidOn(0.05, nil))                                                 // below the 0.1 floor: 301
	g := newFakeDSP(t, bidOn(9, nil))                                                    // withheld by the model: 203
	h := newFakeDSP(t, func(*openrtb2.BidRequest) answer { return answer{status: 500} }) // error: 100
	m := newFakeModel("m1", time.Now(), map[string]calibration{
		"a": {0.5, true}, "b": {0.5, true}, "c": {0.5, true}, "d": {0.5, true},
		"e": {0.5, true}, "f": {0.5, true}, "g": {0.95, true}, "h": {0.5, true},
	})
	tg, _ := shapingGateway(t, m, func(cfg *config.Config) {
		cfg.Shaping.ExplorationRate = 0
		cfg.DSPs[3].Timeout = 50 * time.Millisecond
	}, a, b, c, d, e, f, g, h)
	for _, all := range []bool{true, false} {
		req := scoredRequest(0.9, 0)
		req.Ext = json.RawMessage(`{"prebid":{"returnallbidstatus":` + map[bool]string{true: "true", false: "false"}[all] + `}}`)
		status, body := tg.post(t, req)
		var resp struct {
			SeatBid []openrtb2.SeatBid `json:"seatbid"`
			Ext     prebid.ResponseExt `json:"ext"`
		}
		if err := json.Unmarshal(body, &resp); err != nil || status != http.StatusOK || len(resp.SeatBid) != 1 || resp.SeatBid[0].Seat != "a" {
			t.Fatalf("status %d body %s: want a to win", status, body)
		}
		if !all {
			if resp.Ext.SeatNonBid != nil {
				t.Errorf("seatnonbid %+v without returnallbidstatus", resp.Ext.SeatNonBid)
			}
			continue
		}
		want := []prebid.SeatNonBid{
			{Seat: "c", NonBid: []prebid.NonBid{{ImpID: "1", StatusCode: prebid.NoBid}}},
			{Seat: "d", NonBid: []prebid.NonBid{{ImpID: "1", StatusCode: prebid.ErrorTimeout}}},
			{Seat: "e", NonBid: []prebid.NonBid{{ImpID: "1", StatusCode: prebid.ResponseRejectedGeneral}}},
			{Seat: "f", NonBid: []prebid.NonBid{{ImpID: "1", StatusCode: prebid.ResponseRejectedBelowFloor}}},
			{Seat: "g", NonBid: []prebid.NonBid{{ImpID: "1", StatusCode: prebid.RequestBlockedOptimized}}},
			{Seat: "h", NonBid: []prebid.NonBid{{ImpID: "1", StatusCode: prebid.ErrorGeneral}}},
		}
		if diff := cmp.Diff(want, resp.Ext.SeatNonBid); diff != "" {
			t.Errorf("seatnonbid (-want +got):\n%s", diff)
		}
		var called []string
		for name := range resp.Ext.ResponseTimeMillis {
			called = append(called, name)
		}
		if len(called) != 7 || resp.Ext.ResponseTimeMillis["g"] != 0 || resp.Ext.ResponseTimeMillis["d"] < 40 {
			t.Errorf("responsetimemillis %v: want a-f and h, d near its 50 ms timeout or later", resp.Ext.ResponseTimeMillis)
		}
		errs := resp.Ext.Errors
		if len(errs) != 3 || errs["d"][0].Code != prebid.ErrorCodeTimeout || errs["h"][0].Code != prebid.ErrorCodeBadServerResponse ||
			errs["e"][0].Code != prebid.ErrorCodeBadServerResponse || strings.Contains(string(body), "127.0.0.1") {
			t.Errorf("ext.errors %+v: want d timeout (1), e's refused bid and h's 500 (4), no endpoint named", errs)
		}
	}
}

// TestTargetingKeys: a request asking for ext.prebid.targeting gets the winner's hb_ keys,
// priced at the clearing price in the asked granularity; a request without gets none; an
// unusable targeting ask is refused naming the field.
func TestTargetingKeys(t *testing.T) {
	a := newFakeDSP(t, bidOn(2.37, nil))
	b := newFakeDSP(t, bidOn(1.2, nil))
	tg := newTestGateway(t, testConfig(a, b))
	post := func(ext string) (int, []byte, map[string]string) {
		req := request("r1", 0)
		req.Ext = json.RawMessage(ext)
		status, body := tg.post(t, req)
		var resp openrtb2.BidResponse
		_ = json.Unmarshal(body, &resp)
		var bx struct {
			Prebid struct{ Targeting map[string]string } `json:"prebid"`
		}
		if len(resp.SeatBid) > 0 {
			_ = json.Unmarshal(resp.SeatBid[0].Bid[0].Ext, &bx)
		}
		return status, body, bx.Prebid.Targeting
	}
	_, body, kv := post(`{"prebid":{"targeting":{"pricegranularity":"dense","includeformat":true}}}`)
	want := map[string]string{
		"hb_pb": "1.21", "hb_bidder": "a", "hb_size": "300x250", "hb_adid": "b-1", "hb_format": "banner",
		"hb_pb_a": "1.21", "hb_bidder_a": "a", "hb_size_a": "300x250", "hb_adid_a": "b-1", "hb_format_a": "banner",
	}
	if diff := cmp.Diff(want, kv); diff != "" {
		t.Errorf("targeting of %s (-want +got):\n%s", body, diff)
	}
	if _, body, kv = post(`{"prebid":{"targeting":{"pricegranularity":"low","includebidderkeys":false}}}`); !cmp.Equal(kv, map[string]string{
		"hb_pb": "1.00", "hb_bidder": "a", "hb_size": "300x250", "hb_adid": "b-1"}) {
		t.Errorf("low, winners only: %s", body)
	}
	if _, body, kv = post(`{"prebid":{}}`); kv != nil {
		t.Errorf("targeting without the ask: %s", body)
	}
	status, body, _ := post(`{"prebid":{"targeting":{"includewinners":false,"includebidderkeys":false}}}`)
	if e := decodeError(t, body); status != http.StatusBadRequest || e.Field != "ext.prebid.targeting" {
		t.Errorf("both includes off: %d %s; want 400 naming ext.prebid.targeting", status, body)
	}
}
