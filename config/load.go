package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration: the file at path (the embedded default file when path is
// ""), then the BIDSIEVE_ variables of environ (os.Environ() form; nil for none), then
// Validate. Every error names the file and the key.
func Load(path string, environ []string) (*Config, error) {
	data, name := DefaultYAML, "embedded default.yaml"
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		name = path
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if err := c.ApplyEnv(environ); err != nil {
		return nil, fmt.Errorf("config environment: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return c, nil
}

// Parse decodes YAML over the defaults, strictly: an unknown key or a value of the wrong
// type is an error naming its line and key; all such errors are reported together. It does
// not apply the environment and does not validate. Empty input gives the defaults.
func Parse(data []byte) (*Config, error) {
	c := Defaults()
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cleanYAMLError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // only comments
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return c, nil
	}
	if errs := checkNode(root, reflect.TypeFor[Config](), ""); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if hasKey(root, "currency", "rates") {
		c.Currency.Rates = nil // a file's rates replace the defaults instead of merging with them
	}
	if hasKey(root, "store", "postgres") && !hasKey(root, "store", "sqlite") {
		c.Store.SQLite = "" // choosing PostgreSQL replaces the default SQLite file
	}
	if err := root.Decode(c); err != nil {
		return nil, cleanYAMLError(err) // checkNode should have caught it; keep the line anyway
	}
	return c, nil
}

// hasKey reports whether the mapping n holds the nested key path.
func hasKey(n *yaml.Node, path ...string) bool {
	for _, key := range path {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

// UnmarshalYAML gives a DSP entry the defaults of DefaultDSP for the keys it omits.
func (d *DSP) UnmarshalYAML(n *yaml.Node) error {
	type plain DSP // no UnmarshalYAML method: no recursion
	p := plain(DefaultDSP())
	if err := n.Decode(&p); err != nil {
		return err
	}
	*d = DSP(p)
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

// checkNode walks a YAML node against the Go type it decodes into and reports unknown
// keys and values that do not decode, each with its line and key path.
func checkNode(n *yaml.Node, t reflect.Type, path string) []error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // null leaves the default in place
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			return []error{keyErr(n, path, "want a duration such as 150ms")}
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			return []error{keyErr(n, path, fmt.Sprintf("invalid duration %q (want a Go duration such as 150ms)", n.Value))}
		}
		return nil
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return []error{keyErr(n, path, "want a mapping")}
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // merge key: its mappings hold keys of this same struct
				errs = append(errs, checkMerge(v, t, path)...)
				continue
			}
			f, ok := fieldByKey(t, k.Value)
			if !ok {
				errs = append(errs, keyErr(k, join(path, k.Value), "unknown key"))
				continue
			}
			errs = append(errs, checkNode(v, f.Type, join(path, k.Value))...)
		}
		return errs
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []error{keyErr(n, path, "want a list")}
		}
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return []error{keyErr(n, path, "want a mapping")}
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkNode(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
		return errs
	default:
		if n.Kind != yaml.ScalarNode {
			return []error{keyErr(n, path, "want a single value")}
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return []error{keyErr(n, path, fmt.Sprintf("invalid value %q for a %s", n.Value, kindName(t)))}
		}
		return nil
	}
}

func checkMerge(v *yaml.Node, t reflect.Type, path string) []error {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		var errs []error
		for _, m := range v.Content {
			errs = append(errs, checkNode(m, t, path)...)
		}
		return errs
	}
	return checkNode(v, t, path)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "non-negative integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	default:
		return t.Kind().String()
	}
}

// fieldByKey finds the struct field whose yaml tag names key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" || name == "-" {
		return ""
	}
	return name
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func keyErr(n *yaml.Node, path, msg string) error {
	if path == "" {
		path = "(top level)"
	}
	return fmt.Errorf("line %d: %s: %s", n.Line, path, msg)
}

// cleanYAMLError strips the "yaml: " prefix and splits yaml's multi-line type errors.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, len(te.Errors))
		for i, e := range te.Errors {
			errs[i] = errors.New(strings.TrimSpace(e))
		}
		return errors.Join(errs...)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// envName turns a DSP name into its part of an environment variable name.
func envName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// parseScalar parses s into the value v points to, by v's kind.
func parseScalar(v reflect.Value, s string) error {
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := parseScalar(nv.Elem(), s); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid duration %q (want a Go duration such as 150ms)", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	s = strings.TrimSpace(s)
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid non-negative integer %q", s)
		}
		v.SetUint(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("not settable from the environment")
		}
		var list []string
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, part)
			}
		}
		v.Set(reflect.ValueOf(list))
	case reflect.Map:
		m := map[string]float64{}
		for pair := range strings.SplitSeq(s, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			k, val, ok := strings.Cut(pair, "=")
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if !ok || err != nil {
				return fmt.Errorf("invalid pair %q (want CODE=rate)", pair)
			}
			m[strings.TrimSpace(k)] = f
		}
		v.Set(reflect.ValueOf(m))
	default:
		return fmt.Errorf("not settable from the environment")
	}
	return nil
}
