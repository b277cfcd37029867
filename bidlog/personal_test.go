package bidlog

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestRowHoldsNoPersonalData: the bid log never stores a user id, an IP address or a
// consent string (issue 12, docs/PRIVACY.md). A row's text columns are the ones listed
// here, none of which is copied from user, device.ip/ipv6/ifa, regs or a consent field;
// a new text column must be added here on purpose, after checking it holds none of them.
func TestRowHoldsNoPersonalData(t *testing.T) {
	allowed := []string{
		"request_id", "imp_id", "dsp", // the publisher's auction and imp ids, the DSP's name
		"country", "region", "device_type", "os", "browser", "connection", "channel", // features
		"domain", "publisher", "category", "format", "position",
		"decision", "model_version", "outcome",
	}
	var text []string
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
			if k := f.Type.Kind(); k == reflect.String || k == reflect.Slice || k == reflect.Map || k == reflect.Struct {
				text = append(text, name)
			}
		}
	}
	walk(reflect.TypeOf(Row{}))
	for _, c := range text {
		if !slices.Contains(allowed, c) {
			t.Errorf("bid-log column %q holds text (or a nested value) not checked to be free of user ids, IP addresses and consent strings", c)
		}
		if strings.Contains(c, "user") && c != "user_id" || strings.Contains(c, "ip") || strings.Contains(c, "consent") || strings.Contains(c, "ifa") {
			t.Errorf("bid-log column %q is named like personal data", c)
		}
	}
	if len(text) != len(allowed) {
		t.Errorf("text columns %v, want exactly %v", text, allowed)
	}
}
