package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/google/go-cmp/cmp"
	"github.com/prebid/openrtb/v19/openrtb2"
)

func TestAuctionEndToEnd(t *testing.T) {
	notices := newNoticeServer(t)
	withNotices := func(b *openrtb2.Bid) {
		b.NURL = notices.srv.URL + "/win?p=${AUCTION_PRICE}&imp=${AUCTION_IMP_ID}&auction=${AUCTION_ID}"
		b.LURL = notices.srv.URL + "/loss?p=${AUCTION_PRICE}&code=${AUCTION_LOSS}"
		b.BURL = notices.srv.URL + "/bill?p=${AUCTION_PRICE}&cur=${AUCTION_CURRENCY}"
	}
	a := newFakeDSP(t, bidOn(1.00, withNotices))
	b := newFakeDSP(t, bidOn(0.90, withNotices))
	c := newFakeDSP(t, noBid)
	tg := newTestGateway(t, testConfig(a, b, c))

	status, body := tg.post(t, request("r1", 0.85))
	if status != http.StatusOK {
		t.Fatalf("status %d, body %s", status, body)
	}
	var resp openrtb2.BidResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.ID != "r1" || resp.Cur != "USD" || len(resp.SeatBid) != 1 || len(resp.SeatBid[0].Bid) != 1 {
		t.Fatalf("response %s", body)
	}
	sb := resp.SeatBid[0]
	bid := sb.Bid[0]
	if sb.Seat != "a" || bid.Price != 0.91 || bid.ImpID != "1" {
		t.Errorf("winner: seat %q price %v imp %q; want a at 0.91 on imp 1 (OpenRTB 2.6 4.4.1)", sb.Seat, bid.Price, bid.ImpID)
	}
	if bid.AdM != "<ad price=0.91>" {
		t.Errorf("adm = %q, want the price macro substituted", bid.AdM)
	}
	if bid.BURL != notices.srv.URL+"/bill?p=0.91&cur=USD" {
		t.Errorf("burl = %q", bid.BURL)
	}
	if bid.NURL != "" || bid.LURL != "" {
		t.Errorf("nurl %q / lurl %q passed on to the publisher; the gateway fires them", bid.NURL, bid.LURL)
	}
	// Every DSP got the request, with its own tmax (its 150ms timeout inside tmax 300 - 15).
	for name, f := range map[string]*fakeDSP{"a": a, "b": b, "c": c} {
		reqs := f.requests()
		if len(reqs) != 1 || reqs[0].ID != "r1" || reqs[0].TMax <= 0 || reqs[0].TMax > 150 {
			t.Errorf("dsp %s got %d requests (tmax %v)", name, len(reqs), func() any {
				if len(reqs) > 0 {
					return reqs[0].TMax
				}
				return nil
			}())
		}
	}
	// Notices are fired after the answer; stopping drains them.
	tg.stop(t)
	got := notices.got()
	want := []string{"/loss?p=0.91&code=102", "/win?p=0.91&imp=1&auction=r1"}
	if diff := cmp.Diff(want, sorted(got)); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	if n := tg.metric(t, "bidsieve_auctions_total", "result", "bid"); n != 1 {
		t.Errorf("bidsieve_auctions_total{result=bid} = %d", n)
	}
	for _, tc := range []struct {
		name, dsp string
		want      int64
	}{
		{"bidsieve_dsp_requests_total", "a", 1}, {"bidsieve_dsp_bids_total", "a", 1}, {"bidsieve_dsp_wins_total", "a", 1},
		{"bidsieve_dsp_bids_total", "b", 1}, {"bidsieve_dsp_wins_total", "b", 0}, {"bidsieve_dsp_nobids_total", "c", 1},
	} {
		if n := tg.metric(t, tc.name, "dsp", tc.dsp); n != tc.want {
			t.Errorf("%s{dsp=%s} = %d, want %d", tc.name, tc.dsp, n, tc.want)
		}
	}
	if n := tg.metric(t, "bidsieve_dsp_decisions_total", "decision", "fail_open"); n != 3 {
		t.Errorf("fail_open decisions = %d, want 3 (no model: every DSP gets the request)", n)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestNoBidsIs204(t *testing.T) {
	a := newFakeDSP(t, noBid)
	b := newFakeDSP(t, func(req *openrtb2.BidRequest) answer { return answer{body: ""} }) // 200, empty body
	tg := newTestGateway(t, testConfig(a, b))
	status, body := tg.post(t, request("r1", 0))
	if status != http.StatusNoContent || len(body) != 0 {
		t.Errorf("status %d body %q, want 204 and nothing", status, body)
	}
	if n := tg.metric(t, "bidsieve_dsp_nobids_total"); n != 2 {
		t.Errorf("no-bids = %d, want 2", n)
	}
}

func TestSlowDSPDoesNotDelayTheAnswer(t *testing.T) {
	fast := newFakeDSP(t, bidOn(1, nil))
	slow := newFakeDSP(t, func(req *openrtb2.BidRequest) answer {
		a := bidOn(5, nil)(req)
		a.delay = 3 * time.Second
		return a
	})
	cfg := testConfig(fast, slow)
	cfg.Auction.SafetyMargin = 10 * time.Millisecond
	tg := newTestGateway(t, cfg)
	req := request("r1", 0)
	req.TMax = 120
	start := time.Now()
	status, body := tg.post(t, req)
	elapsed := time.Since(start)
	if status != http.StatusOK {
		t.Fatalf("status %d body %s", status, body)
	}
	var resp openrtb2.BidResponse
	_ = json.Unmarshal(body, &resp)
	if resp.SeatBid[0].Seat != "a" {
		t.Errorf("winner %q, want the fast DSP", resp.SeatBid[0].Seat)
	}
	if elapsed > 120*time.Millisecond+150*time.Millisecond { // tmax plus scheduling slack under -race on 2 busy cores
		t.Errorf("answer took %v with tmax 120ms", elapsed)
	}
	if elapsed < 100*time.Millisecond {
		t.Errorf("answer took %v: the gateway did not wait for the slow DSP until the deadline", elapsed)
	}
	// The slow DSP's call ends by the deadline too; its timeout is counted.
	deadline := time.Now().Add(2 * time.Second)
	for tg.metric(t, "bidsieve_dsp_timeouts_total", "dsp", "b") != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := tg.metric(t, "bidsieve_dsp_timeouts_total", "dsp", "b"); n != 1 {
		t.Errorf("timeouts of the slow DSP = %d, want 1", n)
	}
}

func TestQPSCapHolds(t *testing.T) {
	capped := newFakeDSP(t, noBid)
	free := newFakeDSP(t, noBid)
	cfg := testConfig(capped, free)
	cfg.DSPs[0].QPSLimit = 20
	tg := newTestGateway(t, cfg)

	start := time.Now()
	const auctions = 120
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < auctions; i += 4 {
				tg.post(t, request("r", 0))
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	got := capped.hits.Load()
	// A bucket of burst 1 refilled at 19/s: at most 1 + 19*elapsed calls, never 20 in any second.
	if limit := 1 + 19*elapsed; float64(got) > limit+0.5 {
		t.Errorf("capped DSP got %d calls in %.2fs, more than its cap allows (%.1f)", got, elapsed, limit)
	}
	if got < 2 {
		t.Errorf("capped DSP got %d calls: the cap starved it", got)
	}
	if n := free.hits.Load(); n != auctions {
		t.Errorf("uncapped DSP got %d calls, want %d", n, auctions)
	}
	if n := tg.metric(t, "bidsieve_dsp_decisions_total", "dsp", "a", "decision", "throttled"); n != auctions-got {
		t.Errorf("throttled decisions = %d, want %d", n, auctions-got)
	}
	if n := tg.metric(t, "bidsieve_dsp_throttled_total", "dsp", "a", "reason", "qps_limit"); n != auctions-got {
		t.Errorf("bidsieve_dsp_throttled_total{reason=qps_limit} = %d, want %d", n, auctions-got)
	}
	if n := tg.metric(t, "bidsieve_dsp_throttled_total", "reason", "rate_limited"); n != 0 {
		t.Errorf("bidsieve_dsp_throttled_total{reason=rate_limited} = %d without a 429", n)
	}
}

func TestNoticesOnlyToAllowedHosts(t *testing.T) {
	allowed := newNoticeServer(t)
	forbidden := newNoticeServer(t)
	// Same loopback server, reached through a name that is not in notice_hosts.
	forbiddenURL := strings.Replace(forbidden.srv.URL, "127.0.0.1", "localhost", 1)
	a := newFakeDSP(t, bidOn(2, func(b *openrtb2.Bid) { b.NURL = forbiddenURL + "/win" }))
	bb := newFakeDSP(t, bidOn(1, func(b *openrtb2.Bid) { b.LURL = allowed.srv.URL + "/loss?code=${AUCTION_LOSS}" }))
	c := newFakeDSP(t, bidOn(0.5, func(b *openrtb2.Bid) {
		b.LURL = "http://127.0.0.1@" + strings.TrimPrefix(forbiddenURL, "http://") + "/loss"
	}))
	tg := newTestGateway(t, testConfig(a, bb, c))
	if status, body := tg.post(t, request("r1", 0)); status != http.StatusOK {
		t.Fatalf("status %d body %s", status, body)
	}
	tg.stop(t)
	if diff := cmp.Diff([]string{"/loss?code=102"}, allowed.got()); diff != "" {
		t.Errorf("notices to the allowed host (-want +got):\n%s", diff)
	}
	if got := forbidden.got(); len(got) != 0 {
		t.Errorf("notices reached a host not in notice_hosts: %v", got)
	}
	if n := tg.metric(t, "bidsieve_notices_total", "result", "forbidden"); n != 2 {
		t.Errorf("forbidden notices = %d, want 2", n)
	}
}

func TestInvalidRequests(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	cfg := testConfig(a)
	cfg.Auction.MaxBodyBytes = 4096
	tg := newTestGateway(t, cfg)
	tests := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"empty body", ``, 400, "body"},
		{"not JSON", `{"id":`, 400, "body"},
		{"not an object", `[1,2]`, 400, "body"},
		{"no id", `{"imp":[{"id":"1","banner":{}}]}`, 400, "id"},
		{"no imp", `{"id":"r"}`, 400, "imp"},
		{"empty imp", `{"id":"r","imp":[]}`, 400, "imp"},
		{"imp without id", `{"id":"r","imp":[{"banner":{}}]}`, 400, "imp[0].id"},
		{"duplicate imp id", `{"id":"r","imp":[{"id":"1","banner":{}},{"id":"1","video":{}}]}`, 400, "imp[1].id"},
		{"imp without media", `{"id":"r","imp":[{"id":"1"}]}`, 400, "imp[0]"},
		{"negative floor", `{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":-1}]}`, 400, "imp[0].bidfloor"},
		{"huge floor", `{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":1e300}]}`, 400, "imp[0].bidfloor"},
		{"floor as a string", `{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":"1"}]}`, 400, "imp.bidfloor"},
		{"unknown floor currency", `{"id":"r","imp":[{"id":"1","banner":{},"bidfloorcur":"XYZ"}]}`, 400, "imp[0].bidfloorcur"},
		{"unknown currency", `{"id":"r","cur":["USD","TYR"],"imp":[{"id":"1","banner":{}}]}`, 400, "cur[1]"},
		{"site and app", `{"id":"r","site":{},"app":{},"imp":[{"id":"1","banner":{}}]}`, 400, "app"},
		{"negative tmax", `{"id":"r","tmax":-5,"imp":[{"id":"1","banner":{}}]}`, 400, "tmax"},
		{"too large", `{"id":"r","imp":[{"id":"1","banner":{}}],"ext":"` + strings.Repeat("x", 5000) + `"}`, 413, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tg.post(t, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d (body %s)", status, tt.status, body)
			}
			if e := decodeError(t, body); e.Field != tt.field {
				t.Errorf("field %q, want %q (%s)", e.Field, tt.field, e.Error)
			}
		})
	}
	if n := a.hits.Load(); n != 0 {
		t.Errorf("the DSP got %d invalid requests", n)
	}
	if n := tg.metric(t, "bidsieve_auctions_total", "result", "invalid"); n != int64(len(tests)) {
		t.Errorf("invalid auctions = %d, want %d", n, len(tests))
	}
}

