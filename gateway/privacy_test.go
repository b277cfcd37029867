package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/config"
	"github.com/bidsieve/bidsieve/prebid"
	"github.com/bidsieve/bidsieve/privacy/privacytest"
	"github.com/google/go-cmp/cmp"
	gpp "github.com/prebid/go-gpp"
	"github.com/prebid/go-gpp/constants"
	"github.com/prebid/go-gpp/sections"
	"github.com/prebid/go-gpp/sections/uspnat"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// The privacy tests run the gateway with the test vendor list of package privacy: vendor
// 10 asks consent for purposes 1-4 and declares precise geolocation (special feature 1);
// 20 asks consent for 1, 3, 4 and claims a legitimate interest for 2 (no special
// feature); 30 asks consent for 1, 3, 4, accepts either basis for 2 (flexible) and
// declares special feature 1.
const testGVL = "../privacy/testdata/vendor-list.json"

// TCF 2 core strings (vendor list version 71), written by package privacy's test encoder
// (privacy/tcfenc_test.go), which checks that go-gdpr parses each and reads it back as
// built. Vendors 10, 20 and 30 appear in every vendor section a string has.
const (
	// consent to purposes 1-4, legitimate-interest transparency for 2 and 7, consent and LI
	// for the three vendors, special feature 1 opted in.
	tcfFull = "CQuhfSAQuhfSAAHABBENBHFoAPAAAEIAAAYgAPABAEAQAeACAIAgAA"
	// consent to purpose 2 only (and the three vendors).
	tcfPurpose2 = "CQuhfSAQuhfSAAHABBENBHFgAEAAAAAAAAYgAPABAEAQAAAAAA"
	// consent to purposes 1 and 2 (and the three vendors): no profile, no personalised ads.
	tcfPurposes12 = "CQuhfSAQuhfSAAHABBENBHFgAMAAAAAAAAYgAPABAEAQAAAAAA"
	// no consent to anything.
	tcfNothing = "CQuhfSAQuhfSAAHABBENBHFgAAAAAAAAAAYgAAAAAAAA"
	// legitimate interest only: LI transparency for purpose 2, LI for the three vendors.
	tcfLIOnly = "CQuhfSAQuhfSAAHABBENBHFgAAAAAEAAAAYgAAAAeACAIAgAAA"
)

// privacyConfig is four DSPs on the fakes: a (vendor 10, OpenRTB 2.6 placement), b
// (vendor 20, a contracted service provider: not a third party; fields where the
// publisher put them), c (vendor 30, 2.5 placement) and d (no vendor id), bidsieve's
// supply-chain node, and the test vendor list.
func privacyConfig(fakes ...*fakeDSP) *config.Config {
	cfg := testConfig(fakes...)
	cfg.Privacy.GVLFile = testGVL
	cfg.SChain = config.SChain{ASI: "bidsieve.example", SID: "pub-42", HP: 1}
	cfg.DSPs[0].GVLID, cfg.DSPs[0].ORTB = 10, config.ORTB26
	cfg.DSPs[1].GVLID, cfg.DSPs[1].ThirdParty = 20, false
	cfg.DSPs[2].GVLID, cfg.DSPs[2].ORTB = 30, config.ORTB25
	return cfg
}

// personalRequest is a publisher request carrying every field the privacy rules touch.
func personalRequest(id string) *openrtb2.BidRequest {
	r := request(id, 0)
	r.Device = &openrtb2.Device{
		UA: "Mozilla/5.0", IP: "203.0.113.77", IPv6: "2001:db8:abcd:12ff:1:2:3:4", IFA: "ifa-1",
		Geo: &openrtb2.Geo{Country: "USA", Region: "CA", Lat: 37.77493, Lon: -122.41942, City: "San Francisco", ZIP: "94103"},
	}
	r.User = &openrtb2.User{
		ID: "user-1", BuyerUID: "buyer-1", Yob: 1984, Gender: "F",
		EIDs: []openrtb2.EID{{Source: "id5-sync.com", UIDs: []openrtb2.UID{{ID: "id5-1"}}}},
	}
	r.Source = &openrtb2.Source{TID: "tid-1"}
	return r
}

func gdpr(r *openrtb2.BidRequest, consent string) *openrtb2.BidRequest {
	one := int8(1)
	r.Regs = &openrtb2.Regs{GDPR: &one}
	r.User.Consent = consent
	return r
}

