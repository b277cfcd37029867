package privacy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/prebid/go-gdpr/api"
	"github.com/prebid/go-gdpr/consentconstants"
	"github.com/prebid/go-gdpr/vendorlist2"
)

// VendorList is a parsed IAB Global Vendor List (the v2 or v3 vendor-list.json): for each
// vendor id, the purposes it asks consent for (purposes), those it claims a legitimate
// interest for (legIntPurposes) and those it accepts either basis for (flexiblePurposes).
// It is immutable and safe for concurrent use.
type VendorList struct {
	version int
	vendors map[uint16]vendorDecl
}

// vendorDecl is one vendor's declarations as bit sets of purposes (bit p for purpose p),
// read from go-gdpr's parsed list once, so that deciding allocates nothing.
type vendorDecl struct {
	consent, li, flexible uint32
	preciseGeo            bool // special feature 1
}

// maxPurpose is the highest TCF 2 purpose id (a consent string has 24 purpose bits).
const maxPurpose = 24

// LoadVendorList reads and parses the vendor list file at path (config privacy.gvl_file).
func LoadVendorList(path string) (*VendorList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vendor list: %w", err)
	}
	vl, err := ParseVendorList(data)
	if err != nil {
		return nil, fmt.Errorf("vendor list %s: %w", path, err)
	}
	return vl, nil
}

// ParseVendorList parses a vendor list document. A document that is not JSON, has no
// vendorListVersion or lists no vendor is an error.
func ParseVendorList(data []byte) (*VendorList, error) {
	l, err := vendorlist2.ParseEagerly(data)
	if err != nil {
		return nil, fmt.Errorf("parse vendor list: %w", err)
	}
	if l.SpecVersion() < 2 {
		return nil, errors.New("parse vendor list: gvlSpecificationVersion must be 2 or 3 (TCF 2)")
	}
	var ids struct {
		Vendors map[string]struct {
			ID uint16 `json:"id"`
		} `json:"vendors"`
	}
	if err := json.Unmarshal(data, &ids); err != nil {
		return nil, fmt.Errorf("parse vendor list: %w", err)
	}
	if len(ids.Vendors) == 0 {
		return nil, errors.New("parse vendor list: no vendors")
	}
	vl := &VendorList{version: int(l.Version()), vendors: make(map[uint16]vendorDecl, len(ids.Vendors))}
	for _, v := range ids.Vendors {
		vl.vendors[v.ID] = declOf(l.Vendor(v.ID))
	}
	return vl, nil
}

// declOf reads a go-gdpr vendor: its Purpose and LegitimateInterest include
// flexiblePurposes, the Strict ones do not; a purpose is in purposes or legIntPurposes,
// never both, so both answering yes means flexible.
func declOf(v api.Vendor) vendorDecl {
	var d vendorDecl
	if v == nil {
		return d
	}
	d.preciseGeo = v.SpecialFeature(1)
	for p := 1; p <= maxPurpose; p++ {
		id, bit := consentconstants.Purpose(p), uint32(1)<<p
		switch {
		case v.Purpose(id) && v.LegitimateInterest(id):
			d.flexible |= bit
		case v.PurposeStrict(id):
			d.consent |= bit
		case v.LegitimateInterestStrict(id):
			d.li |= bit
		}
	}
	return d
}

// Version is the list's vendorListVersion.
func (v *VendorList) Version() int { return v.version }

// vendor returns the vendor's declarations; false when the list does not have it.
func (v *VendorList) vendor(id uint16) (vendorDecl, bool) {
	if v == nil || id == 0 {
		return vendorDecl{}, false
	}
	d, ok := v.vendors[id]
	return d, ok
}
