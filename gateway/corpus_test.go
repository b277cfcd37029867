package gateway

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/internal/filetest"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// corpusRates are the rates ../shared/ortb-corpus/README.md asks for (value of one unit
// in USD, roughly).
var corpusRates = map[string]float64{
	"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CHF": 1.13, "RUB": 0.011, "AUD": 0.66, "MXN": 0.058,
	"PLN": 0.25, "CAD": 0.73, "BRL": 0.18, "INR": 0.012, "CNY": 0.14, "SEK": 0.095, "NOK": 0.094, "DKK": 0.145,
}

// corpusDir finds ../shared/ortb-corpus from the module root, or skips the test.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, ok := corpusDirIfPresent()
	if !ok {
		t.Skip("corpus test skipped: ../shared/ortb-corpus (beside the repository root) is absent")
	}
	return dir
}

// corpusFiles reads the corpus's JSON files in dir, by name.
func corpusFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	return filetest.ReadDir(t, dir, func(name string) bool { return strings.HasSuffix(name, ".json") })
}

// corpusBidder bids on every imp it is offered, in the request's first currency, above the
// floor, so that the corpus exercises the auction and the answer, not just the decoder.
func corpusBidder(markup float64) func(req *openrtb2.BidRequest) answer {
	return func(req *openrtb2.BidRequest) answer {
		cur := "USD"
		if len(req.Cur) > 0 {
			cur = req.Cur[0]
		}
		var bids []openrtb2.Bid
		for _, imp := range req.Imp {
			floorCur := imp.BidFloorCur
			if floorCur == "" {
				floorCur = "USD"
			}
			floor := imp.BidFloor * rateOf(floorCur) / rateOf(cur) // in cur
			bids = append(bids, openrtb2.Bid{
				ID: "b" + imp.ID, ImpID: imp.ID, Price: math.Round((floor*markup+0.5)*100) / 100,
				AdM: "<ad p=${AUCTION_PRICE}/>", NURL: "http://127.0.0.1:1/win?p=${AUCTION_PRICE}", CrID: "c", ADomain: []string{"adv.example"},
			})
		}
		return answer{body: openrtb2.BidResponse{ID: req.ID, Cur: cur, SeatBid: []openrtb2.SeatBid{{Seat: "s", Bid: bids}}}}
	}
}

func rateOf(cur string) float64 {
	if cur == "USD" {
		return 1
	}
	return corpusRates[cur]
}

func corpusConfig(dsps ...*fakeDSP) *config.Config {
	cfg := testConfig(dsps...)
	cfg.Currency.Rates = corpusRates
	return cfg
}

func TestCorpusValidRequests(t *testing.T) {
	dir := corpusDir(t)
	high := newFakeDSP(t, corpusBidder(1.5))
	low := newFakeDSP(t, corpusBidder(1.2))
	video := newFakeDSP(t, corpusBidder(2))
	none := newFakeDSP(t, noBid)
	cfg := corpusConfig(high, low, video, none)
	cfg.DSPs[2].Targeting.Formats = []string{"video"}
	tg := newTestGateway(t, cfg)

	files := corpusFiles(t, filepath.Join(dir, "requests"))
	if len(files) == 0 {
		t.Fatal("the corpus has no requests")
	}
	var ok200, ok204 int
	for name, raw := range files {
		status, body := tg.post(t, raw)
		switch status {
		case http.StatusOK:
			var req openrtb2.BidRequest
			_ = json.Unmarshal(raw, &req)
			if isPrebidNoBid(t, name, &req, body) {
				ok204++ // auction.nobid auto: a Prebid client's no-bid is a 200 with no seatbid
				continue
			}
			ok200++
			checkResponse(t, name, &req, body)
		case http.StatusNoContent:
			ok204++
		default:
			t.Errorf("%s: HTTP %d %s", name, status, body)
		}
	}
	t.Logf("corpus: %d valid requests: %d answered 200, %d answered 204", len(files), ok200, ok204)
	if ok200 < len(files)/2 {
		t.Errorf("only %d of %d corpus requests sold: the fake DSPs bid above every floor", ok200, len(files))
	}
	if n := tg.metric(t, "bidsieve_auctions_total", "result", "panic"); n != 0 {
		t.Errorf("%d panics", n)
	}
}