// What a DSP receives of personalRequest, written out rather than derived from package
// privacy.
var (
	gotAll = privacytest.Seen{
		UserID: "user-1", BuyerUID: "buyer-1", EIDs: 1, IFA: "ifa-1", IP: "203.0.113.77", IPv6: "2001:db8:abcd:12ff:1:2:3:4",
		Lat: 37.77493, Lon: -122.41942, City: "San Francisco", ZIP: "94103", Yob: 1984, Gender: "F",
	}
	gotCoarseGeo = privacytest.With(gotAll, func(g *privacytest.Seen) { g.Lat, g.Lon = 37.77, -122.42 })
	// TCF purpose 3 or 4 missing: the user ids go.
	gotNoUserIDs = privacytest.With(gotAll, func(g *privacytest.Seen) { g.UserID, g.BuyerUID, g.EIDs = "", "", 0 })
	// TCF purpose 1 missing: the user and device ids go.
	gotNoIDs = privacytest.With(gotNoUserIDs, func(g *privacytest.Seen) { g.IFA = "" })
	// a US sale/share opt-out: the ids, the IP's host part, geo to 2 decimals.
	gotOptOut = privacytest.With(gotNoIDs, func(g *privacytest.Seen) {
		g.IP, g.IPv6, g.Lat, g.Lon = "203.0.113.0", "2001:db8:abcd:1200::", 37.77, -122.42
	})
	// COPPA: the ids, the IP's host part, precise geo, year of birth and gender.
	gotCOPPA = privacytest.With(gotNoIDs, func(g *privacytest.Seen) {
		g.IP, g.IPv6, g.Lat, g.Lon, g.City, g.ZIP, g.Yob, g.Gender = "203.0.113.0", "2001:db8:abcd:1200::", 0, 0, "", "", 0, ""
	})
	// device.lmt: as an opt-out, and year of birth and gender.
	gotLMT = privacytest.With(gotOptOut, func(g *privacytest.Seen) { g.Yob, g.Gender = 0, "" })
)

// dspFate is what happened to one DSP in one auction: withheld for a reason, or what it
// received, and the user_id feature its bid-log row and its score read.
type dspFate struct {
	Withheld string // the reason label; "" when sent
	Got      privacytest.Seen
	UserID   bool
}

func withheld(reason string) dspFate { return dspFate{Withheld: reason} }
func sentAs(g privacytest.Seen) dspFate {
	return dspFate{Got: g, UserID: g.UserID != "" || g.BuyerUID != "" || g.IFA != ""}
}

// featureScorer records, per DSP, the user_id feature of the rows it was asked to score.
type featureScorer struct {
	mu     sync.Mutex
	userID map[string]bool
}

func (s *featureScorer) Score(_ context.Context, in *ScoreInput, dst []float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range in.Pairs {
		s.userID[p.DSP] = in.Features[p.Imp].UserID
		dst[k] = 0.5
	}
	return nil
}

func (s *featureScorer) Version() string { return "features-1" }

