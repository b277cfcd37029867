package gateway

import (
	"slices"
	"testing"
)

func TestMembers(t *testing.T) {
	tests := []struct {
		raw  string
		want []string // key=value, as written
	}{
		{`{}`, nil},
		{` { "a" : 1 , "b":[1,{"c":"]}"}], "d\"e":"x\"y\\" ,"f":null,"g":{"h":{}}} `,
			[]string{`a=1`, `b=[1,{"c":"]}"}]`, `d\"e="x\"y\\"`, `f=null`, `g={"h":{}}`}},
		{`[1,2]`, nil},
		{`"s"`, nil},
		{``, nil},
		// Not JSON (never in a decoded request): no panic, no member past the damage.
		{`{"a`, nil},
		{`{"a":"`, []string{`a="`}},
		{`{"a":{"b":"\`, []string{`a={"b":"\`}},
		{`{"a"`, nil},
		{`{"`, nil},
	}
	for _, tt := range tests {
		var got []string
		for m := objectMembers([]byte(tt.raw)); ; {
			k, v, ok := m.next()
			if !ok {
				break
			}
			got = append(got, string(k)+"="+string(v))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("members of %s: %q, want %q", tt.raw, got, tt.want)
		}
	}
	if !keyIs([]byte(`\u0061lpha`), "alpha", false) || !keyIs([]byte("ALPHA"), "alpha", true) || keyIs([]byte("ALPHA"), "alpha", false) || keyIs([]byte("alph"), "alpha", true) {
		t.Error("keyIs: escapes are unquoted, case folded only when asked, lengths must match")
	}
}
