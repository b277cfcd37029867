package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// debugAnswer is an answer's body with its ext.debug decoded.
type debugAnswer struct {
	ID      string             `json:"id"`
	SeatBid []openrtb2.SeatBid `json:"seatbid"`
	Ext     struct {
		Debug *debugOut `json:"debug"`
	} `json:"ext"`
}

func decodeDebug(t *testing.T, body []byte) debugAnswer {
	t.Helper()
	var a debugAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return a
}

// debugGateway is a, which bids 1 and is sent on the 0.9 score; b, filtered by its
// threshold (0.95, set by hand); c, whose breaker is open after its first (failed) call.
// a's endpoint carries a password, which the debug output must not show.
func debugGateway(t *testing.T, allow bool) *testGateway {
	t.Helper()
	a := newFakeDSP(t, bidOn(1, nil))
	b := newFakeDSP(t, noBid)
	c := newFakeDSP(t, func(*openrtb2.BidRequest) answer { return answer{status: http.StatusInternalServerError} })
	m := newFakeModel("m1", time.Now(), map[string]calibration{"a": {0.5, true}, "b": {0.5, true}, "c": {0.5, true}})
	tg, _ := shapingGateway(t, m, func(cfg *config.Config) {
		cfg.Debug.Allow = allow
		cfg.Auction.NoBid = config.NoBid204
		cfg.Shaping.ExplorationRate = 0
		th := 0.95
		cfg.DSPs[1].Threshold = &th
		cfg.DSPs[0].Endpoint = strings.Replace(cfg.DSPs[0].Endpoint, "http://", "http://user:s3cret-pw@", 1)
		cfg.Breaker.MinCalls = 1 // one failure in one call opens it
	}, a, b, c)
	tg.post(t, scoredRequest(0.9, 0)) // c fails: its breaker opens (its first 20 calls are not in the trial share)
	return tg
}

func TestDebugOffIgnoresTheAsk(t *testing.T) {
	tg := debugGateway(t, false)
	asks := map[string]func(r *openrtb2.BidRequest){
		"test: 1":                func(r *openrtb2.BidRequest) { r.Test = 1 },
		"ext.prebid.debug: true": func(r *openrtb2.BidRequest) { r.Ext = json.RawMessage(`{"prebid":{"debug":true}}`) },
	}
	for name, ask := range asks {
		req := scoredRequest(0.9, 1)
		ask(req)
		status, body := tg.post(t, req)
		if status != http.StatusOK || strings.Contains(string(body), `"debug"`) || decodeDebug(t, body).Ext.Debug != nil {
			t.Errorf("%s with debug.allow false: status %d, body %s; want the plain answer", name, status, body)
		}
		// Nothing sold and no debug: the configured 204.
		req = scoredRequest(0.1, 2)
		ask(req)
		if status, body := tg.post(t, req); status != http.StatusNoContent {
			t.Errorf("%s, nothing sold, debug.allow false: status %d %s, want 204", name, status, body)
		}
	}
}

