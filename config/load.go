package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/strictyaml"
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

// Parse decodes YAML over the defaults, strictly (package strictyaml): an unknown key,
// a repeated key or a value of the wrong type is an error naming its line and key; all
// such errors are reported together. It does not apply the environment and does not
// validate. Empty input gives the defaults. A key that no longer exists (removed.go) is an
// error naming what replaces it.
func Parse(data []byte) (*Config, error) {
	c := Defaults()
	root, err := strictyaml.Parse(data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return c, nil // empty, or only comments
	}
	if strictyaml.Has(root, "currency", "rates") {
		c.Currency.Rates = nil // a file's rates replace the defaults instead of merging with them
	}
	if strictyaml.Has(root, "store", "postgres") && !strictyaml.Has(root, "store", "sqlite") {
		c.Store.SQLite = "" // choosing PostgreSQL replaces the default SQLite file
	}
	removed := removedProblems(root)
	if err := strictyaml.Decode(root, c); err != nil || len(removed) > 0 {
		return nil, errors.Join(append(removed, withoutRemoved(err)...)...)
	}
	return c, nil
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
		if v.Type().Elem().Kind() == reflect.String { // tracing.headers: NAME=value,...
			m := map[string]string{}
			for pair := range strings.SplitSeq(s, ",") {
				if pair = strings.TrimSpace(pair); pair == "" {
					continue
				}
				k, val, ok := strings.Cut(pair, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return fmt.Errorf("invalid pair %q (want NAME=value)", pair)
				}
				m[strings.TrimSpace(k)] = strings.TrimSpace(val)
			}
			v.Set(reflect.ValueOf(m))
			return nil
		}
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