func TestGzipBodies(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	cfg := testConfig(a)
	cfg.Auction.MaxBodyBytes = 2048
	tg := newTestGateway(t, cfg)
	send := func(raw []byte, encoding string) (int, []byte) {
		url := tg.srv.URL + "/openrtb2/auction"
		if q, ok := strings.CutPrefix(encoding, "?"); ok { // Prebid.js's endpointCompression: no header
			url, encoding = url+"?"+q, ""
		}
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := tg.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(b)
		_ = w.Close()
		return buf.Bytes()
	}
	plain, _ := json.Marshal(request("r1", 0))
	// A small gzip bomb: 1 MB of spaces inside the request, compressed far below the limit.
	bomb := append([]byte(`{"id":"r1",`+strings.Repeat(" ", 1<<20)), plain[len(`{"id":"r1",`):]...)
	if z := gz(bomb); len(z) > 2048 {
		t.Fatalf("test bomb is %d bytes compressed", len(z))
	}
	for _, enc := range []string{"gzip", "?gzip=1", "?gzip=true&x=1"} {
		if status, body := send(gz(plain), enc); status != http.StatusOK {
			t.Errorf("%s: gzip body: status %d body %s", enc, status, body)
		}
		if status, body := send(gz(bomb), enc); status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: gzip bomb: status %d body %s, want 413", enc, status, body)
		}
		if status, _ := send([]byte("not gzip"), enc); status != http.StatusBadRequest {
			t.Errorf("%s: broken gzip: status %d, want 400", enc, status)
		}
	}
	if status, body := send(plain, "?gzip=0"); status != http.StatusOK {
		t.Errorf("gzip=0 with a plain body: status %d body %s", status, body)
	}
	if status, _ := send(plain, "br"); status != http.StatusUnsupportedMediaType {
		t.Errorf("unsupported encoding: status %d, want 415", status)
	}
}

