package gateway

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/bidsieve/bidsieve/config"
	"github.com/prebid/openrtb/v19/openrtb2"
)

func TestNoBidAnswers(t *testing.T) {
	failing := func(*openrtb2.BidRequest) answer { return answer{status: http.StatusInternalServerError} }
	withExt := func(ext string, cur ...string) *openrtb2.BidRequest {
		r := request("r1", 0)
		r.Ext = json.RawMessage(ext)
		r.Cur = cur
		return r
	}
	tests := []struct {
		name   string
		mode   string
		dsp    func(*openrtb2.BidRequest) answer
		req    *openrtb2.BidRequest
		status int
		body   string // exactly; "" for none
	}{
		{"auto, not a Prebid client", config.NoBidAuto, noBid, withExt(`{"other":1}`), 204, ""},
		{"auto, Prebid client", config.NoBidAuto, noBid, withExt(`{"prebid":{"targeting":{}}}`), 200, `{"id":"r1","seatbid":[],"cur":"USD"}`},
		{"auto, Prebid client, its currency", config.NoBidAuto, noBid, withExt(`{"prebid":{}}`, "EUR"), 200, `{"id":"r1","seatbid":[],"cur":"EUR"}`},
		{"auto, ext.prebid null", config.NoBidAuto, noBid, withExt(`{"prebid":null}`), 204, ""},
		{"auto, Prebid client, every DSP failed", config.NoBidAuto, failing, withExt(`{"prebid":{}}`), 200, `{"id":"r1","seatbid":[],"cur":"USD","nbr":1}`},
		{"204 for everyone", config.NoBid204, noBid, withExt(`{"prebid":{}}`), 204, ""},
		{"200 for everyone", config.NoBid200, noBid, withExt(``), 200, `{"id":"r1","seatbid":[],"cur":"USD"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(newFakeDSP(t, tt.dsp), newFakeDSP(t, tt.dsp))
			cfg.Auction.NoBid = tt.mode
			tg := newTestGateway(t, cfg)
			status, body := tg.post(t, tt.req)
			if status != tt.status || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", status, body, tt.status, tt.body)
			}
			tg.stop(t) // the auction is counted after the answer; stopping waits for it
			if n := tg.metric(t, "bidsieve_auctions_total", "result", resultNoBid); n != 1 {
				t.Errorf("no-bid auctions %d, want 1", n)
			}
		})
	}
}

// TestNoBidNBRNeedsEveryCallFailed: one DSP answering "no bid" while another fails is an
// ordinary no-fill, not a technical error.
func TestNoBidNBRNeedsEveryCallFailed(t *testing.T) {
	cfg := testConfig(newFakeDSP(t, noBid), newFakeDSP(t, func(*openrtb2.BidRequest) answer { return answer{status: 500} }))
	tg := newTestGateway(t, cfg)
	r := request("r1", 0)
	r.Ext = json.RawMessage(`{"prebid":{}}`)
	if status, body := tg.post(t, r); status != 200 || string(body) != `{"id":"r1","seatbid":[],"cur":"USD"}` {
		t.Errorf("got %d %s, want 200 and no nbr", status, body)
	}
}
