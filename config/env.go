package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/bidsieve/bidsieve/strictyaml"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "BIDSIEVE_"

// ApplyEnv applies the BIDSIEVE_ variables of environ (entries "NAME=value", as
// os.Environ returns them) to c; the package documentation gives the mapping. Variables
// that name no key are ignored. A value that does not parse is an error naming the
// variable; all such errors are reported together, with one for every variable that sets
// a key that no longer exists (removed.go), naming what replaces it.
func (c *Config) ApplyEnv(environ []string) error {
	if len(environ) == 0 {
		return nil
	}
	errs := removedEnv(environ)
	setters := map[string]reflect.Value{}
	collectEnv(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), setters)
	for i := range c.DSPs {
		collectEnv(reflect.ValueOf(&c.DSPs[i]).Elem(), EnvPrefix+"DSPS_"+envName(c.DSPs[i].Name), setters)
	}
	names := make([]string, 0, len(environ))
	values := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		if _, known := setters[k]; !known {
			continue
		}
		if _, seen := values[k]; !seen {
			names = append(names, k)
		}
		values[k] = v // the last one wins, as in a shell
	}
	if values[EnvPrefix+"STORE_POSTGRES"] != "" {
		if _, both := values[EnvPrefix+"STORE_SQLITE"]; !both {
			c.Store.SQLite = "" // choosing PostgreSQL replaces the default SQLite file
		}
	}
	slices.Sort(names) // deterministic error order
	for _, k := range names {
		if err := parseScalar(setters[k], values[k]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// collectEnv maps the variable name of every settable key under v to its value.
func collectEnv(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := strictyaml.Key(f)
		if key == "" || key == "dsps" || key == "auth" {
			continue // DSPs are addressed by name; tokens are not set from the environment
		}
		name := prefix + "_" + strings.ToUpper(key)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && f.Type != durationType {
			collectEnv(fv, name, out)
			continue
		}
		out[name] = fv
	}
}