func TestUntrustedAnswersAreDropped(t *testing.T) {
	one := func(b openrtb2.Bid, cur string) func(*openrtb2.BidRequest) answer {
		return func(req *openrtb2.BidRequest) answer {
			return answer{body: openrtb2.BidResponse{ID: req.ID, Cur: cur, SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{b}}}}}
		}
	}
	dsps := []*fakeDSP{
		newFakeDSP(t, one(openrtb2.Bid{ID: "x", ImpID: "nope", Price: 9, CrID: "c"}, "")),                    // a: unknown imp
		newFakeDSP(t, one(openrtb2.Bid{ID: "x", ImpID: "1", Price: -3, CrID: "c"}, "")),                      // b: negative price
		newFakeDSP(t, one(openrtb2.Bid{ID: "x", ImpID: "1", Price: 9, CrID: "c"}, "XXX")),                    // c: unknown currency
		newFakeDSP(t, func(*openrtb2.BidRequest) answer { return answer{body: strings.Repeat(" ", 1<<20)} }), // d: huge
		newFakeDSP(t, func(*openrtb2.BidRequest) answer { return answer{body: `{"id":`} }),                   // e: malformed
		newFakeDSP(t, func(*openrtb2.BidRequest) answer { // f: another request's id
			return answer{body: openrtb2.BidResponse{ID: "other", SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{{ImpID: "1", Price: 9}}}}}}
		}),
		newFakeDSP(t, one(openrtb2.Bid{ID: "x", ImpID: "1", Price: 1e12, CrID: "c"}, "")), // g: absurd price
	}
	cfg := testConfig(dsps...)
	cfg.Fanout.MaxResponseBytes = 64 << 10
	tg := newTestGateway(t, cfg)
	if status, body := tg.post(t, request("r1", 0)); status != http.StatusNoContent {
		t.Fatalf("status %d body %s: an untrusted bid got through", status, body)
	}
	for _, tc := range []struct{ metric, dsp, key, val string }{
		{"bidsieve_dsp_invalid_bids_total", "a", "reason", "unknown_imp"},
		{"bidsieve_dsp_invalid_bids_total", "b", "reason", "bad_price"},
		{"bidsieve_dsp_invalid_bids_total", "c", "reason", "bad_currency"},
		{"bidsieve_dsp_errors_total", "d", "kind", "too_large"},
		{"bidsieve_dsp_errors_total", "e", "kind", "malformed"},
		{"bidsieve_dsp_errors_total", "f", "kind", "malformed"},
		{"bidsieve_dsp_invalid_bids_total", "g", "reason", "bad_price"},
	} {
		if n := tg.metric(t, tc.metric, "dsp", tc.dsp, tc.key, tc.val); n != 1 {
			t.Errorf("%s{dsp=%s,%s=%s} = %d, want 1", tc.metric, tc.dsp, tc.key, tc.val, n)
		}
	}
}

