package privacy

// Fields is a set of field groups to scrub from the request a DSP is sent.
type Fields uint8

// Field groups.
const (
	// UserIDs: user.id, user.buyeruid, user.eids and user.ext.eids are removed.
	UserIDs Fields = 1 << iota
	// DeviceIDs: device.ifa, didsha1, didmd5, dpidsha1, dpidmd5, macsha1, macmd5 are removed.
	DeviceIDs
	// IP: device.ip keeps its first 24 bits (last octet 0), device.ipv6 its first 56.
	IP
	// GeoCoarse: device.geo and user.geo lat/lon are rounded to 2 decimals (about 1 km).
	GeoCoarse
	// GeoFull: device.geo and user.geo lose lat, lon, metro, city and zip (country and
	// region stay).
	GeoFull
	// Demographics: user.yob and user.gender are removed.
	Demographics
)

// Has reports whether every group of g is in f.
func (f Fields) Has(g Fields) bool { return f&g == g }

// Action is what one DSP may receive of one auction's request: nothing (Blocked, with the
// Reason), or the request with the Scrub field groups removed, the regulation, consent
// and supply-chain fields in the DSP's placement. The zero Action sends the request
// unchanged.
type Action struct {
	Blocked bool
	Reason  Reason  // why it is blocked; ReasonNone when not
	Scrub   Fields  // the field groups removed
	Why     Reasons // the reasons behind Scrub, for the metrics
	place   Placement
}

// Placement is where a DSP reads the regulation, consent and supply-chain fields.
type Placement uint8

// Placements.
const (
	AsReceived Placement = iota // where the publisher sent them; a new schain goes to source.schain
	ORTB25                      // regs.ext.gdpr, regs.ext.us_privacy, user.ext.consent, source.ext.schain
	ORTB26                      // regs.gdpr, regs.us_privacy, user.consent, source.schain
	numPlacements
)

// DSP is what the rules need to know of a DSP (config dsps[]).
type DSP struct {
	GVLID      uint16    // its IAB vendor id; 0: none
	ThirdParty bool      // a US sale/share opt-out applies to it
	Placement  Placement // where it reads regs, consent and schain
}
