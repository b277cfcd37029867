package privacy

// Reason says why a DSP was withheld or a field group scrubbed; its String is the metric
// label (bidsieve's /metrics counts per DSP and reason).
type Reason uint8

// Reasons.
const (
	ReasonNone      Reason = iota
	ReasonNoConsent        // TCF 2: no consent or legitimate interest as the vendor list requires
	ReasonNoGVLID          // GDPR applies and the DSP has no IAB vendor id (dsps[].gvl_id)
	ReasonCOPPA            // regs.coppa = 1
	ReasonLMT              // device.lmt = 1
	ReasonUSPrivacy        // regs.us_privacy opts out of sale, or is malformed
	ReasonGPP              // regs.gpp's US national section opts out of sale or sharing, or is malformed
	numReasons
)

var reasonLabels = [numReasons]string{"", "no_consent", "no_gvl_id", "coppa", "lmt", "us_privacy", "gpp"}

// String returns the metric label: no_consent, no_gvl_id, coppa, lmt, us_privacy, gpp; ""
// for ReasonNone.
func (r Reason) String() string {
	if r < numReasons {
		return reasonLabels[r]
	}
	return "unknown"
}

// Reasons is a set of Reason.
type Reasons uint16

func (s Reasons) with(r Reason) Reasons { return s | 1<<r }

// Has reports whether r is in the set.
func (s Reasons) Has(r Reason) bool { return s&(1<<r) != 0 }

// Labels returns the set's metric labels, in Reason order.
func (s Reasons) Labels() []string {
	var out []string
	for r := ReasonNoConsent; r < numReasons; r++ {
		if s.Has(r) {
			out = append(out, r.String())
		}
	}
	return out
}