func TestTargetingAndImpSubsets(t *testing.T) {
	video := newFakeDSP(t, func(req *openrtb2.BidRequest) answer {
		a := bidOn(2, nil)(req)
		return a
	})
	apps := newFakeDSP(t, noBid)
	usa := newFakeDSP(t, noBid)
	off := newFakeDSP(t, noBid)
	cfg := testConfig(video, apps, usa, off)
	cfg.DSPs[0].Targeting.Formats = []string{"video", "728x90"}
	cfg.DSPs[1].Targeting.Channels = []string{"app"}
	cfg.DSPs[2].Targeting.Countries = []string{"USA"}
	cfg.DSPs[3].Enabled = false
	tg := newTestGateway(t, cfg)

	req := request("r1", 0)
	req.Imp = append(req.Imp,
		openrtb2.Imp{ID: "2", Video: &openrtb2.Video{MIMEs: []string{"video/mp4"}}},
		openrtb2.Imp{ID: "3", Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 320, H: 50}, {W: 728, H: 90}}}})
	status, body := tg.post(t, req)
	if status != http.StatusOK {
		t.Fatalf("status %d body %s", status, body)
	}
	got := video.requests()
	if len(got) != 1 {
		t.Fatalf("video DSP got %d requests", len(got))
	}
	var ids []string
	for _, imp := range got[0].Imp {
		ids = append(ids, imp.ID)
	}
	if diff := cmp.Diff([]string{"2", "3"}, ids); diff != "" {
		t.Errorf("imps offered to the video/728x90 DSP (-want +got):\n%s", diff)
	}
	if n := apps.hits.Load(); n != 0 {
		t.Errorf("the app-only DSP got %d site requests", n)
	}
	if n := usa.hits.Load(); n != 1 {
		t.Errorf("the USA DSP got %d requests from the USA, want 1", n)
	}
	if n := off.hits.Load(); n != 0 {
		t.Errorf("the disabled DSP got %d requests", n)
	}
	// The video DSP bid on imp "2" (its first offered imp): valid, and sold.
	var resp openrtb2.BidResponse
	_ = json.Unmarshal(body, &resp)
	if resp.SeatBid[0].Bid[0].ImpID != "2" {
		t.Errorf("won imp %q, want 2", resp.SeatBid[0].Bid[0].ImpID)
	}
}

