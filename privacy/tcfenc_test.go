package privacy

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/prebid/go-gdpr/consentconstants"
	tcf2 "github.com/prebid/go-gdpr/vendorconsent/tcf2"
)

func purposeOf(p int) consentconstants.Purpose { return consentconstants.Purpose(p) }

// go-gdpr v1.12.0 parses TCF 2 strings but has no encoder: tcfString writes the core
// segment of the IAB's "Consent string and vendor list formats v2" (bit field vendor
// sections, no publisher restriction), and every string it writes is checked to parse
// with go-gdpr and to read back as built.

// tcf describes a TCF 2 core string.
type tcf struct {
	consent   []int    // purposes with consent
	liPurpose []int    // purposes with legitimate-interest transparency
	vendors   []uint16 // vendors with consent
	liVendors []uint16 // vendors with legitimate interest
	geo       bool     // special feature 1 (precise geolocation) opted in
}

type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) put(v uint64, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[w.n/8] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

func (w *bitWriter) set(ids []int, width int) {
	var v uint64
	for _, id := range ids {
		v |= 1 << uint(width-id)
	}
	w.put(v, width)
}

func (w *bitWriter) vendorBits(ids []uint16) {
	maxID := 0
	for _, id := range ids {
		maxID = max(maxID, int(id))
	}
	w.put(uint64(maxID), 16)
	w.put(0, 1) // bit field
	for id := 1; id <= maxID; id++ {
		bit := uint64(0)
		for _, v := range ids {
			if int(v) == id {
				bit = 1
			}
		}
		w.put(bit, 1)
	}
}

// String encodes the core segment.
func (c tcf) String() string {
	var w bitWriter
	ds := uint64(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixMilli() / 100)
	w.put(2, 6)   // version
	w.put(ds, 36) // created
	w.put(ds, 36) // last updated
	w.put(7, 12)  // CMP id
	w.put(1, 12)  // CMP version
	w.put(1, 6)   // consent screen
	w.put(4, 6)   // language E
	w.put(13, 6)  // language N
	w.put(71, 12) // vendor list version
	w.put(5, 6)   // TCF policy version
	w.put(1, 1)   // service specific
	w.put(0, 1)   // non-standard stacks
	sf := uint64(0)
	if c.geo {
		sf = 1 << 11 // special feature 1 is the first of 12 bits
	}
	w.put(sf, 12) // special feature opt-ins
	w.set(c.consent, 24)
	w.set(c.liPurpose, 24)
	w.put(0, 1) // purpose one treatment
	w.put(3, 6) // publisher CC D
	w.put(4, 6) // E
	w.vendorBits(c.vendors)
	w.vendorBits(c.liVendors)
	w.put(0, 12) // no publisher restrictions
	for len(w.b) < 29 {
		w.put(0, 8)
	}
	return base64.RawURLEncoding.EncodeToString(w.b)
}

func TestTCFEncoderRoundTrips(t *testing.T) {
	c := tcf{consent: []int{1, 2, 4}, liPurpose: []int{2, 7}, vendors: []uint16{10, 30}, liVendors: []uint16{20}, geo: true}
	vc, err := tcf2.ParseString(c.String())
	if err != nil {
		t.Fatalf("go-gdpr rejects the test encoder's string %s: %v", c, err)
	}
	m := vc.(tcfConsent)
	for p := 1; p <= 24; p++ {
		want := p == 1 || p == 2 || p == 4
		if got := m.PurposeAllowed(purposeOf(p)); got != want {
			t.Errorf("purpose %d consent = %v, want %v", p, got, want)
		}
		wantLI := p == 2 || p == 7
		if got := m.PurposeLITransparency(purposeOf(p)); got != wantLI {
			t.Errorf("purpose %d LI = %v, want %v", p, got, wantLI)
		}
	}
	for id := uint16(1); id <= 40; id++ {
		if got, want := m.VendorConsent(id), id == 10 || id == 30; got != want {
			t.Errorf("vendor %d consent = %v, want %v", id, got, want)
		}
		if got, want := m.VendorLegitInterest(id), id == 20; got != want {
			t.Errorf("vendor %d LI = %v, want %v", id, got, want)
		}
	}
	if !m.SpecialFeatureOptIn(1) || m.SpecialFeatureOptIn(2) {
		t.Errorf("special features 1, 2 = %v, %v; want true, false", m.SpecialFeatureOptIn(1), m.SpecialFeatureOptIn(2))
	}
	if m.VendorListVersion() != 71 {
		t.Errorf("vendor list version = %d, want 71", m.VendorListVersion())
	}
}
