package privacy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prebid/openrtb/v19/openrtb2"

	"github.com/bidsieve/bidsieve/privacy/privacytest"
)

// gdprRequest is baseRequest under GDPR (2.6 fields) with the consent string.
func gdprRequest(consent string) *openrtb2.BidRequest {
	r := baseRequest()
	r.Regs = &openrtb2.Regs{GDPR: int8p(1)}
	r.User.Consent = consent
	return r
}

var (
	allVendors = []uint16{10, 20, 30, 40}
	fullTCF    = tcf{consent: []int{1, 2, 3, 4, 7}, liPurpose: []int{2, 7}, vendors: allVendors, liVendors: allVendors, geo: true}
)

func TestTCF(t *testing.T) {
	p := New(Options{VendorList: testVendorList(t)})
	allBlocked := map[string]outcome{
		"consent": blocked("no_consent"), "interest": blocked("no_consent"), "flexible": blocked("no_consent"),
		"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": blocked("no_consent"),
	}
	truncated := fullTCF.String()[:20]
	tests := []struct {
		name string
		req  *openrtb2.BidRequest
		want map[string]outcome
	}{
		{"no consent string", gdprRequest(""), allBlocked},
		{"a string consenting to nothing", gdprRequest(tcf{}.String()), allBlocked},
		{"full consent", gdprRequest(fullTCF.String()), map[string]outcome{
			// interest does not declare special feature 1 (precise geolocation)
			"consent": sent(seenAll), "interest": sent(coarse(seenAll)), "flexible": sent(seenAll),
			"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": sent(seenAll),
		}},
		{"purpose 1 only", gdprRequest(tcf{consent: []int{1}, vendors: allVendors, liVendors: allVendors}.String()), allBlocked},
		{"purpose 2 without purpose 1: no user or device ids", gdprRequest(tcf{consent: []int{2, 3, 4}, vendors: allVendors}.String()), map[string]outcome{
			"consent": sent(coarse(seenNoIDs)), "interest": blocked("no_consent"), "flexible": sent(coarse(seenNoIDs)),
			"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": sent(coarse(seenNoIDs)),
		}},
		{"purposes 1 and 2 without 3 and 4: no user ids", gdprRequest(tcf{consent: []int{1, 2}, vendors: allVendors}.String()), map[string]outcome{
			"consent": sent(coarse(seenNoUserIDs)), "interest": blocked("no_consent"), "flexible": sent(coarse(seenNoUserIDs)),
			"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": sent(coarse(seenNoUserIDs)),
		}},
		{"purposes 1-4 without purpose 4", gdprRequest(tcf{consent: []int{1, 2, 3}, vendors: allVendors}.String()), map[string]outcome{
			"consent": sent(coarse(seenNoUserIDs)), "interest": blocked("no_consent"), "flexible": sent(coarse(seenNoUserIDs)),
			"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": sent(coarse(seenNoUserIDs)),
		}},
		{"vendor absent from the string's vendor consents", gdprRequest(tcf{consent: []int{1, 2, 3, 4}, vendors: []uint16{30}}.String()), map[string]outcome{
			"consent": blocked("no_consent"), "interest": blocked("no_consent"), "flexible": sent(coarse(seenAll)),
			"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": blocked("no_consent"),
		}},
		{"legitimate interest only (and no precise geolocation)", gdprRequest(tcf{liPurpose: []int{2, 7}, liVendors: allVendors}.String()), map[string]outcome{
			// interest declares 2 by LI but 1 by consent; flexible accepts LI for 2.
			"consent": blocked("no_consent"), "interest": sent(coarse(seenNoIDs)), "flexible": sent(coarse(seenNoIDs)),
			"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": blocked("no_consent"),
		}},
		{"LI transparency without the vendor's LI bit", gdprRequest(tcf{consent: []int{1, 3, 4}, liPurpose: []int{2}, vendors: allVendors}.String()), allBlocked},
		{"malformed string", gdprRequest("CP!!not-base64!!"), allBlocked},
		{"truncated string", gdprRequest(truncated), allBlocked},
		{"TCF 1 string", gdprRequest("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"), allBlocked},
		{"gdpr 0: not enforced", func() *openrtb2.BidRequest { r := gdprRequest(""); r.Regs.GDPR = int8p(0); return r }(), map[string]outcome{
			"consent": sent(seenAll), "interest": sent(seenAll), "flexible": sent(seenAll),
			"unlisted": sent(seenAll), "noid": sent(seenAll), "service": sent(seenAll),
		}},
		{"2.5 placement: regs.ext.gdpr and user.ext.consent", func() *openrtb2.BidRequest {
			r := baseRequest()
			r.Regs = &openrtb2.Regs{Ext: json.RawMessage(`{"gdpr":1}`)}
			r.User.Ext = json.RawMessage(`{"consent":"` + tcf{consent: []int{1, 2}, vendors: allVendors}.String() + `"}`)
			return r
		}(), map[string]outcome{
			"consent": sent(coarse(seenNoUserIDs)), "interest": blocked("no_consent"), "flexible": sent(coarse(seenNoUserIDs)),
			"unlisted": blocked("no_consent"), "noid": blocked("no_gvl_id"), "service": sent(coarse(seenNoUserIDs)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, runAuction(t, p, tt.req, testDSPs)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// coarse is s with lat/lon rounded to 2 decimals: no opt-in to precise geolocation.
func coarse(s privacytest.Seen) privacytest.Seen { s.Lat, s.Lon = 48.86, 2.35; return s }

func TestGDPRDefault(t *testing.T) {
	vl := testVendorList(t)
	for _, tt := range []struct {
		dflt bool
		want outcome
	}{{true, blocked("no_consent")}, {false, sent(seenAll)}} {
		p := New(Options{VendorList: vl, GDPRDefault: tt.dflt})
		r := baseRequest() // says nothing of GDPR, no consent
		got := runAuction(t, p, r, map[string]DSP{"consent": dspConsent})
		if diff := cmp.Diff(tt.want, got["consent"]); diff != "" {
			t.Errorf("gdpr_default %v: (-want +got)\n%s", tt.dflt, diff)
		}
		r.Regs = &openrtb2.Regs{GDPR: int8p(2)} // neither 0 nor 1: unknown too
		got = runAuction(t, p, r, map[string]DSP{"consent": dspConsent})
		if diff := cmp.Diff(tt.want, got["consent"]); diff != "" {
			t.Errorf("gdpr 2, gdpr_default %v: (-want +got)\n%s", tt.dflt, diff)
		}
	}
}

func TestNoVendorListWithholdsUnderGDPR(t *testing.T) {
	p := New(Options{})
	got := runAuction(t, p, gdprRequest(fullTCF.String()), map[string]DSP{"consent": dspConsent})
	if diff := cmp.Diff(blocked("no_consent"), got["consent"]); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestScrubReasons(t *testing.T) {
	p := New(Options{VendorList: testVendorList(t)})
	a := p.Parse(gdprRequest(tcf{consent: []int{1, 2}, vendors: allVendors}.String()))
	act := a.Decide(dspConsent)
	if act.Blocked || !act.Scrub.Has(UserIDs) || act.Scrub.Has(DeviceIDs) {
		t.Fatalf("action = %+v, want user ids scrubbed only", act)
	}
	if got := act.Why.Labels(); !cmp.Equal(got, []string{"no_consent"}) {
		t.Errorf("reasons = %v, want [no_consent]", got)
	}
}