func TestBidOnImpNotOfferedIsDropped(t *testing.T) {
	cheat := newFakeDSP(t, func(req *openrtb2.BidRequest) answer {
		return answer{body: openrtb2.BidResponse{ID: req.ID, SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{{ID: "x", ImpID: "1", Price: 5}}}}}}
	})
	cfg := testConfig(cheat)
	cfg.DSPs[0].Targeting.Formats = []string{"video"}
	tg := newTestGateway(t, cfg)
	req := request("r1", 0) // imp 1 is a banner; imp 2 a video
	req.Imp = append(req.Imp, openrtb2.Imp{ID: "2", Video: &openrtb2.Video{}})
	if status, body := tg.post(t, req); status != http.StatusNoContent {
		t.Errorf("status %d body %s: a bid on an imp the DSP was not offered won", status, body)
	}
	if n := tg.metric(t, "bidsieve_dsp_invalid_bids_total", "reason", "unknown_imp"); n != 1 {
		t.Errorf("unknown_imp = %d, want 1", n)
	}
}

func TestReloadKeepsBreakersAndRefusesBadConfig(t *testing.T) {
	failing := newFakeDSP(t, func(*openrtb2.BidRequest) answer { return answer{status: 500} })
	other := newFakeDSP(t, noBid)
	cfg := testConfig(failing, other)
	cfg.Breaker.MinCalls = 2 // two failures in two calls open it; its trial share skips the next 20 calls
	tg := newTestGateway(t, cfg)
	tg.post(t, request("r", 0))
	tg.post(t, request("r", 0))
	if n := failing.hits.Load(); n != 2 {
		t.Fatalf("hits %d", n)
	}

	next := tg.g.Config().Clone()
	next.DSPs[1].Enabled = false
	next.DSPs[0].Timeout = 100 * time.Millisecond
	if err := tg.g.Apply(next); err != nil {
		t.Fatal(err)
	}
	tg.post(t, request("r", 0))
	if n := failing.hits.Load(); n != 2 {
		t.Errorf("after a reload the open breaker let a call through (hits %d)", n)
	}
	if n := other.hits.Load(); n != 2 {
		t.Errorf("the DSP disabled by the reload got a call (hits %d)", n)
	}

	bad := tg.g.Config().Clone()
	bad.DSPs[1].Enabled = true
	bad.DSPs[0].Timeout = 0
	if err := tg.g.Apply(bad); err == nil || !strings.Contains(err.Error(), "dsps[0].timeout: must be > 0") {
		t.Errorf("Apply(bad) = %v", err)
	}
	tg.post(t, request("r", 0))
	if n := other.hits.Load(); n != 2 {
		t.Error("a refused configuration was put in force")
	}
	if tg.g.Config().DSPs[0].Timeout != 100*time.Millisecond {
		t.Error("the configuration in force changed after a refused Apply")
	}
	if n := tg.metric(t, "bidsieve_config_reloads_total", "result", "error"); n != 1 {
		t.Errorf("failed reloads = %d, want 1", n)
	}
}

