package privacy

import (
	"github.com/prebid/go-gdpr/api"
	"github.com/prebid/go-gdpr/consentconstants"
	tcf2 "github.com/prebid/go-gdpr/vendorconsent/tcf2"
)

// tcfConsent is a parsed TCF 2 core string: go-gdpr's tcf2 metadata, which answers for
// legitimate interest too.
type tcfConsent interface {
	api.VendorConsents
	PurposeLITransparency(id consentconstants.Purpose) bool
	VendorLegitInterest(id uint16) bool
	SpecialFeatureOptIn(id uint16) bool
}

// TCF 2 purposes the rules read.
const (
	purposeStorage      consentconstants.Purpose = 1 // store and/or access information on a device
	purposeBasicAds     consentconstants.Purpose = 2 // select basic ads
	purposeProfile      consentconstants.Purpose = 3 // create a personalised ads profile
	purposePersonalized consentconstants.Purpose = 4 // select personalised ads
)

// parseTCF parses a TCF 2 consent string; nil for "", a TCF 1 string, or any string
// go-gdpr rejects (which, the rules say, is no consent). A panic in the parser on hostile
// input is also no consent.
func parseTCF(s string) (c tcfConsent) {
	if !tcf2.IsConsentV2(s) {
		return nil
	}
	defer func() {
		if recover() != nil {
			c = nil
		}
	}()
	vc, err := tcf2.ParseString(s)
	if err != nil {
		return nil
	}
	c, _ = vc.(tcfConsent)
	return c
}

// tcfDecide applies TCF 2 to one DSP under GDPR: the Reason it is withheld for, or
// ReasonNone with the scrubs added to act.
func (a *Auction) tcfDecide(id uint16, act *Action) Reason {
	if id == 0 {
		return ReasonNoGVLID
	}
	v, listed := a.policy.opt.VendorList.vendor(id)
	if !listed || a.tcf == nil || !legalBasis(a.tcf, v, id, purposeBasicAds) {
		return ReasonNoConsent
	}
	if !v.preciseGeo || !a.tcf.SpecialFeatureOptIn(1) {
		// special feature 1 (precise geolocation): the vendor declares it and the user opts in
		act.Scrub |= GeoCoarse
		act.Why = act.Why.with(ReasonNoConsent)
	}
	switch {
	case !legalBasis(a.tcf, v, id, purposeStorage):
		act.Scrub |= UserIDs | DeviceIDs
		act.Why = act.Why.with(ReasonNoConsent)
	case !legalBasis(a.tcf, v, id, purposeProfile) || !legalBasis(a.tcf, v, id, purposePersonalized):
		act.Scrub |= UserIDs
		act.Why = act.Why.with(ReasonNoConsent)
	}
	return ReasonNone
}

// legalBasis reports whether the string gives vendor id a legal basis for purpose p, as
// its vendor-list entry requires: consent (purpose consent and vendor consent) for a
// purpose in purposes, legitimate interest (purpose transparency and the vendor's LI bit)
// for one in legIntPurposes, either for one in flexiblePurposes; a purpose the vendor
// does not declare has none. Purpose 1 has no legitimate interest (TCF policy).
// Publisher restrictions are not read.
func legalBasis(c tcfConsent, v vendorDecl, id uint16, p consentconstants.Purpose) bool {
	bit := uint32(1) << p
	byConsent := (v.consent|v.flexible)&bit != 0 && c.PurposeAllowed(p) && c.VendorConsent(id)
	byLI := (v.li|v.flexible)&bit != 0 && p != purposeStorage && c.PurposeLITransparency(p) && c.VendorLegitInterest(id)
	return byConsent || byLI
}
