package gateway

import (
	"bytes"
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
		body   string // exactly, ext aside; "" for none
		ext    bool   // a Prebid client's ext: responsetimemillis of both DSPs
	}{
		{"auto, not a Prebid client", config.NoBidAuto, noBid, withExt(`{"other":1}`), 204, "", false},
		{"auto, Prebid client", config.NoBidAuto, noBid, withExt(`{"prebid":{"targeting":{}}}`), 200, `{"id":"r1","seatbid":[],"cur":"USD"}`, true},
		{"auto, Prebid client, its currency", config.NoBidAuto, noBid, withExt(`{"prebid":{}}`, "EUR"), 200, `{"id":"r1","seatbid":[],"cur":"EUR"}`, true},
		{"auto, ext.prebid null", config.NoBidAuto, noBid, withExt(`{"prebid":null}`), 204, "", false},
		{"auto, Prebid client, every DSP failed", config.NoBidAuto, failing, withExt(`{"prebid":{}}`), 200, `{"id":"r1","seatbid":[],"cur":"USD","nbr":1}`, true},
		{"204 for everyone", config.NoBid204, noBid, withExt(`{"prebid":{}}`), 204, "", false},
		{"200 for everyone", config.NoBid200, noBid, withExt(``), 200, `{"id":"r1","seatbid":[],"cur":"USD"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(newFakeDSP(t, tt.dsp), newFakeDSP(t, tt.dsp))
			cfg.Auction.NoBid = tt.mode
			tg := newTestGateway(t, cfg)
			status, body := tg.post(t, tt.req)
			rest, ext := splitExt(t, body)
			if status != tt.status || rest != tt.body {
				t.Errorf("got %d %q, want %d %q", status, body, tt.status, tt.body)
			}
			var e struct{ ResponseTimeMillis map[string]int }
			_ = json.Unmarshal(ext, &e)
			if got := len(e.ResponseTimeMillis) == 2; got != tt.ext {
				t.Errorf("ext %s: responsetimemillis of both DSPs %v, want %v", ext, got, tt.ext)
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
	status, body := tg.post(t, r)
	if rest, _ := splitExt(t, body); status != 200 || rest != `{"id":"r1","seatbid":[],"cur":"USD"}` {
		t.Errorf("got %d %s, want 200 and no nbr", status, body)
	}
}

// splitExt cuts a no-bid body's trailing ext member off: the body without it, and ext's
// value (nil without one). A no-bid body's members come in a fixed order, ext last.
func splitExt(t *testing.T, body []byte) (string, []byte) {
	t.Helper()
	i := bytes.Index(body, []byte(`,"ext":`))
	if i < 0 {
		return string(body), nil
	}
	ext := body[i+len(`,"ext":`) : len(body)-1]
	if !json.Valid(ext) {
		t.Fatalf("body %s: ext is not JSON", body)
	}
	return string(body[:i]) + "}", ext
}