func TestCurrencies(t *testing.T) {
	eur := newFakeDSP(t, func(req *openrtb2.BidRequest) answer {
		return answer{body: openrtb2.BidResponse{ID: req.ID, Cur: "EUR", SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{{ID: "e", ImpID: "1", Price: 2, CrID: "c"}}}}}} // 2.50 USD
	})
	usd := newFakeDSP(t, bidOn(2, nil))
	tg := newTestGateway(t, testConfig(eur, usd))
	req := request("r1", 1)
	req.Imp[0].BidFloorCur = "GBP" // 1.50 USD
	status, body := tg.post(t, req)
	if status != http.StatusOK {
		t.Fatalf("status %d body %s", status, body)
	}
	var resp openrtb2.BidResponse
	_ = json.Unmarshal(body, &resp)
	if resp.Cur != "USD" || resp.SeatBid[0].Seat != "a" || resp.SeatBid[0].Bid[0].Price != 2.01 {
		t.Errorf("got %s; want the EUR bid (2.50 USD) to win at 2.01 USD", body)
	}
	// A request that only takes EUR: the auction runs in EUR, the USD bid is not allowed.
	req.Cur = []string{"EUR"}
	status, body = tg.post(t, req)
	_ = json.Unmarshal(body, &resp)
	if status != http.StatusOK || resp.Cur != "EUR" || resp.SeatBid[0].Bid[0].Price != 1.2 {
		t.Errorf("EUR auction: status %d body %s; want the EUR bid at the floor 1.50 USD = 1.20 EUR", status, body)
	}
}

