package privacy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prebid/openrtb/v19/openrtb2"

	"github.com/bidsieve/bidsieve/privacy/privacytest"
)

// The DSPs of the tests: three with vendor-list entries of each kind, one whose id the
// list lacks, one without an id, and a service provider (not a third party).
var (
	dspConsent  = DSP{GVLID: 10, ThirdParty: true}  // purposes 1-4 by consent
	dspInterest = DSP{GVLID: 20, ThirdParty: true}  // purpose 2 by legitimate interest
	dspFlexible = DSP{GVLID: 30, ThirdParty: true}  // purpose 2 flexible
	dspUnlisted = DSP{GVLID: 40, ThirdParty: true}  // not in the vendor list
	dspNoID     = DSP{ThirdParty: true}             // no gvl_id
	dspService  = DSP{GVLID: 10, ThirdParty: false} // a contracted service provider
)

var testDSPs = map[string]DSP{
	"consent": dspConsent, "interest": dspInterest, "flexible": dspFlexible,
	"unlisted": dspUnlisted, "noid": dspNoID, "service": dspService,
}

func testVendorList(t testing.TB) *VendorList {
	t.Helper()
	vl, err := LoadVendorList("testdata/vendor-list.json")
	if err != nil {
		t.Fatal(err)
	}
	return vl
}

func int8p(v int8) *int8 { return &v }

// baseRequest is a publisher request carrying every field the rules touch.
func baseRequest() *openrtb2.BidRequest {
	return &openrtb2.BidRequest{
		ID:   "auction-1",
		Imp:  []openrtb2.Imp{{ID: "1", Banner: &openrtb2.Banner{W: ptr64(300), H: ptr64(250)}}},
		Site: &openrtb2.Site{Domain: "news.example"},
		Device: &openrtb2.Device{
			UA: "Mozilla/5.0", IP: "203.0.113.77", IPv6: "2001:db8:abcd:12ff:1:2:3:4",
			IFA: "ifa-1", DPIDSHA1: "dpid-1", DIDMD5: "did-1", MACSHA1: "mac-1",
			Geo: &openrtb2.Geo{Lat: 48.85661, Lon: 2.35222, Country: "FRA", Region: "IDF", City: "Paris", ZIP: "75001"},
		},
		User: &openrtb2.User{
			ID: "user-1", BuyerUID: "buyer-1", Yob: 1984, Gender: "F",
			EIDs: []openrtb2.EID{{Source: "id5-sync.com", UIDs: []openrtb2.UID{{ID: "id5-1"}}}},
			Geo:  &openrtb2.Geo{Lat: 48.85661, Lon: 2.35222, Country: "FRA"},
		},
		Source: &openrtb2.Source{TID: "tid-1"},
	}
}

func ptr64(v int64) *int64 { return &v }

// What a DSP sees of baseRequest, whole and with each group removed (written out here,
// not derived from the package's scrubbing).
var (
	seenAll = privacytest.Seen{
		UserID: "user-1", BuyerUID: "buyer-1", EIDs: 1,
		IFA: "ifa-1", DPID: "dpid-1", DID: "did-1", MAC: "mac-1",
		IP: "203.0.113.77", IPv6: "2001:db8:abcd:12ff:1:2:3:4",
		Lat: 48.85661, Lon: 2.35222, City: "Paris", ZIP: "75001", Yob: 1984, Gender: "F",
	}
	seenNoUserIDs = privacytest.With(seenAll, func(s *privacytest.Seen) { s.UserID, s.BuyerUID, s.EIDs = "", "", 0 })
	seenNoIDs     = privacytest.With(seenNoUserIDs, func(s *privacytest.Seen) { s.IFA, s.DPID, s.DID, s.MAC = "", "", "", "" })
	// a US sale/share opt-out: ids, the IP's host part, geo to 2 decimals.
	seenOptOut = privacytest.With(seenNoIDs, func(s *privacytest.Seen) {
		s.IP, s.IPv6, s.Lat, s.Lon = "203.0.113.0", "2001:db8:abcd:1200::", 48.86, 2.35
	})
	// COPPA: ids, IP host part, precise geo and demographics.
	seenCOPPA = privacytest.With(seenNoIDs, func(s *privacytest.Seen) {
		s.IP, s.IPv6, s.Lat, s.Lon, s.City, s.ZIP, s.Yob, s.Gender = "203.0.113.0", "2001:db8:abcd:1200::", 0, 0, "", "", 0, ""
	})
	// device.lmt: as COPPA but the geo is only coarsened.
	seenLMT = privacytest.With(seenOptOut, func(s *privacytest.Seen) { s.Yob, s.Gender = 0, "" })
)

// outcome is what one DSP got: blocked with a reason, or the fields it saw.
type outcome struct {
	Blocked string
	Saw     privacytest.Seen
}

func sent(s privacytest.Seen) outcome { return outcome{Saw: s} }
func blocked(reason string) outcome   { return outcome{Blocked: reason} }

// runAuction parses req and applies each DSP's action, checking that the publisher's
// request is left as it was.
func runAuction(t *testing.T, p *Policy, req *openrtb2.BidRequest, dsps map[string]DSP) map[string]outcome {
	t.Helper()
	before, _ := json.Marshal(req)
	a := p.Parse(req)
	got := map[string]outcome{}
	for name, d := range dsps {
		act := a.Decide(d)
		out := a.Apply(act)
		switch {
		case act.Blocked && out != nil:
			t.Errorf("%s: blocked (%s) but Apply returned a request", name, act.Reason)
		case act.Blocked:
			got[name] = blocked(act.Reason.String())
		default:
			got[name] = sent(privacytest.View(out))
		}
	}
	if after, _ := json.Marshal(req); string(after) != string(before) {
		t.Errorf("the publisher's request changed:\n%s", cmp.Diff(string(before), string(after)))
	}
	return got
}
