package privacy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	gpp "github.com/prebid/go-gpp"
	"github.com/prebid/go-gpp/constants"
	"github.com/prebid/go-gpp/sections"
	"github.com/prebid/go-gpp/sections/uspnat"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// usDSPs: a third party and a contracted service provider.
var usDSPs = map[string]DSP{"third": {ThirdParty: true}, "service": {ThirdParty: false}}

// plainSection is a GPP section go-gpp carries as text (US Privacy v1, TCF EU v2).
type plainSection struct {
	id    constants.SectionID
	value string
}

func (s plainSection) GetID() constants.SectionID { return s.id }
func (s plainSection) GetValue() string           { return s.value }
func (s plainSection) Encode(bool) []byte         { return []byte(s.value) }

// nat is a US national section: 1 opted out, 2 did not opt out, 0 not applicable.
func nat(sale, share, targeted byte) uspnat.USPNAT {
	return uspnat.USPNAT{SectionID: constants.SectionUSPNAT, CoreSegment: uspnat.USPNATCoreSegment{
		Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1,
		SaleOptOut: sale, SharingOptOut: share, TargetedAdvertisingOptOut: targeted,
		SensitiveDataProcessing: make([]byte, 16), KnownChildSensitiveDataConsents: make([]byte, 3), MspaCoveredTransaction: 2,
	}, GPCSegment: sections.CommonUSGPCSegment{SubsectionType: 1}}
}

func gppString(t *testing.T, secs ...gpp.Section) string {
	t.Helper()
	s, err := gpp.Encode(secs)
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := gpp.Parse(s); len(errs) > 0 {
		t.Fatalf("go-gpp does not parse its own %s: %v", s, errs)
	}
	return s
}

func TestUSOptOut(t *testing.T) {
	p := New(Options{})
	regs := func(r openrtb2.Regs) *openrtb2.BidRequest { q := baseRequest(); q.Regs = &r; return q }
	optedOut := map[string]outcome{"third": sent(seenOptOut), "service": sent(seenAll)}
	untouched := map[string]outcome{"third": sent(seenAll), "service": sent(seenAll)}
	tests := []struct {
		name   string
		req    *openrtb2.BidRequest
		want   map[string]outcome
		reason Reason
	}{
		{"us_privacy 1YYN opts out of sale", regs(openrtb2.Regs{USPrivacy: "1YYN"}), optedOut, ReasonUSPrivacy},
		{"us_privacy 1YNN", regs(openrtb2.Regs{USPrivacy: "1YNN"}), untouched, ReasonNone},
		{"us_privacy 1---", regs(openrtb2.Regs{USPrivacy: "1---"}), untouched, ReasonNone},
		{"us_privacy malformed is an opt-out", regs(openrtb2.Regs{USPrivacy: "yes please"}), optedOut, ReasonUSPrivacy},
		{"regs.ext.us_privacy (2.5) 1YYN", regs(openrtb2.Regs{Ext: json.RawMessage(`{"us_privacy":"1YYN"}`)}), optedOut, ReasonUSPrivacy},
		{"GPP national: sale opt-out", regs(openrtb2.Regs{GPP: gppString(t, nat(1, 2, 2)), GPPSID: []int8{7}}), optedOut, ReasonGPP},
		{"GPP national: sharing opt-out", regs(openrtb2.Regs{GPP: gppString(t, nat(2, 1, 2)), GPPSID: []int8{7}}), optedOut, ReasonGPP},
		{"GPP national: targeted advertising opt-out", regs(openrtb2.Regs{GPP: gppString(t, nat(2, 2, 1)), GPPSID: []int8{7}}), optedOut, ReasonGPP},
		{"GPP national: no opt-out", regs(openrtb2.Regs{GPP: gppString(t, nat(2, 2, 2)), GPPSID: []int8{7}}), untouched, ReasonNone},
		{"GPP national opt-out, gpp_sid says it does not apply", regs(openrtb2.Regs{GPP: gppString(t, nat(1, 1, 1)), GPPSID: []int8{8}}), untouched, ReasonNone},
		{"GPP national opt-out, no gpp_sid", regs(openrtb2.Regs{GPP: gppString(t, nat(1, 2, 2))}), optedOut, ReasonGPP},
		{"GPP US Privacy section 1YYN", regs(openrtb2.Regs{GPP: gppString(t, plainSection{constants.SectionUSPV1, "1YYN"}), GPPSID: []int8{6}}), optedOut, ReasonGPP},
		{"GPP US Privacy section 1YNN", regs(openrtb2.Regs{GPP: gppString(t, plainSection{constants.SectionUSPV1, "1YNN"}), GPPSID: []int8{6}}), untouched, ReasonNone},
		{"GPP malformed is an opt-out", regs(openrtb2.Regs{GPP: "DBABLA~!!!", GPPSID: []int8{7}}), optedOut, ReasonGPP},
		{"GPP garbage header is an opt-out", regs(openrtb2.Regs{GPP: "not gpp"}), optedOut, ReasonGPP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, runAuction(t, p, tt.req, usDSPs)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			act := p.Parse(tt.req).Decide(usDSPs["third"])
			if got := act.Why.Has(tt.reason); tt.reason != ReasonNone && !got {
				t.Errorf("reasons %v lack %s", act.Why.Labels(), tt.reason)
			}
			if tt.reason == ReasonNone && act.Why != 0 {
				t.Errorf("reasons = %v, want none", act.Why.Labels())
			}
		})
	}
}