func TestBidLogRows(t *testing.T) {
	a := newFakeDSP(t, bidOn(1, nil))
	b := newFakeDSP(t, noBid)
	c := newFakeDSP(t, noBid)
	cfg := testConfig(a, b, c)
	cfg.DSPs[2].QPSLimit = 1
	sink := &memSink{}
	now := time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)
	tg := newTestGateway(t, cfg, func(o *Options) { o.BidLog = sink; o.Now = func() time.Time { return now } })
	tg.post(t, request("r1", 0.5))
	tg.post(t, request("r2", 0.5)) // c is throttled now
	tg.stop(t)                     // rows are logged after the answer; stopping waits for them
	rows := sink.all()
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6 (2 auctions x 3 DSPs x 1 imp)", len(rows))
	}
	byKey := map[string]bidlog.Row{}
	for _, r := range rows {
		byKey[r.RequestID+"/"+r.DSP] = r
	}
	w := byKey["r1/a"]
	if w.TS != now.UnixMilli() {
		t.Errorf("row ts %d, want the injected clock's %d", w.TS, now.UnixMilli())
	}
	if w.Outcome != "bid" || !w.Won || w.BidCPM != 1 || w.ClearCPM != 0.5 || w.Decision != "fail_open" || w.Country != "USA" || w.HourUTC != 14 || w.FloorCPM != 0.5 || w.Format != "300x250" {
		t.Errorf("winner row = %+v", w)
	}
	if r := byKey["r1/b"]; r.Outcome != "nobid" || r.Won || r.Decision != "fail_open" {
		t.Errorf("no-bid row = %+v", r)
	}
	if r := byKey["r2/c"]; r.Outcome != "not_sent" || r.Decision != "throttled" {
		t.Errorf("throttled row = %+v", r)
	}
}

type memSink struct {
	mu   sync.Mutex
	rows []bidlog.Row
}

func (s *memSink) Log(rows []bidlog.Row) {
	s.mu.Lock()
	s.rows = append(s.rows, rows...)
	s.mu.Unlock()
}

func (s *memSink) all() []bidlog.Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bidlog.Row(nil), s.rows...)
}

func TestHealthReadyMetrics(t *testing.T) {
	a := newFakeDSP(t, noBid)
	tg := newTestGateway(t, testConfig(a), func(o *Options) {
		o.MetricsHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "bidsieve_up 1\n") })
	})
	get := func(path string) (int, string) {
		resp, err := tg.client.Get(tg.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, _ := get("/healthz"); s != 200 {
		t.Errorf("/healthz %d", s)
	}
	if s, _ := get("/readyz"); s != 200 {
		t.Errorf("/readyz %d", s)
	}
	if s, b := get("/metrics"); s != 200 || b != "bidsieve_up 1\n" {
		t.Errorf("/metrics %d %q", s, b)
	}
	if s, _ := get("/openrtb2/auction"); s != http.StatusMethodNotAllowed {
		t.Errorf("GET /openrtb2/auction %d, want 405", s)
	}
	tg.g.Drain()
	if s, _ := get("/readyz"); s != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining %d, want 503", s)
	}
	if s, _ := get("/healthz"); s != 200 {
		t.Errorf("/healthz while draining %d", s)
	}
}

// fixedScorer scores every pair of a DSP with its fixed probability, and records batches.
type fixedScorer struct {
	p       map[string]float64
	mu      sync.Mutex
	batches [][]Pair
	fail    bool
}

func (s *fixedScorer) Score(_ context.Context, in *ScoreInput, dst []float64) error {
	s.mu.Lock()
	s.batches = append(s.batches, append([]Pair(nil), in.Pairs...))
	s.mu.Unlock()
	if s.fail {
		return errors.New("model broke")
	}
	if len(in.Features) != len(in.Request.Imp) {
		return errors.New("features missing")
	}
	for k, pr := range in.Pairs {
		dst[k] = s.p[pr.DSP]
	}
	return nil
}

func (s *fixedScorer) Version() string { return "fixed-1" }

