package strictyaml

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Decode decodes the node n into v (a pointer) strictly: it first checks n against v's
// type and returns every problem found, each a *Problem naming its line and key path,
// joined into one error; only a clean tree is decoded. Keys are matched to struct fields
// by their yaml tags (see [Key]); a time.Duration takes a Go duration string ("150ms",
// a bare number is an error); a null leaves the value in v as it is; merge keys ("<<")
// are followed. A type's own UnmarshalYAML runs in the decoding, after the check.
func Decode(n *yaml.Node, v any) error {
	if ps := check(n, reflect.TypeOf(v), ""); len(ps) > 0 {
		return joinProblems(ps)
	}
	if err := n.Decode(v); err != nil {
		return cleanError(err) // check should have caught it; keep yaml's line anyway
	}
	return nil
}

// Key returns the YAML key of a struct field: the name in its yaml tag, or "" for a
// field that has none (or is tagged "-").
func Key(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

var durationType = reflect.TypeFor[time.Duration]()

// check walks a YAML node against the Go type it decodes into and reports unknown keys
// and values that do not decode.
func check(n *yaml.Node, t reflect.Type, path string) []*Problem {
	n = Deref(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // null leaves the value in place
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			return []*Problem{problem(n, path, "want a duration such as 150ms")}
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			return []*Problem{problem(n, path, fmt.Sprintf("invalid duration %q (want a Go duration such as 150ms)", n.Value))}
		}
		return nil
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return []*Problem{problem(n, path, "want a mapping")}
		}
		entries, ps := Entries(n, path)
		for _, e := range entries {
			if e.Key == "<<" { // merge key: its mappings hold keys of this same struct
				ps = append(ps, checkMerge(e.Value, t, path)...)
				continue
			}
			f, ok := fieldByKey(t, e.Key)
			if !ok {
				ps = append(ps, problem(e.KeyNode, Child(path, e.Key), "unknown key"))
				continue
			}
			ps = append(ps, check(e.Value, f.Type, Child(path, e.Key))...)
		}
		return ps
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []*Problem{problem(n, path, "want a list")}
		}
		var ps []*Problem
		for i, item := range n.Content {
			ps = append(ps, check(item, t.Elem(), Item(path, i))...)
		}
		return ps
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return []*Problem{problem(n, path, "want a mapping")}
		}
		entries, ps := Entries(n, path)
		for _, e := range entries {
			ps = append(ps, check(e.Value, t.Elem(), Child(path, e.Key))...)
		}
		return ps
	default:
		if n.Kind != yaml.ScalarNode {
			return []*Problem{problem(n, path, "want a single value")}
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return []*Problem{problem(n, path, fmt.Sprintf("invalid value %q for %s", n.Value, kindName(t)))}
		}
		return nil
	}
}

func checkMerge(v *yaml.Node, t reflect.Type, path string) []*Problem {
	v = Deref(v)
	if v.Kind == yaml.SequenceNode {
		var ps []*Problem
		for _, m := range v.Content {
			ps = append(ps, check(m, t, path)...)
		}
		return ps
	}
	return check(v, t, path)
}

// kindName names the kind of value t holds, with its article: "a number".
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	default:
		return "a " + t.Kind().String()
	}
}

// fieldByKey finds the struct field whose yaml tag names key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if k := Key(f); k != "" && k == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
