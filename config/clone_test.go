package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A snapshot is shared by every auction in flight: a copy that is changed (an admin
// override, a reload) must not reach into it. These tests walk the types, so that a field
// added later is checked without anyone remembering to list it.

func TestCloneSharesNothing(t *testing.T) {
	c := new(Config)
	fill(reflect.ValueOf(c).Elem(), new(int))
	if missing := unset(reflect.ValueOf(c).Elem(), "Config"); len(missing) > 0 {
		t.Fatalf("fill left %v unset", missing) // the test's own check: every field has a value
	}
	n := c.Clone()
	if diff := cmp.Diff(c, n); diff != "" {
		t.Fatalf("clone differs (-orig +clone):\n%s", diff)
	}
	if s := shared(reflect.ValueOf(c).Elem(), reflect.ValueOf(n).Elem(), "Config"); len(s) > 0 {
		t.Errorf("the clone shares %v with the original", s)
	}
}

// The gateway reloads by loading the file again and swapping the new snapshot in; the
// admin API clones the one in force. Neither may share anything with the old snapshot.
func TestReloadSharesNothingWithTheOldSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bidsieve.yaml")
	err := os.WriteFile(path, []byte(`
currency: {base: USD, rates: {EUR: 1.08}}
cors: {allowed_origins: ['https://news.example']}
bidlog: {kafka: {brokers: ['kafka:9092']}}
tracing: {exporter: otlp, endpoint: 'http://collector:4318/v1/traces', headers: {api-key: k}}
auth:
  tokens: [{name: ops, role: admin, sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae}]
dsps:
  - name: alpha
    endpoint: http://127.0.0.1:9001/bid/alpha
    aliases: [alphaMedia]
    notice_hosts: [127.0.0.1]
    targeting: {formats: [video], channels: [app], countries: [USA]}
    mode: shadow
    recall_target: 0.9
    threshold: 0.2
    exploration_rate: 0.1
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"BIDSIEVE_DSPS_ALPHA_NOTICE_HOSTS=a.example", "BIDSIEVE_CURRENCY_RATES=GBP=1.27"}
	old, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if missing := unset(reflect.ValueOf(old).Elem(), "Config"); len(missing) > 0 {
		t.Fatalf("the test's file sets no value for %v: add one so that the test covers it", missing)
	}
	next, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(old, next); diff != "" {
		t.Fatalf("the same file loads differently (-first +second):\n%s", diff)
	}
	for name, n := range map[string]*Config{"a reload": next, "a clone of the old snapshot": old.Clone()} {
		if s := shared(reflect.ValueOf(old).Elem(), reflect.ValueOf(n).Elem(), "Config"); len(s) > 0 {
			t.Errorf("%s shares %v with the old snapshot", name, s)
		}
	}
}

// The checks themselves: they must see sharing at any depth.
func TestSharedFindsSharing(t *testing.T) {
	c := new(Config)
	fill(reflect.ValueOf(c).Elem(), new(int))
	for name, change := range map[string]func(n *Config){
		"Config.Currency.Rates":              func(n *Config) { n.Currency.Rates = c.Currency.Rates },
		"Config.DSPs":                        func(n *Config) { n.DSPs = c.DSPs[1:] },
		"Config.DSPs[0].Targeting.Countries": func(n *Config) { n.DSPs[0].Targeting.Countries = c.DSPs[0].Targeting.Countries },
		"Config.DSPs[1].Threshold":           func(n *Config) { n.DSPs[1].Threshold = c.DSPs[1].Threshold },
	} {
		n := c.Clone()
		change(n)
		if s := shared(reflect.ValueOf(c).Elem(), reflect.ValueOf(n).Elem(), "Config"); !slices.Contains(s, name) {
			t.Errorf("sharing %s: found %v", name, s)
		}
	}
	n := c.Clone()
	n.DSPs[0].Mode = nil
	if s := unset(reflect.ValueOf(n).Elem(), "Config"); !slices.Equal(s, []string{"Config.DSPs[0].Mode"}) {
		t.Errorf("a nil field: unset reports %v", s)
	}
}

// fill gives every field under v a value: distinct numbers and strings, true, pointers
// to values, and slices and maps of two elements.
func fill(v reflect.Value, next *int) {
	*next++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), next)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), next)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, next)
			fill(e, next)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), next)
		}
	case reflect.String:
		v.SetString(fmt.Sprint("s", *next))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*next))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*next))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*next) + 0.5)
	default:
		panic("fill: no value for a " + v.Type().String()) // a kind this test cannot check yet
	}
}

// unset returns the path of every pointer, slice and map under v that is nil or empty,
// so that a test can insist its data reach every one of them.
func unset(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return unset(v.Elem(), path)
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		var out []string
		for i := range v.Len() {
			out = append(out, unset(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		var out []string
		for it := v.MapRange(); it.Next(); {
			out = append(out, unset(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()))...)
		}
		return out
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			out = append(out, unset(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	}
	return nil
}

// shared returns the path of every pointer, map and slice backing array that a and b
// (values of one type) have in common, at any depth. A kind it cannot see into, such as
// an interface or a func, is reported as shared.
func shared(a, b reflect.Value, path string) []string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			return []string{path}
		}
		return shared(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if overlap(a, b) {
			return []string{path}
		}
		var out []string
		for i := range min(a.Len(), b.Len()) {
			out = append(out, shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Map:
		if a.IsNil() || b.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			return []string{path}
		}
		var out []string
		for it := a.MapRange(); it.Next(); {
			if bv := b.MapIndex(it.Key()); bv.IsValid() {
				out = append(out, shared(it.Value(), bv, fmt.Sprintf("%s[%v]", path, it.Key()))...)
			}
		}
		return out
	case reflect.Struct:
		var out []string
		for i := range a.NumField() {
			out = append(out, shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)...)
		}
		return out
	case reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return []string{path + " (a " + a.Kind().String() + ": cannot be checked)"}
	}
	return nil
}

// overlap reports whether the backing arrays of two slices share an element.
func overlap(a, b reflect.Value) bool {
	if a.Cap() == 0 || b.Cap() == 0 {
		return false
	}
	size := a.Type().Elem().Size()
	if size == 0 {
		return false
	}
	a0, b0 := a.Pointer(), b.Pointer()
	return a0 < b0+uintptr(b.Cap())*size && b0 < a0+uintptr(a.Cap())*size
}
