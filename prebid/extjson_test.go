package prebid

import (
	"encoding/json"
	"testing"
)

// TestSetPrebidMember: the member lands in the last ext.prebid (the one a JavaScript
// client reads), strings with braces, quotes and escapes do not confuse the scanner, and
// everything else is kept byte for byte.
func TestSetPrebidMember(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `{"prebid":{"type":"video"}}`},
		{` null `, `{"prebid":{"type":"video"}}`},
		{`{}`, `{"prebid":{"type":"video"}}`},
		{`{ }`, `{ "prebid":{"type":"video"}}`},
		{`{"a":"}\"{"}`, `{"a":"}\"{","prebid":{"type":"video"}}`},
		{`{"prebid":{"type":"banner","x":1}}`, `{"prebid":{"type":"video","x":1}}`},
		{`{"prebid":{}, "prebid":{"k":[]}}`, `{"prebid":{}, "prebid":{"k":[],"type":"video"}}`},
		{`{"pre\"bid":{"type":1},"prebid":7}`, `{"pre\"bid":{"type":1},"prebid":{"type":"video"}}`},
		{`{"prebid":{"typ":"x","types":"y"}}`, `{"prebid":{"typ":"x","types":"y","type":"video"}}`},
		{"{\n\"prebid\" : { \"type\" : null }\n}", "{\n\"prebid\" : { \"type\" : \"video\" }\n}"},
	}
	for _, tt := range tests {
		got, ok := setPrebidMember([]byte(tt.in), "type", []byte(`"video"`))
		if !ok || string(got) != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.in, got, ok, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("%q: invalid result %q", tt.in, got)
		}
		if v, found := prebidMember(got, "type"); !found || string(v) != `"video"` {
			t.Errorf("%q: reads back %q, %v", got, v, found)
		}
	}
	for _, bad := range []string{`[]`, `"x"`, `1`} {
		if _, ok := setPrebidMember([]byte(bad), "type", []byte(`1`)); ok {
			t.Errorf("%s accepted", bad)
		}
	}
}
