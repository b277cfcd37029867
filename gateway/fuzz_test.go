package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// echoTransport is a DSP without network: it bids on the first imp of whatever it gets,
// at a price taken from the request (the floor plus 1), in the request's first currency.
type echoTransport struct{}

func (echoTransport) Post(_ context.Context, _ string, body []byte, buf *bytes.Buffer) (int, error) {
	var req struct {
		ID  string   `json:"id"`
		Cur []string `json:"cur"`
		Imp []struct {
			ID       string  `json:"id"`
			BidFloor float64 `json:"bidfloor"`
		} `json:"imp"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Imp) == 0 {
		return http.StatusNoContent, nil
	}
	resp := openrtb2.BidResponse{ID: req.ID, SeatBid: []openrtb2.SeatBid{{Seat: "s", Bid: []openrtb2.Bid{{
		ID: "b", ImpID: req.Imp[0].ID, Price: req.Imp[0].BidFloor + 1, AdM: "<a p=${AUCTION_PRICE}>",
		BURL: "http://x.example/b?p=${AUCTION_PRICE}", ADomain: []string{"a.example"},
	}}}}}
	if len(req.Cur) > 0 {
		resp.Cur = req.Cur[0]
	}
	out, _ := json.Marshal(resp)
	buf.Write(out)
	return http.StatusOK, nil
}

func fuzzGateway(f *testing.F) *Gateway {
	cfg := config.Defaults()
	cfg.AdminListen = ""
	cfg.Auction.Seed = 7
	cfg.Currency.Rates = corpusRates
	for _, name := range []string{"a", "b", "c"} {
		d := config.DefaultDSP()
		d.Name, d.Endpoint, d.NoticeHosts = name, "http://127.0.0.1:1/bid/"+name, []string{"127.0.0.1"}
		cfg.DSPs = append(cfg.DSPs, d)
	}
	cfg.DSPs[1].Targeting.Formats = []string{"video", "300x250"}
	cfg.DSPs[2].Targeting.Channels = []string{"app"}
	cfg.DSPs[2].BidAdjustment = 0.8
	cfg.DSPs[2].Aliases = []string{"cee"}
	cfg.Debug.Allow = true // test: 1 or ext.prebid.debug gets ext.debug
	// The privacy rules on every request: a node to append, vendors in both placements,
	// one DSP without a vendor id.
	cfg.Privacy.GVLFile = testGVL
	cfg.SChain = config.SChain{ASI: "bidsieve.example", SID: "pub-1", HP: 1}
	cfg.DSPs[0].GVLID, cfg.DSPs[0].ORTB = 10, config.ORTB26
	cfg.DSPs[1].GVLID, cfg.DSPs[1].ORTB, cfg.DSPs[1].ThirdParty = 30, config.ORTB25, false
	g, err := New(cfg, Options{Transport: echoTransport{}, NoticeTransport: http.DefaultTransport})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = g.Close(context.Background()) })
	return g
}

// FuzzRequest feeds arbitrary bodies through decoding, validation, fan-out (to DSPs
// without network), the auction and the answer. Whatever the body, the gateway must not
// panic, must refuse with a 4xx naming a field, or answer 200 with a valid BidResponse or
// 204.
func FuzzRequest(f *testing.F) {
	seeds := []string{
		`{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250}]},"bidfloor":0.5}],"site":{"domain":"a.example"},"tmax":100}`,
		`{"id":"r","cur":["EUR"],"imp":[{"id":"1","video":{"mimes":["video/mp4"]},"bidfloor":2,"bidfloorcur":"GBP"},{"id":"2","native":{"request":"{}"}}],"app":{"bundle":"b"}}`,
		`{"id":"r","imp":[{"id":"1","banner":{}},{"id":"1","banner":{}}]}`,
		`{"id":"r","imp":[{"id":"1","audio":{}}],"badv":["a.example"],"wseat":["s"],"bseat":["t"]}`,
		`{"id":"","imp":[]}`,
		`{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":-1}]}`,
		`{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":1e300}]}`,
		`{"id":"r","imp":[{"id":"1","banner":{}}],"tmax":9223372036854775807}`,
		`{"id":"r","test":1,"imp":[{"id":"1","banner":{},"ext":{"prebid":{"bidder":{"a":{"p":1},"CEE":{}},"options":{}},"b":{"x":1},"gpid":"g"}},{"id":"2","banner":{}}]}`,
		`{"id":"r","ext":{"prebid":{"debug":true}},"imp":[{"id":"1","banner":{},"ext":{"zz":{},"prebid":{"bidder":{"q":1}}}}]}`,
		`[]`, `null`, `{}`, ``,
		// privacy signals: GDPR with a consent string (2.6 and 2.5), a malformed one, COPPA,
		// an opt-out, GPP, device.lmt, a publisher chain in either placement.
		`{"id":"r","imp":[{"id":"1","banner":{}}],"regs":{"gdpr":1},"user":{"id":"u","consent":"` + tcfFull + `"},"device":{"ip":"203.0.113.7","ifa":"i","geo":{"lat":1.234,"lon":5.678}}}`,
		`{"id":"r","imp":[{"id":"1","banner":{}}],"regs":{"ext":{"gdpr":1,"us_privacy":"1YYN"}},"user":{"ext":{"consent":"` + tcfPurpose2 + `","eids":[{"source":"s","uids":[{"id":"x"}]}]}}}`,
		`{"id":"r","imp":[{"id":"1","banner":{}}],"regs":{"gdpr":1},"user":{"consent":"CO!!garbage"}}`,
		`{"id":"r","imp":[{"id":"1","banner":{}}],"regs":{"coppa":1,"gpp":"DBABLA~BVVqAAEABgA.QA","gpp_sid":[7]},"device":{"lmt":1,"ipv6":"2001:db8::1"},"user":{"yob":1990,"gender":"M"}}`,
		`{"id":"r","imp":[{"id":"1","banner":{}}],"source":{"tid":"t","schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"x.example","sid":"1","hp":1}]}}}`,
		`{"id":"r","imp":[{"id":"1","banner":{}}],"source":{"ext":{"schain":{"complete":1,"nodes":[]}}},"regs":{"ext":{"gdpr":"1"}}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if dir, ok := corpusDirIfPresent(); ok {
		for _, sub := range []string{"requests", "invalid"} {
			entries, _ := os.ReadDir(filepath.Join(dir, sub))
			for i, e := range entries {
				if i%8 != 0 { // a sample keeps the seed set quick to replay
					continue
				}
				if b, err := os.ReadFile(filepath.Join(dir, sub, e.Name())); err == nil {
					f.Add(b)
				}
			}
		}
	}
	g := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		st := g.state.Load()
		// The request as the gateway decodes it (when it does), for the checks of the answer.
		var req openrtb2.BidRequest
		_ = json.Unmarshal(body, &req)
		answers := 0
		rerr := g.serve(context.Background(), st, time.Now(), body, func(a reply) bool {
			answers++
			out := a.body
			switch {
			case a.status == http.StatusNoContent && !a.sold:
				if len(out) != 0 {
					t.Fatalf("204 with a body: %s", out)
				}
			case a.status == http.StatusOK:
				var resp openrtb2.BidResponse
				if err := json.Unmarshal(out, &resp); err != nil {
					t.Fatalf("answer is not a BidResponse: %v\n%s", err, out)
				}
				if resp.ID != req.ID || (len(resp.SeatBid) == 0) == a.sold {
					t.Fatalf("answer %s (sold: %v) for request %q", out, a.sold, req.ID)
				}
				for _, sb := range resp.SeatBid {
					for _, b := range sb.Bid {
						if !(b.Price > 0) || strings.Contains(b.AdM, "${AUCTION_PRICE}") || !slices.ContainsFunc(req.Imp, func(imp openrtb2.Imp) bool { return imp.ID == b.ImpID }) {
							t.Fatalf("bad winning bid %+v", b)
						}
					}
				}
			default:
				t.Fatalf("status %d (sold: %v)", a.status, a.sold)
			}
			return true
		})
		switch {
		case rerr != nil:
			if rerr.Status < 400 || rerr.Status > 499 || rerr.Field == "" || rerr.Msg == "" || answers != 0 {
				t.Fatalf("refusal %+v after %d answers", rerr, answers)
			}
		case answers != 1:
			t.Fatalf("%d answers delivered", answers)
		}
	})
}

// corpusDirIfPresent is corpusDir without a test to skip.
func corpusDirIfPresent() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "ortb-corpus")
	if _, err := os.Stat(filepath.Join(c, "requests")); err != nil {
		return "", false
	}
	return c, true
}