func TestGPPCarriesTCF(t *testing.T) {
	p := New(Options{VendorList: testVendorList(t)})
	r := baseRequest()
	r.Regs = &openrtb2.Regs{GDPR: int8p(1), GPP: gppString(t, plainSection{constants.SectionTCFEU2, fullTCF.String()}), GPPSID: []int8{2}}
	got := runAuction(t, p, r, map[string]DSP{"consent": dspConsent, "unlisted": dspUnlisted})
	want := map[string]outcome{"consent": sent(seenAll), "unlisted": blocked("no_consent")} // fullTCF opts in to precise geo
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestCOPPAAndLMT(t *testing.T) {
	p := New(Options{})
	coppa := baseRequest()
	coppa.Regs = &openrtb2.Regs{COPPA: 1}
	lmt := baseRequest()
	lmt.Device.Lmt = int8p(1)
	both := baseRequest()
	both.Regs = &openrtb2.Regs{COPPA: 1, USPrivacy: "1YYN"}
	both.Device.Lmt = int8p(1)
	for _, tt := range []struct {
		name string
		req  *openrtb2.BidRequest
		want map[string]outcome
	}{
		{"coppa", coppa, map[string]outcome{"third": sent(seenCOPPA), "service": sent(seenCOPPA)}},
		{"lmt", lmt, map[string]outcome{"third": sent(seenLMT), "service": sent(seenLMT)}},
		{"coppa, lmt and an opt-out: the strictest", both, map[string]outcome{"third": sent(seenCOPPA), "service": sent(seenCOPPA)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, runAuction(t, p, tt.req, usDSPs)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	// user.geo goes too, not only device.geo
	a := p.Parse(coppa)
	if g := a.Apply(a.Decide(usDSPs["third"])).User.Geo; g.Lat != 0 || g.Lon != 0 || g.Country != "FRA" {
		t.Errorf("coppa user.geo = %+v, want no lat/lon, country kept", g)
	}
}

func TestTruncateIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":               "203.0.113.0",
		"::ffff:203.0.113.77":        "203.0.113.0",
		"2001:db8:abcd:12ff:1:2:3:4": "2001:db8:abcd:1200::",
		"not an ip":                  "",
		"":                           "",
	} {
		if got := truncateIP(in); got != want {
			t.Errorf("truncateIP(%q) = %q, want %q", in, got, want)
		}
	}
}
