// Package privacytest holds what the tests of the privacy rules share, in package privacy
// and in the gateway: what a DSP received of the request fields the rules touch, read the
// same way for both. It is imported by tests only.
package privacytest

import "github.com/prebid/openrtb/v19/openrtb2"

// Seen is what one DSP received of the fields the privacy rules touch.
type Seen struct {
	UserID, BuyerUID string
	EIDs             int
	IFA, DPID        string
	DID, MAC         string
	IP, IPv6         string
	Lat, Lon         float64
	City, ZIP        string
	Yob              int64
	Gender           string
}

// View reads those fields of r.
func View(r *openrtb2.BidRequest) Seen {
	var s Seen
	if u := r.User; u != nil {
		s.UserID, s.BuyerUID, s.EIDs, s.Yob, s.Gender = u.ID, u.BuyerUID, len(u.EIDs), u.Yob, u.Gender
	}
	if d := r.Device; d != nil {
		s.IFA, s.DPID, s.DID, s.MAC, s.IP, s.IPv6 = d.IFA, d.DPIDSHA1, d.DIDMD5, d.MACSHA1, d.IP, d.IPv6
		if g := d.Geo; g != nil {
			s.Lat, s.Lon, s.City, s.ZIP = g.Lat, g.Lon, g.City, g.ZIP
		}
	}
	return s
}

// With returns a copy of s changed by f.
func With(s Seen, f func(*Seen)) Seen { f(&s); return s }
