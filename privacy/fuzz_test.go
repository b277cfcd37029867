package privacy

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// encodesConsent reads a TCF 2 core string with a decoder of its own (not go-gdpr's):
// whether it gives consent to the purposes and to vendor 10 (the consent-based DSP).
func encodesConsent(s string, purposes ...int) bool {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return false
	}
	bit := func(i int) bool { return i/8 < len(b) && b[i/8]&(0x80>>uint(i%8)) != 0 }
	num := func(at, n int) int {
		v := 0
		for i := range n {
			v <<= 1
			if bit(at + i) {
				v |= 1
			}
		}
		return v
	}
	if num(0, 6) != 2 {
		return false
	}
	for _, p := range purposes {
		if !bit(152 + p - 1) {
			return false
		}
	}
	maxID := num(213, 16)
	if maxID < 10 {
		return false
	}
	if !bit(229) {
		return bit(230 + 10 - 1)
	}
	entries, at := num(230, 12), 242
	for range entries {
		isRange := bit(at)
		start := num(at+1, 16)
		end := start
		at += 17
		if isRange {
			end = num(at, 16)
			at += 16
		}
		if start <= 10 && 10 <= end {
			return true
		}
	}
	return false
}

// FuzzConsent: no consent string panics, and none lets the consent-based DSP get the
// request unless it encodes consent to purpose 2 and vendor 10, or user ids unless it
// encodes consent to purposes 1-4 too.
func FuzzConsent(f *testing.F) {
	f.Add(fullTCF.String())
	f.Add(tcf{}.String())
	f.Add(tcf{consent: []int{1, 2}, vendors: []uint16{10}}.String())
	f.Add(tcf{liPurpose: []int{2}, liVendors: []uint16{10, 20}}.String())
	f.Add("CP!!")
	f.Add("")
	f.Add("COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAAAA")
	p := New(Options{VendorList: testVendorList(f)})
	f.Fuzz(func(t *testing.T, consent string) {
		r := gdprRequest(consent)
		a := p.Parse(r)
		for name, d := range testDSPs {
			act := a.Decide(d)
			out := a.Apply(act)
			if act.Blocked {
				continue
			}
			if d.GVLID == 10 && !encodesConsent(consent, 2) {
				t.Fatalf("%s got the request from %q, which does not consent to it", name, consent)
			}
			if d.GVLID == 10 && out.User.ID != "" && !encodesConsent(consent, 1, 2, 3, 4) {
				t.Fatalf("%s saw user.id from %q", name, consent)
			}
		}
	})
}

// FuzzGPP: no GPP or US Privacy string panics, and a third party keeps user ids only when
// the string parses and opts out of nothing.
func FuzzGPP(f *testing.F) {
	f.Add("DBABLA~BVQaAAAAAACA.QA", "1YNN")
	f.Add("DBABLA~BVVqAAAAAACA.QA", "1YYN")
	f.Add("DBABMA~CP", "1---")
	f.Add("garbage", "")
	p := New(Options{})
	f.Fuzz(func(t *testing.T, gppStr, usp string) {
		r := baseRequest()
		r.Regs = &openrtb2.Regs{GPP: gppStr, USPrivacy: usp}
		a := p.Parse(r)
		out := a.Apply(a.Decide(DSP{ThirdParty: true}))
		if out.User.ID != "" && usp != "" && usPrivacyOptOut(usp) {
			t.Fatalf("user.id sent despite us_privacy %q", usp)
		}
	})
}