func TestDebugOutput(t *testing.T) {
	tg := debugGateway(t, true)
	req := scoredRequest(0.9, 1)
	req.Test = 1
	status, body := tg.post(t, req)
	if status != http.StatusOK {
		t.Fatalf("status %d %s", status, body)
	}
	if strings.Contains(string(body), "s3cret-pw") || strings.Contains(strings.ToLower(string(body)), "authorization") {
		t.Errorf("the debug output shows a credential: %s", body)
	}
	ans := decodeDebug(t, body)
	dbg := ans.Ext.Debug
	if dbg == nil || len(ans.SeatBid) != 1 || ans.SeatBid[0].Seat != "a" {
		t.Fatalf("answer %s: want a's winning bid and ext.debug", body)
	}
	a, b, c := dbg.DSPs["a"], dbg.DSPs["b"], dbg.DSPs["c"]
	if a.Decision != "sent" || a.Outcome != "bid" || a.Score == nil || *a.Score != 0.9 || a.Threshold == nil || *a.Threshold != 0.5 ||
		len(a.Imps) != 1 || a.Imps[0] != "1" || a.Error != "" {
		t.Errorf("a (sent, bid): %+v", a)
	}
	if b.Decision != "filtered" || b.Outcome != "not_sent" || b.Score == nil || *b.Score != 0.9 || b.Threshold == nil || *b.Threshold != 0.95 {
		t.Errorf("b (filtered by its 0.95 threshold): %+v", b)
	}
	if c.Decision != "breaker_open" || c.Outcome != "not_sent" || c.Score != nil || c.Threshold != nil || len(c.Imps) != 1 {
		t.Errorf("c (breaker open, withheld before scoring): %+v", c)
	}
	if dbg.Model != "m1" {
		t.Errorf("model %q, want m1", dbg.Model)
	}
	if len(dbg.HTTPCalls) != 1 || len(dbg.HTTPCalls["a"]) != 1 {
		t.Fatalf("httpcalls %+v: want a's one call only (b filtered, c withheld)", dbg.HTTPCalls)
	}
	hc := dbg.HTTPCalls["a"][0]
	var sent openrtb2.BidRequest
	var got openrtb2.BidResponse
	if err := json.Unmarshal([]byte(hc.RequestBody), &sent); err != nil || sent.ID != req.ID || len(sent.Imp) != 1 || sent.TMax <= 0 {
		t.Errorf("requestbody %q (%v): want the bid request sent to a, with its tmax", hc.RequestBody, err)
	}
	if err := json.Unmarshal([]byte(hc.ResponseBody), &got); err != nil || len(got.SeatBid) != 1 || got.SeatBid[0].Bid[0].Price != 1 {
		t.Errorf("responsebody %q (%v): want a's answer as it came, its bid at 1", hc.ResponseBody, err)
	}
	if hc.Status != http.StatusOK || !strings.HasPrefix(hc.URI, "http://127.0.0.1:") || !strings.HasSuffix(hc.URI, "/bid/a") {
		t.Errorf("httpcall status %d uri %q: want 200 and a's endpoint without its user information", hc.Status, hc.URI)
	}
}

// Nothing sold: a client that asked for debug output gets it in a 200, even where the
// no-bid answer is a 204.
func TestDebugOnNoBid(t *testing.T) {
	tg := debugGateway(t, true)
	req := scoredRequest(0.1, 1) // below every threshold
	req.Ext = json.RawMessage(`{"prebid":{"debug":true}}`)
	status, body := tg.post(t, req)
	if status != http.StatusOK {
		t.Fatalf("status %d %s, want 200 with ext.debug", status, body)
	}
	ans := decodeDebug(t, body)
	if ans.ID != req.ID || ans.SeatBid == nil || len(ans.SeatBid) != 0 || ans.Ext.Debug == nil {
		t.Fatalf("answer %s: want the empty seatbid and ext.debug", body)
	}
	for name, want := range map[string]string{"a": "filtered", "b": "filtered", "c": "breaker_open"} {
		if d := ans.Ext.Debug.DSPs[name]; d.Decision != want || d.Outcome != "not_sent" {
			t.Errorf("%s: %+v, want %s and not sent", name, d, want)
		}
	}
	if len(ans.Ext.Debug.HTTPCalls) != 0 {
		t.Errorf("httpcalls %+v, want none: no DSP was called", ans.Ext.Debug.HTTPCalls)
	}
}

func TestAddExt(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"id":"1"}`, `{"id":"1","ext":{"debug":{"x":1}}}`},
		{`{}`, `{"ext":{"debug":{"x":1}}}`},
		{`{"id":"1","ext":{"errors":{}}}`, `{"id":"1","ext":{"debug":{"x":1},"errors":{}}}`},
		{`{"ext":{},"id":"1"}`, `{"ext":{"debug":{"x":1}},"id":"1"}`},
	} {
		if got := string(addExt([]byte(tt.body), "debug", []byte(`{"x":1}`))); got != tt.want {
			t.Errorf("addExt(%s) = %s, want %s", tt.body, got, tt.want)
		}
	}
}