func gppNational(t *testing.T, sale byte) string {
	t.Helper()
	s, err := gpp.Encode([]gpp.Section{uspnat.USPNAT{SectionID: constants.SectionUSPNAT, CoreSegment: uspnat.USPNATCoreSegment{
		Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SaleOptOut: sale, SharingOptOut: 2, TargetedAdvertisingOptOut: 2,
		SensitiveDataProcessing: make([]byte, 16), KnownChildSensitiveDataConsents: make([]byte, 3), MspaCoveredTransaction: 2,
	}, GPCSegment: sections.CommonUSGPCSegment{SubsectionType: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPrivacyEndToEnd runs auctions through the HTTP handler with four DSPs of different
// vendor ids and placements and checks, per DSP, whether it was called, which fields it
// received, its bid-log row (decision, seatnonbid code, user_id feature), the user_id
// feature it was scored on, and the metrics.
func TestPrivacyEndToEnd(t *testing.T) {
	tests := []struct {
		name string
		req  func(*openrtb2.BidRequest) *openrtb2.BidRequest
		want map[string]dspFate
	}{
		{"no signal: everyone gets everything", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return r },
			map[string]dspFate{"a": sentAs(gotAll), "b": sentAs(gotAll), "c": sentAs(gotAll), "d": sentAs(gotAll)}},
		{"GDPR without a consent string", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, "") },
			map[string]dspFate{"a": withheld("no_consent"), "b": withheld("no_consent"), "c": withheld("no_consent"), "d": withheld("no_gvl_id")}},
		{"GDPR in regs.ext (2.5) without consent", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r.Regs = &openrtb2.Regs{Ext: json.RawMessage(`{"gdpr":1}`)}
			return r
		}, map[string]dspFate{"a": withheld("no_consent"), "b": withheld("no_consent"), "c": withheld("no_consent"), "d": withheld("no_gvl_id")}},
		{"GDPR, full consent", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, tcfFull) },
			// b's vendor does not declare precise geolocation: lat/lon coarsened.
			map[string]dspFate{"a": sentAs(gotAll), "b": sentAs(gotCoarseGeo), "c": sentAs(gotAll), "d": withheld("no_gvl_id")}},
		{"GDPR, consent in user.ext (2.5)", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r = gdpr(r, "")
			r.User.Ext = json.RawMessage(`{"consent":"` + tcfFull + `"}`)
			return r
		}, map[string]dspFate{"a": sentAs(gotAll), "b": sentAs(gotCoarseGeo), "c": sentAs(gotAll), "d": withheld("no_gvl_id")}},
		{"GDPR, no consent to anything", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, tcfNothing) },
			map[string]dspFate{"a": withheld("no_consent"), "b": withheld("no_consent"), "c": withheld("no_consent"), "d": withheld("no_gvl_id")}},
		{"GDPR, purpose 2 only: purpose 1 missing removes every id", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, tcfPurpose2) },
			// b needs a legitimate interest for purpose 2, which the string does not give.
			map[string]dspFate{"a": sentAs(privacytest.With(gotNoIDs, coarse)), "b": withheld("no_consent"), "c": sentAs(privacytest.With(gotNoIDs, coarse)), "d": withheld("no_gvl_id")}},
		{"GDPR, purposes 1 and 2: 3/4 missing removes the user ids", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, tcfPurposes12) },
			map[string]dspFate{"a": sentAs(privacytest.With(gotNoUserIDs, coarse)), "b": withheld("no_consent"), "c": sentAs(privacytest.With(gotNoUserIDs, coarse)), "d": withheld("no_gvl_id")}},
		{"GDPR, legitimate interest only", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, tcfLIOnly) },
			// a asks consent for purpose 2; b's interest and c's flexible purpose 2 stand,
			// without consent to purpose 1 (no ids) nor to geolocation.
			map[string]dspFate{"a": withheld("no_consent"), "b": sentAs(privacytest.With(gotNoIDs, coarse)), "c": sentAs(privacytest.With(gotNoIDs, coarse)), "d": withheld("no_gvl_id")}},
		{"GDPR, malformed consent is no consent (never a 400)", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, "CO!!not-a-consent-string") },
			map[string]dspFate{"a": withheld("no_consent"), "b": withheld("no_consent"), "c": withheld("no_consent"), "d": withheld("no_gvl_id")}},
		{"GDPR, a truncated consent string is no consent", func(r *openrtb2.BidRequest) *openrtb2.BidRequest { return gdpr(r, tcfFull[:20]) },
			map[string]dspFate{"a": withheld("no_consent"), "b": withheld("no_consent"), "c": withheld("no_consent"), "d": withheld("no_gvl_id")}},
		{"GDPR 0 with a consent string: GDPR does not apply", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			zero := int8(0)
			r = gdpr(r, tcfNothing)
			r.Regs.GDPR = &zero
			return r
		}, map[string]dspFate{"a": sentAs(gotAll), "b": sentAs(gotAll), "c": sentAs(gotAll), "d": sentAs(gotAll)}},
		{"US Privacy 1YYN: third parties lose ids and the IP's host part", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r.Regs = &openrtb2.Regs{USPrivacy: "1YYN"}
			return r
		}, map[string]dspFate{"a": sentAs(gotOptOut), "b": sentAs(gotAll), "c": sentAs(gotOptOut), "d": sentAs(gotOptOut)}},
		{"US Privacy 1YNN: no opt-out", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r.Regs = &openrtb2.Regs{USPrivacy: "1YNN"}
			return r
		}, map[string]dspFate{"a": sentAs(gotAll), "b": sentAs(gotAll), "c": sentAs(gotAll), "d": sentAs(gotAll)}},
		{"US Privacy 1---: not applicable", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r.Regs = &openrtb2.Regs{Ext: json.RawMessage(`{"us_privacy":"1---"}`)}
			return r
		}, map[string]dspFate{"a": sentAs(gotAll), "b": sentAs(gotAll), "c": sentAs(gotAll), "d": sentAs(gotAll)}},
		{"GPP US national sale opt-out", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r.Regs = &openrtb2.Regs{GPP: gppNational(t, 1), GPPSID: []int8{7}}
			return r
		}, map[string]dspFate{"a": sentAs(gotOptOut), "b": sentAs(gotAll), "c": sentAs(gotOptOut), "d": sentAs(gotOptOut)}},
		{"GPP US national, no opt-out", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r.Regs = &openrtb2.Regs{GPP: gppNational(t, 2), GPPSID: []int8{7}}
			return r
		}, map[string]dspFate{"a": sentAs(gotAll), "b": sentAs(gotAll), "c": sentAs(gotAll), "d": sentAs(gotAll)}},
		{"COPPA: ids, IP, precise geo, yob, gender removed for every DSP", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			r.Regs = &openrtb2.Regs{COPPA: 1}
			return r
		}, map[string]dspFate{"a": sentAs(gotCOPPA), "b": sentAs(gotCOPPA), "c": sentAs(gotCOPPA), "d": sentAs(gotCOPPA)}},
		{"device.lmt", func(r *openrtb2.BidRequest) *openrtb2.BidRequest {
			one := int8(1)
			r.Device.Lmt = &one
			return r
		}, map[string]dspFate{"a": sentAs(gotLMT), "b": sentAs(gotLMT), "c": sentAs(gotLMT), "d": sentAs(gotLMT)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakes := []*fakeDSP{newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid)}
			sink := &memSink{}
			sc := &featureScorer{userID: map[string]bool{}}
			tg := newTestGateway(t, privacyConfig(fakes...), func(o *Options) { o.BidLog = sink; o.Scorer = sc })
			req := tt.req(personalRequest("r1"))
			prebidClient := len(req.Ext) == 0 // then it asks for every DSP's bid status, as Prebid.js can
			if prebidClient {
				req.Ext = json.RawMessage(`{"prebid":{"returnallbidstatus":true}}`)
			}
			status, body := tg.post(t, req)
			if status != http.StatusOK && status != http.StatusNoContent {
				t.Fatalf("status %d, body %s; want 200 or 204 whatever the privacy signals", status, body)
			}
			seatCode := map[string]prebid.NonBidCode{} // the answer's ext.seatnonbid, by DSP
			if prebidClient {
				var ans struct {
					Ext prebid.ResponseExt `json:"ext"`
				}
				if err := json.Unmarshal(body, &ans); err != nil {
					t.Fatalf("answer %s: %v", body, err)
				}
				for _, sn := range ans.Ext.SeatNonBid {
					seatCode[sn.Seat] = sn.NonBid[0].StatusCode
				}
			}
			tg.stop(t)
			rows := map[string]bidlog.Row{}
			for _, r := range sink.all() {
				rows[r.DSP] = r
			}
			for i, name := range []string{"a", "b", "c", "d"} {
				want, f, row := tt.want[name], fakes[i], rows[name]
				reqs := f.requests()
				if want.Withheld != "" {
					if len(reqs) != 0 {
						t.Errorf("DSP %s was called; want it withheld (%s)", name, want.Withheld)
					}
					if row.Decision != bidlog.DecisionPrivacyBlocked || row.Outcome != bidlog.OutcomeNotSent {
						t.Errorf("DSP %s bid-log row: decision %q outcome %q, want privacy_blocked, not_sent", name, row.Decision, row.Outcome)
					}
					if code, ok := prebid.CallCode(row.Decision, row.Outcome); !ok || code != prebid.RequestBlockedPrivacy {
						t.Errorf("DSP %s seatnonbid code %d, %v; want 204", name, code, ok)
					}
					if code, ok := seatCode[name]; prebidClient && (!ok || code != prebid.RequestBlockedPrivacy) {
						t.Errorf("DSP %s: the answer's seatnonbid code %d (listed %v), want 204", name, code, ok)
					}
					if n := tg.metric(t, "bidsieve_privacy_withheld_total", "dsp", name, "reason", want.Withheld); n != 1 {
						t.Errorf("bidsieve_privacy_withheld_total{dsp=%s,reason=%s} = %d, want 1", name, want.Withheld, n)
					}
					if n := tg.metric(t, "bidsieve_dsp_decisions_total", "dsp", name, "decision", "privacy_blocked"); n != 1 {
						t.Errorf("bidsieve_dsp_decisions_total{dsp=%s,decision=privacy_blocked} = %d, want 1", name, n)
					}
					if _, scored := sc.userID[name]; scored {
						t.Errorf("DSP %s withheld for privacy but scored", name)
					}
					if fig := tg.g.Figures()[name]; fig.Privacy != 1 || fig.Offered != 1 || fig.Sent != 0 {
						t.Errorf("DSP %s live figures %+v, want 1 offered, 1 withheld for privacy", name, fig)
					}
					continue
				}
				if len(reqs) != 1 {
					t.Errorf("DSP %s got %d requests, want 1", name, len(reqs))
					continue
				}
				if diff := cmp.Diff(want.Got, privacytest.View(&reqs[0])); diff != "" {
					t.Errorf("DSP %s received (-want +got):\n%s", name, diff)
				}
				if row.Decision == bidlog.DecisionPrivacyBlocked || row.UserID != want.UserID {
					t.Errorf("DSP %s bid-log row: decision %q user_id %v; want user_id %v (what the DSP received)", name, row.Decision, row.UserID, want.UserID)
				}
				if u, scored := sc.userID[name]; !scored || u != want.UserID {
					t.Errorf("DSP %s scored with user_id %v (scored %v), want %v", name, u, scored, want.UserID)
				}
				if n := tg.metric(t, "bidsieve_privacy_withheld_total", "dsp", name); n != 0 {
					t.Errorf("DSP %s sent but counted withheld %d times", name, n)
				}
				if src := reqs[0].Source; src == nil || src.TID != "tid-1" {
					t.Errorf("DSP %s: source %+v, want source.tid kept", name, src)
				}
			}
			if err := noPersonalData(sink.all(), req); err != "" {
				t.Error(err)
			}
		})
	}
}

