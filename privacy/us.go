package privacy

import (
	"slices"

	gpp "github.com/prebid/go-gpp"
	"github.com/prebid/go-gpp/constants"
	"github.com/prebid/go-gpp/sections/uspnat"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// parseUS sets the auction's US sale/share opt-out from regs.gpp (with regs.gpp_sid) and
// us_privacy, and returns the TCF EU string GPP carries when its section 2 applies.
func (a *Auction) parseUS(r *openrtb2.Regs) (tcfEU string) {
	if a.usPrivacy != "" && usPrivacyOptOut(a.usPrivacy) {
		a.usOptOut = ReasonUSPrivacy
	}
	if r == nil || r.GPP == "" {
		return ""
	}
	optOut, tcfEU := gppSignals(r.GPP, r.GPPSID)
	if optOut && a.usOptOut == ReasonNone {
		a.usOptOut = ReasonGPP
	}
	return tcfEU
}

// usPrivacyOptOut reads a US Privacy string (version 1, notice, opt-out of sale, LSPA):
// "1YYN" opts out of sale, "1YNN" and "1---" do not. A string that is not 4 characters of
// version 1 with Y, N or - is taken as an opt-out.
func usPrivacyOptOut(s string) bool {
	if len(s) != 4 || s[0] != '1' {
		return true
	}
	for i := 1; i < 4; i++ {
		if c := s[i] | 0x20; c != 'y' && c != 'n' && s[i] != '-' {
			return true
		}
	}
	return s[2]|0x20 == 'y'
}

// gppSignals reads a GPP string: whether an applicable US national section (or a US
// Privacy section) opts out of sale, sharing or targeted advertising, and the TCF EU v2
// section's string. Sections apply when gpp_sid lists them, or all of them when gpp_sid is
// empty. A string, or any section, that does not parse is an opt-out.
func gppSignals(s string, sids []int8) (optOut bool, tcfEU string) {
	c, errs := parseGPP(s)
	if c == nil || len(errs) > 0 {
		// go-gpp reports a section it could not parse only as an error (the section is
		// then a zero value, which reads as "not applicable"): any error is an opt-out.
		optOut = true
	}
	if c == nil {
		return optOut, ""
	}
	applies := func(id constants.SectionID) bool { return len(sids) == 0 || slices.Contains(sids, int8(id)) }
	for i, id := range c.SectionTypes {
		if !applies(id) {
			continue
		}
		switch sec := c.Sections[i].(type) {
		case uspnat.USPNAT:
			cs := sec.CoreSegment
			optOut = optOut || cs.SaleOptOut != 2 && cs.SaleOptOut != 0 || cs.SharingOptOut != 2 && cs.SharingOptOut != 0 ||
				cs.TargetedAdvertisingOptOut != 2 && cs.TargetedAdvertisingOptOut != 0
		default:
			switch id {
			case constants.SectionUSPV1:
				optOut = optOut || usPrivacyOptOut(c.Sections[i].GetValue())
			case constants.SectionTCFEU2:
				tcfEU = c.Sections[i].GetValue()
			}
		}
	}
	return optOut, tcfEU
}

// parseGPP parses a GPP string, nil when the header does not parse (or the parser panics).
func parseGPP(s string) (c *gpp.GppContainer, errs []error) {
	defer func() {
		if recover() != nil {
			c = nil
		}
	}()
	g, errs := gpp.Parse(s)
	if len(g.Sections) == 0 && len(errs) > 0 {
		return nil, errs
	}
	return &g, errs
}
