package privacy

import (
	"math"
	"net/netip"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// Apply returns the request the DSP is sent under act (from Decide on this auction): nil
// when act is Blocked; the auction's request itself when nothing changes; otherwise a
// shallow copy in which only the structs that change are copied. The auction's request is
// never written to.
func (a *Auction) Apply(act Action) *openrtb2.BidRequest {
	if act.Blocked {
		return nil
	}
	req := a.req
	regs := a.regsFor(act.place)
	src := a.sourceFor(act.place)
	uext, uextChanged := a.userExtFor(act.place)
	user := needUser(req.User, act, uextChanged)
	dev := needDevice(req.Device, act.Scrub)
	if regs == req.Regs && src == req.Source && !user && !dev {
		return req
	}
	out := *req
	out.Regs, out.Source = regs, src
	if user || dev {
		out.User, out.Device = a.scrubbedParts(act, user, dev, uext)
	}
	return &out
}

// scrubbedParts returns the user and device of act, shared by the auction's DSPs whose
// scrubs and placement are the same (the first eight such pairs).
func (a *Auction) scrubbedParts(act Action, user, dev bool, uext []byte) (*openrtb2.User, *openrtb2.Device) {
	a.memoMu.Lock()
	defer a.memoMu.Unlock()
	for _, m := range a.memo[:a.memoN] {
		if m.scrub == act.Scrub && m.place == act.place {
			return m.user, m.dev
		}
	}
	m := scrubbed{scrub: act.Scrub, place: act.place, user: a.req.User, dev: a.req.Device}
	if user {
		m.user = a.scrubUser(a.req.User, act, uext)
	}
	if dev {
		m.dev = scrubDevice(a.req.Device, act.Scrub)
	}
	if a.memoN < len(a.memo) {
		a.memo[a.memoN] = m
		a.memoN++
	}
	return m.user, m.dev
}

func needUser(u *openrtb2.User, act Action, extChanged bool) bool {
	if u == nil {
		return false
	}
	if extChanged {
		return true
	}
	f := act.Scrub
	return f.Has(UserIDs) && (u.ID != "" || u.BuyerUID != "" || u.EIDs != nil || hasKey(u.Ext, "eids")) ||
		f.Has(Demographics) && (u.Yob != 0 || u.Gender != "") ||
		f&(GeoCoarse|GeoFull) != 0 && u.Geo != nil ||
		act.place == ORTB25 && u.Consent != ""
}

func needDevice(d *openrtb2.Device, f Fields) bool {
	if d == nil {
		return false
	}
	return f.Has(DeviceIDs) && (d.IFA != "" || d.DIDSHA1 != "" || d.DIDMD5 != "" || d.DPIDSHA1 != "" || d.DPIDMD5 != "" || d.MACSHA1 != "" || d.MACMD5 != "") ||
		f.Has(IP) && (d.IP != "" || d.IPv6 != "") ||
		f&(GeoCoarse|GeoFull) != 0 && d.Geo != nil
}

func (a *Auction) scrubUser(in *openrtb2.User, act Action, ext []byte) *openrtb2.User {
	u := *in
	u.Ext = ext
	switch act.place {
	case ORTB25:
		u.Consent = ""
	case ORTB26:
		if u.Consent == "" {
			u.Consent = a.userConsent
		}
	}
	f := act.Scrub
	if f.Has(UserIDs) {
		u.ID, u.BuyerUID, u.EIDs = "", "", nil
		u.Ext = deleteKey(u.Ext, "eids")
	}
	if f.Has(Demographics) {
		u.Yob, u.Gender = 0, ""
	}
	u.Geo = scrubGeo(u.Geo, f)
	return &u
}

func scrubDevice(in *openrtb2.Device, f Fields) *openrtb2.Device {
	d := *in
	if f.Has(DeviceIDs) {
		d.IFA, d.DIDSHA1, d.DIDMD5, d.DPIDSHA1, d.DPIDMD5, d.MACSHA1, d.MACMD5 = "", "", "", "", "", "", ""
	}
	if f.Has(IP) {
		d.IP, d.IPv6 = truncateIP(d.IP), truncateIP(d.IPv6)
	}
	d.Geo = scrubGeo(d.Geo, f)
	return &d
}

func scrubGeo(in *openrtb2.Geo, f Fields) *openrtb2.Geo {
	if in == nil || f&(GeoCoarse|GeoFull) == 0 {
		return in
	}
	g := *in
	if f.Has(GeoFull) {
		g.Lat, g.Lon, g.Metro, g.City, g.ZIP = 0, 0, "", "", ""
		return &g
	}
	g.Lat, g.Lon = math.Round(g.Lat*100)/100, math.Round(g.Lon*100)/100
	return &g
}

// truncateIP keeps the first 24 bits of an IPv4 address (the last octet becomes 0) or
// the first 56 of an IPv6 one: the network, not the host. An address that does not parse
// is removed.
func truncateIP(s string) string {
	if s == "" {
		return ""
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	bits := 56
	if ip.Is4() || ip.Is4In6() {
		bits = 24
		ip = ip.Unmap()
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.Addr().String()
}
