package strictyaml

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type target struct {
	Name    string             `yaml:"name"`
	Timeout time.Duration      `yaml:"timeout"`
	Count   *int               `yaml:"count,omitempty"`
	Inner   inner              `yaml:"inner"`
	Items   []inner            `yaml:"items"`
	Rates   map[string]float64 `yaml:"rates"`
	Hidden  string             `yaml:"-"`
}

type inner struct {
	On bool `yaml:"on"`
}

func decode(t *testing.T, src string) (*target, error) {
	t.Helper()
	n, err := Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	v := &target{Name: "default"}
	if n == nil {
		return v, nil
	}
	return v, Decode(n, v)
}

func TestDecodeReportsEveryProblemWithItsLineAndPath(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each must appear
	}{
		{"unknown key", "name: a\nnmae: b\n", []string{"line 2: nmae: unknown key"}},
		{"unknown nested key", "inner:\n  of: true\n", []string{"line 2: inner.of: unknown key"}},
		{"unknown key in a list item", "items:\n  - on: true\n  - onn: true\n", []string{"line 3: items[1].onn: unknown key"}},
		{"a tag of - is no key", "Hidden: x\n", []string{"line 1: Hidden: unknown key"}},
		{"repeated key", "name: a\ntimeout: 1s\nname: b\n", []string{"line 3: name: duplicate key"}},
		{"repeated map key", "rates: {EUR: 1, EUR: 2}\n", []string{"line 1: rates.EUR: duplicate key"}},
		{"key that is not a plain value", "? [a]\n: 1\n", []string{"line 1: (top level): keys must be plain values"}},
		{"bare number duration", "timeout: 500\n", []string{`line 1: timeout: invalid duration "500" (want a Go duration such as 150ms)`}},
		{"list for a duration", "timeout: [1s]\n", []string{"line 1: timeout: want a duration such as 150ms"}},
		{"wrong scalar", "inner: {on: maybe}\n", []string{`line 1: inner.on: invalid value "maybe" for a boolean`}},
		{"list for a scalar", "name: [a]\n", []string{"line 1: name: want a single value"}},
		{"scalar for a struct", "inner: yes\n", []string{"line 1: inner: want a mapping"}},
		{"scalar for a list", "items: 3\n", []string{"line 1: items: want a list"}},
		{"scalar for a map", "rates: 3\n", []string{"line 1: rates: want a mapping"}},
		{"map value", "rates: {EUR: lots}\n", []string{`line 1: rates.EUR: invalid value "lots" for a number`}},
		{"pointer field", "count: some\n", []string{`line 1: count: invalid value "some" for an integer`}},
		{"anchor under an unknown key", "base: &b {on: true}\ninner: *b\n", []string{"line 1: base: unknown key"}},
		{"merged mapping checked", "x: &b {onn: true}\ninner:\n  <<: *b\n", []string{"line 1: x: unknown key", "line 1: inner.onn: unknown key"}},
		{"all at once", "a: 1\nb: 2\ntimeout: x\n", []string{"line 1: a: unknown key", "line 2: b: unknown key", "line 3: timeout: invalid duration"}},
		{"syntax", "name: [\n", []string{"line 1: did not find expected node content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.yaml)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.HasPrefix(err.Error(), "yaml: ") {
				t.Errorf("error %q keeps yaml's prefix", err)
			}
		})
	}
}

func TestDecodeProblemsAreStructured(t *testing.T) {
	_, err := decode(t, "name: a\n\ninner: {of: 1}\n")
	var p *Problem
	if !errors.As(err, &p) || p.Line != 3 || p.Path != "inner.of" || p.Msg != "unknown key" {
		t.Fatalf("error %v as a Problem: %+v", err, p)
	}
}

func TestDecodeAcceptsAGoodDocument(t *testing.T) {
	v, err := decode(t, `
name: svc
timeout: 150ms
count: 3
inner: &on {on: true}
items: [*on, {<<: *on, on: false}]
rates: {EUR: 1.08}
`)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "svc" || v.Timeout != 150*time.Millisecond || v.Count == nil || *v.Count != 3 || !v.Inner.On ||
		len(v.Items) != 2 || !v.Items[0].On || v.Items[1].On || v.Rates["EUR"] != 1.08 {
		t.Errorf("decoded %+v", v)
	}
}

func TestNullAndEmptyLeaveValuesInPlace(t *testing.T) {
	for _, src := range []string{"", "  \n", "# only a comment\n", "~\n", "name: ~\n"} {
		v, err := decode(t, src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if v.Name != "default" {
			t.Errorf("%q: name = %q, want the value already there", src, v.Name)
		}
	}
}

func TestHasAndPaths(t *testing.T) {
	n, err := Parse([]byte("a: &x {b: {c: 1}}\nd: *x\ne: [1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path []string
		want bool
	}{
		{[]string{"a", "b", "c"}, true}, {[]string{"d", "b"}, true}, {[]string{"a", "c"}, false},
		{[]string{"e", "x"}, false}, {[]string{"z"}, false},
	} {
		if got := Has(n, c.path...); got != c.want {
			t.Errorf("Has(%v) = %v, want %v", c.path, got, c.want)
		}
	}
	if got := Item(Child(Child("", "dsps"), "x"), 2); got != "dsps.x[2]" {
		t.Errorf("path = %q", got)
	}
}