func TestScorerSeam(t *testing.T) {
	a := newFakeDSP(t, noBid)
	b := newFakeDSP(t, noBid)
	cfg := testConfig(a, b)
	cfg.DSPs[1].Targeting.Formats = []string{"video"}
	sink := &memSink{}
	sc := &fixedScorer{p: map[string]float64{"a": 0.5, "b": 0.2}}
	tg := newTestGateway(t, cfg, func(o *Options) { o.Scorer = sc; o.BidLog = sink })
	req := request("r1", 0)
	req.Imp = append(req.Imp, openrtb2.Imp{ID: "2", Video: &openrtb2.Video{}})
	tg.post(t, req)

	want := [][]Pair{{{Imp: 0, DSP: "a"}, {Imp: 1, DSP: "a"}, {Imp: 1, DSP: "b"}}}
	if diff := cmp.Diff(want, sc.batches); diff != "" {
		t.Errorf("one batch of every eligible (imp, DSP) pair (-want +got):\n%s", diff)
	}
	sc.fail = true
	tg.post(t, request("r2", 0))
	tg.stop(t)
	scores := map[string]float64{}
	decisions := map[string]string{}
	for _, r := range sink.all() {
		scores[r.RequestID+"/"+r.DSP] = r.Score
		decisions[r.RequestID+"/"+r.DSP] = r.Decision
		if r.RequestID == "r1" && r.ModelVersion != "fixed-1" {
			t.Errorf("row model_version %q", r.ModelVersion)
		}
	}
	// a: 1 - (1-0.5)(1-0.5) = 0.75 over its two imps; b: only the video imp, 0.2.
	if !near(scores["r1/a"], 0.75) || !near(scores["r1/b"], 0.2) {
		t.Errorf("request scores %v, want a 0.75 and b 0.2", scores)
	}
	if decisions["r1/a"] != "sent" || decisions["r2/a"] != "fail_open" {
		t.Errorf("decisions %v: want sent with scores, fail_open when the model fails", decisions)
	}
	if n := tg.metric(t, "bidsieve_scorer_errors_total"); n != 1 {
		t.Errorf("scorer errors = %d, want 1", n)
	}
	if n := a.hits.Load(); n != 2 {
		t.Errorf("DSP a got %d requests, want 2 (the seam withholds nothing yet)", n)
	}
}

func TestRequestScore(t *testing.T) {
	tests := []struct {
		p    []float64
		want float64
	}{
		{nil, 0}, {[]float64{0.3}, 0.3}, {[]float64{0.5, 0.5}, 0.75}, {[]float64{1, 0}, 1}, {[]float64{-1, 2}, 1},
	}
	for _, tt := range tests {
		if got := RequestScore(tt.p); !near(got, tt.want) {
			t.Errorf("RequestScore(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Regression: a publisher that closes its connection right after reading the answer (no
// keep-alive) must still count as answered: its win notices fire.
func TestAnswerThenHangUpStillNotifies(t *testing.T) {
	notices := newNoticeServer(t)
	a := newFakeDSP(t, bidOn(1, func(b *openrtb2.Bid) { b.NURL = notices.srv.URL + "/win" }))
	tg := newTestGateway(t, testConfig(a))
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	raw, _ := json.Marshal(request("r1", 0))
	const n = 40
	for range n {
		resp, err := client.Post(tg.srv.URL+"/openrtb2/auction", "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	tg.stop(t)
	if got := len(notices.got()); got != n {
		t.Errorf("%d win notices for %d answered auctions", got, n)
	}
	if c := tg.metric(t, "bidsieve_auctions_total", "result", "canceled"); c != 0 {
		t.Errorf("%d answered auctions counted as canceled", c)
	}
}

func TestPublisherGoneBeforeTheAnswer(t *testing.T) {
	notices := newNoticeServer(t)
	a := newFakeDSP(t, func(req *openrtb2.BidRequest) answer {
		ans := bidOn(1, func(b *openrtb2.Bid) { b.NURL = notices.srv.URL + "/win" })(req)
		ans.delay = 100 * time.Millisecond
		return ans
	})
	tg := newTestGateway(t, testConfig(a))
	raw, _ := json.Marshal(request("r1", 0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tg.srv.URL+"/openrtb2/auction", bytes.NewReader(raw))
	if resp, err := tg.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the client got an answer before its own timeout")
	}
	tg.stop(t)
	if got := notices.got(); len(got) != 0 {
		t.Errorf("win notices %v for an answer nobody received", got)
	}
	if c := tg.metric(t, "bidsieve_auctions_total", "result", "canceled"); c != 1 {
		t.Errorf("canceled auctions = %d, want 1", c)
	}
}