// checkResponse checks a 200 answer: a BidResponse for the request, at most one bid per
// imp, on imps of the request, priced above 0.
func checkResponse(t *testing.T, name string, req *openrtb2.BidRequest, body []byte) {
	t.Helper()
	var resp openrtb2.BidResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Errorf("%s: answer is not a BidResponse: %v", name, err)
		return
	}
	if resp.ID != req.ID || resp.Cur == "" || len(resp.SeatBid) == 0 {
		t.Errorf("%s: answer id %q cur %q seatbids %d", name, resp.ID, resp.Cur, len(resp.SeatBid))
	}
	seen := map[string]bool{}
	for _, sb := range resp.SeatBid {
		for _, b := range sb.Bid {
			if seen[b.ImpID] {
				t.Errorf("%s: two winners for imp %q", name, b.ImpID)
			}
			seen[b.ImpID] = true
			if !slices.ContainsFunc(req.Imp, func(imp openrtb2.Imp) bool { return imp.ID == b.ImpID }) {
				t.Errorf("%s: bid on unknown imp %q", name, b.ImpID)
			}
			if !(b.Price > 0) || strings.Contains(b.AdM, "${") {
				t.Errorf("%s: bid %+v", name, b)
			}
		}
	}
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

func TestCorpusInvalidRequests(t *testing.T) {
	dir := corpusDir(t)
	var reasons map[string][]string
	raw, err := os.ReadFile(filepath.Join(dir, "invalid-reasons.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &reasons); err != nil {
		t.Fatal(err)
	}
	a := newFakeDSP(t, corpusBidder(1.5))
	tg := newTestGateway(t, corpusConfig(a))
	files := corpusFiles(t, filepath.Join(dir, "invalid"))
	if len(files) == 0 {
		t.Fatal("the corpus has no invalid requests")
	}
	for name, body := range files {
		status, out := tg.post(t, body)
		if status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", name, status, out)
			continue
		}
		e := decodeError(t, out)
		field := indexRE.ReplaceAllString(e.Field, "")
		var want []string
		for _, r := range reasons[name] {
			f, _, _ := strings.Cut(r, ":")
			if strings.HasPrefix(r, "site and app") {
				want = append(want, "site", "app")
				continue
			}
			want = append(want, f)
		}
		if !slices.Contains(want, field) {
			t.Errorf("%s: field %q (%s), want one of %v (%v)", name, e.Field, e.Error, want, reasons[name])
		}
	}
	if n := a.hits.Load(); n != 0 {
		t.Errorf("the DSP got %d invalid requests", n)
	}
	t.Logf("corpus: %d invalid requests answered 400 naming the field", len(files))
}

// isPrebidNoBid reports whether body is the no-bid answer a Prebid client gets (HTTP 200,
// the request's id, an empty seatbid), failing the test when such an answer goes to a
// request that carries no ext.prebid or names another id.
func isPrebidNoBid(t *testing.T, name string, req *openrtb2.BidRequest, body []byte) bool {
	t.Helper()
	var resp struct {
		ID      string            `json:"id"`
		SeatBid []json.RawMessage `json:"seatbid"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.SeatBid) > 0 {
		return false
	}
	var ext struct {
		Prebid json.RawMessage `json:"prebid"`
	}
	_ = json.Unmarshal(req.Ext, &ext)
	if len(ext.Prebid) == 0 {
		t.Errorf("%s: a 200 with no seatbid for a request without ext.prebid", name)
	}
	if resp.ID != req.ID {
		t.Errorf("%s: no-bid answer id %q, want %q", name, resp.ID, req.ID)
	}
	return true
}