func coarse(g *privacytest.Seen) { g.Lat, g.Lon = 37.77, -122.42 }

// noPersonalData says what, of the request's user ids, IP addresses and consent string,
// a bid-log row holds; "" when none.
func noPersonalData(rows []bidlog.Row, req *openrtb2.BidRequest) string {
	secrets := []string{"user-1", "buyer-1", "id5-1", "ifa-1", "203.0.113", "2001:db8", "San Francisco", "94103", "1984"}
	if req.User != nil && req.User.Consent != "" {
		secrets = append(secrets, req.User.Consent)
	}
	if req.Regs != nil && req.Regs.GPP != "" {
		secrets = append(secrets, req.Regs.GPP)
	}
	for _, r := range rows {
		b, _ := json.Marshal(r)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				return "a bid-log row holds " + s + ": " + string(b)
			}
		}
	}
	return ""
}

// TestPrivacySupplyChain: bidsieve's node is appended to the publisher's chain, or makes
// a new one, in each DSP's placement (a: 2.6 source.schain; b: where the publisher put it;
// c: 2.5 source.ext.schain), source.tid kept; the regulation and consent fields move
// with the placement.
func TestPrivacySupplyChain(t *testing.T) {
	ours := openrtb2.SupplyChainNode{ASI: "bidsieve.example", SID: "pub-42", HP: ptrInt8(1)}
	pubs := openrtb2.SupplyChainNode{ASI: "exchange.example", SID: "7", HP: ptrInt8(1)}
	created := &openrtb2.SupplyChain{Complete: 0, Ver: "1.0", Nodes: []openrtb2.SupplyChainNode{ours}}
	grown := &openrtb2.SupplyChain{Complete: 1, Ver: "1.0", Nodes: []openrtb2.SupplyChainNode{pubs, ours}}
	type chains struct{ In26, In25 *openrtb2.SupplyChain }
	tests := []struct {
		name string
		req  func(*openrtb2.BidRequest)
		want map[string]chains
	}{
		{"no chain from the publisher: created", func(*openrtb2.BidRequest) {},
			map[string]chains{"a": {In26: created}, "b": {In26: created}, "c": {In25: created}, "d": {In26: created}}},
		{"a 2.6 chain: appended", func(r *openrtb2.BidRequest) {
			r.Source.SChain = &openrtb2.SupplyChain{Complete: 1, Ver: "1.0", Nodes: []openrtb2.SupplyChainNode{pubs}}
		}, map[string]chains{"a": {In26: grown}, "b": {In26: grown}, "c": {In25: grown}, "d": {In26: grown}}},
		{"a 2.5 chain: appended", func(r *openrtb2.BidRequest) {
			r.Source.Ext = json.RawMessage(`{"schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"exchange.example","sid":"7","hp":1}]}}`)
		}, map[string]chains{"a": {In26: grown}, "b": {In25: grown}, "c": {In25: grown}, "d": {In25: grown}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakes := []*fakeDSP{newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid)}
			tg := newTestGateway(t, privacyConfig(fakes...))
			req := personalRequest("r1")
			tt.req(req)
			tg.post(t, req)
			for i, name := range []string{"a", "b", "c", "d"} {
				reqs := fakes[i].requests()
				if len(reqs) != 1 {
					t.Fatalf("DSP %s got %d requests", name, len(reqs))
				}
				src := reqs[0].Source
				if src == nil || src.TID != "tid-1" {
					t.Fatalf("DSP %s: source %+v, want tid-1 kept", name, src)
				}
				var ext struct {
					SChain *openrtb2.SupplyChain `json:"schain"`
				}
				if len(src.Ext) > 0 {
					if err := json.Unmarshal(src.Ext, &ext); err != nil {
						t.Fatalf("DSP %s: source.ext %s: %v", name, src.Ext, err)
					}
				}
				if diff := cmp.Diff(tt.want[name], chains{In26: src.SChain, In25: ext.SChain}); diff != "" {
					t.Errorf("DSP %s supply chain (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// TestPrivacyPlacement: a 2.6 DSP reads regs.gdpr and user.consent, a 2.5 DSP
// regs.ext.gdpr and user.ext.consent, whichever the publisher sent.
func TestPrivacyPlacement(t *testing.T) {
	fakes := []*fakeDSP{newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid)}
	tg := newTestGateway(t, privacyConfig(fakes...))
	tg.post(t, gdpr(personalRequest("r1"), tcfFull)) // 2.6 fields from the publisher
	r25 := personalRequest("r2")
	r25.Regs = &openrtb2.Regs{Ext: json.RawMessage(`{"gdpr":1}`)}
	r25.User.Ext = json.RawMessage(`{"consent":"` + tcfFull + `"}`)
	tg.post(t, r25)
	for _, tc := range []struct {
		dsp  int
		is26 bool
	}{{0, true}, {2, false}} {
		for _, r := range fakes[tc.dsp].requests() {
			var regsExt struct {
				GDPR *int8 `json:"gdpr"`
			}
			var userExt struct {
				Consent string `json:"consent"`
			}
			_ = json.Unmarshal(r.Regs.Ext, &regsExt)
			_ = json.Unmarshal(r.User.Ext, &userExt)
			got26 := r.Regs.GDPR != nil && *r.Regs.GDPR == 1 && r.User.Consent == tcfFull && regsExt.GDPR == nil && userExt.Consent == ""
			got25 := r.Regs.GDPR == nil && r.User.Consent == "" && regsExt.GDPR != nil && *regsExt.GDPR == 1 && userExt.Consent == tcfFull
			if tc.is26 && !got26 || !tc.is26 && !got25 {
				t.Errorf("request %s to DSP %d: regs %+v user.consent %q user.ext %s; want the 2.6 placement %v", r.ID, tc.dsp, r.Regs, r.User.Consent, r.User.Ext, tc.is26)
			}
		}
	}
}

// TestPrivacyVendorListErrors: a missing or corrupt privacy.gvl_file is an error at start
// naming the key and the file, and a reload with one leaves the configuration in force.
func TestPrivacyVendorListErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := dir + "/corrupt.json"
	if err := os.WriteFile(corrupt, []byte(`{"vendorListVersion": 3, "vendors": `), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir + "/missing.json", corrupt} {
		cfg := privacyConfig(newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid))
		cfg.Privacy.GVLFile = path
		_, err := New(cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), "privacy.gvl_file") || !strings.Contains(err.Error(), path) {
			t.Errorf("New with gvl_file %s: %v; want an error naming privacy.gvl_file and the file", path, err)
		}
	}
	f := []*fakeDSP{newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid)}
	tg := newTestGateway(t, privacyConfig(f...))
	bad := tg.g.Config().Clone()
	bad.Privacy.GVLFile = corrupt
	if err := tg.g.Apply(bad); err == nil || !strings.Contains(err.Error(), "privacy.gvl_file") {
		t.Errorf("Apply with a corrupt vendor list: %v", err)
	}
	if tg.g.Config().Privacy.GVLFile != testGVL {
		t.Error("a configuration with a corrupt vendor list was put in force")
	}
	// The rules in force still read the good list: full consent reaches vendor 10.
	tg.post(t, gdpr(personalRequest("r1"), tcfFull))
	if n := f[0].hits.Load(); n != 1 {
		t.Errorf("DSP a got %d requests under full consent after the refused reload, want 1", n)
	}
}

func ptrInt8(v int8) *int8 { return &v }

// TestPrivacyDefaultConfigStarts: the embedded defaults (no vendor list, GDPR not applied
// by default, no node) start, and under GDPR every DSP is withheld.
func TestPrivacyDefaultConfigStarts(t *testing.T) {
	a := newFakeDSP(t, noBid)
	cfg := testConfig(a)
	cfg.DSPs[0].GVLID = 10
	tg := newTestGateway(t, cfg)
	tg.post(t, personalRequest("r1"))
	tg.post(t, gdpr(personalRequest("r2"), tcfFull))
	if n := a.hits.Load(); n != 1 {
		t.Errorf("DSP got %d requests, want 1: the GDPR request is withheld without a vendor list", n)
	}
	if n := tg.metric(t, "bidsieve_privacy_withheld_total", "dsp", "a", "reason", "no_consent"); n != 1 {
		t.Errorf("withheld = %d, want 1", n)
	}
}

// TestCorpusUnderPrivacy runs the shared corpus's valid requests (54 of them carry regs,
// consent or a supply chain) through a gateway with the privacy rules and a node on:
// every request still gets 200 or 204, every DSP request ends its chain with bidsieve's
// node in the DSP's placement, a COPPA request reaches no DSP with a user or device id
// or a whole IP, and a GDPR request never reaches the DSP without a vendor id.
func TestCorpusUnderPrivacy(t *testing.T) {
	dir := corpusDir(t)
	fakes := []*fakeDSP{newFakeDSP(t, corpusBidder(1.5)), newFakeDSP(t, corpusBidder(1.2)), newFakeDSP(t, corpusBidder(1.1)), newFakeDSP(t, corpusBidder(1.3))}
	cfg := privacyConfig(fakes...)
	cfg.Currency.Rates = corpusRates
	cfg.DSPs[1].GVLID = 10 // a, b, c on vendor 10 in the three placements; d without an id
	cfg.DSPs[2].GVLID = 10
	tg := newTestGateway(t, cfg)
	type signals struct{ coppa, gdpr bool }
	sent := map[string]signals{} // by request id
	seen := map[string]int{}
	posted := 0
	for name, raw := range corpusFiles(t, filepath.Join(dir, "requests")) {
		raw = withID(t, raw, name) // many corpus requests share an id: each gets its file's
		var req openrtb2.BidRequest
		_ = json.Unmarshal(raw, &req)
		var ext struct {
			GDPR  *int8 `json:"gdpr"`
			COPPA int8  `json:"coppa"`
		}
		var s signals
		if r := req.Regs; r != nil {
			_ = json.Unmarshal(r.Ext, &ext)
			s.coppa = r.COPPA == 1 || ext.COPPA == 1
			s.gdpr = r.GDPR != nil && *r.GDPR == 1 || r.GDPR == nil && ext.GDPR != nil && *ext.GDPR == 1
		}
		sent[req.ID] = s
		seen[req.ID]++
		posted++
		if status, body := tg.post(t, raw); status != http.StatusOK && status != http.StatusNoContent {
			t.Errorf("%s: HTTP %d %s", name, status, body)
		}
	}
	ours := openrtb2.SupplyChainNode{ASI: "bidsieve.example", SID: "pub-42", HP: ptrInt8(1)}
	var calls, coppaCalls int
	for i, f := range fakes {
		for _, r := range f.requests() {
			calls++
			if sent[r.ID].coppa && seen[r.ID] == 1 {
				coppaCalls++
			}
			var chain *openrtb2.SupplyChain
			if r.Source != nil {
				chain = r.Source.SChain
				var ext struct {
					SChain *openrtb2.SupplyChain `json:"schain"`
				}
				if json.Unmarshal(r.Source.Ext, &ext) == nil && ext.SChain != nil {
					if chain != nil || i == 0 {
						t.Errorf("DSP %d, request %s: a chain in source.ext beside source.schain, or for a 2.6 DSP", i, r.ID)
					}
					chain = ext.SChain
				}
			}
			if i == 2 && r.Source != nil && r.Source.SChain != nil {
				t.Errorf("request %s: source.schain for a 2.5 DSP", r.ID)
			}
			if chain == nil || len(chain.Nodes) == 0 || !cmp.Equal(chain.Nodes[len(chain.Nodes)-1], ours) {
				t.Errorf("DSP %d, request %s: chain %+v does not end with bidsieve's node", i, r.ID, chain)
			}
			s := sent[r.ID]
			if seen[r.ID] != 1 {
				continue // an id the corpus uses twice: its signals are not known here
			}
			if s.gdpr && i == 3 {
				t.Errorf("GDPR request %s reached the DSP without a vendor id", r.ID)
			}
			if s.coppa {
				if u := r.User; u != nil && (u.ID != "" || u.BuyerUID != "" || u.Yob != 0 || u.Gender != "") {
					t.Errorf("COPPA request %s: DSP %d got user %+v", r.ID, i, u)
				}
				if d := r.Device; d != nil && (d.IFA != "" || d.IP != "" && !strings.HasSuffix(d.IP, ".0")) {
					t.Errorf("COPPA request %s: DSP %d got ifa %q, ip %q", r.ID, i, d.IFA, d.IP)
				}
			}
		}
	}
	t.Logf("corpus under privacy: %d auctions, %d DSP calls (%d of COPPA requests)", posted, calls, coppaCalls)
	if calls < posted || coppaCalls == 0 {
		t.Errorf("%d DSP calls for %d auctions, %d of COPPA requests: the corpus did not exercise the rules", calls, posted, coppaCalls)
	}
	if n := tg.metric(t, "bidsieve_auctions_total", "result", "panic"); n != 0 {
		t.Errorf("%d panics", n)
	}
}

// withID returns the request raw with its top-level id set to id (numbers kept as written).
func withID(t *testing.T, raw []byte, id string) []byte {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	m["id"] = id
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPrivacyScrubbedCounted: bidsieve_privacy_scrubbed_total counts, per DSP sent a
// scrubbed request, each reason behind the scrub, and nothing for a DSP sent the request
// untouched or withheld.
func TestPrivacyScrubbedCounted(t *testing.T) {
	fakes := []*fakeDSP{newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid), newFakeDSP(t, noBid)}
	tg := newTestGateway(t, privacyConfig(fakes...))
	r := personalRequest("r1")
	r.Regs = &openrtb2.Regs{COPPA: 1, USPrivacy: "1YYN"}
	tg.post(t, r)
	tg.post(t, gdpr(personalRequest("r2"), tcfPurposes12))
	for _, tt := range []struct {
		dsp, reason string
		want        int64
	}{
		{"a", "coppa", 1}, {"a", "us_privacy", 1}, {"a", "no_consent", 1},
		{"b", "coppa", 1}, {"b", "us_privacy", 0}, {"b", "no_consent", 0}, // a service provider; withheld under r2's GDPR
		{"d", "coppa", 1}, {"d", "no_consent", 0}, // withheld under GDPR (no vendor id): not scrubbed
	} {
		if n := tg.metric(t, "bidsieve_privacy_scrubbed_total", "dsp", tt.dsp, "reason", tt.reason); n != tt.want {
			t.Errorf("bidsieve_privacy_scrubbed_total{dsp=%s,reason=%s} = %d, want %d", tt.dsp, tt.reason, n, tt.want)
		}
	}
}
