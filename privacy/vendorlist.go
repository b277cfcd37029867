package privacy

import (
	"errors"
	"fmt"
	"os"

	"github.com/prebid/go-gdpr/api"
	"github.com/prebid/go-gdpr/vendorlist2"
)

// VendorList is a parsed IAB Global Vendor List (the v2 or v3 vendor-list.json): for each
// vendor id, the purposes it asks consent for (purposes), those it claims a legitimate
// interest for (legIntPurposes) and those it accepts either basis for (flexiblePurposes).
// It is immutable and safe for concurrent use.
type VendorList struct {
	list api.VendorList
}

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
	return &VendorList{list: l}, nil
}

// Version is the list's vendorListVersion.
func (v *VendorList) Version() int { return int(v.list.Version()) }

// vendor returns the vendor's declarations, nil when the list does not have it.
func (v *VendorList) vendor(id uint16) api.Vendor {
	if v == nil || id == 0 {
		return nil
	}
	return v.list.Vendor(id)
}
