package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// checker walks a YAML node tree strictly and collects every problem, each naming the
// DSP (or traffic), the key path and the line, so that a profile author sees all of
// them at once.
type checker struct {
	errs []error
}

// where names the part of the file being checked: "traffic" or `dsp "alpha"`.
func (c *checker) errorf(where string, path string, n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	loc := where
	if path != "" {
		loc += ": " + path
	}
	if n != nil && n.Line > 0 {
		msg += fmt.Sprintf(" (line %d)", n.Line)
	}
	c.errs = append(c.errs, errors.New(loc+": "+msg))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// entry is one key of a mapping, in file order.
type entry struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// mapping returns the entries of a mapping node, reporting a node that is not a mapping
// and duplicate keys. It returns nil, false when n is not a mapping.
func (c *checker) mapping(where, path string, n *yaml.Node) ([]entry, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil, true
		}
		c.errorf(where, path, n, "must be a mapping")
		return nil, false
	}
	seen := make(map[string]bool, len(n.Content)/2)
	out := make([]entry, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			c.errorf(where, path, k, "keys must be plain values")
			continue
		}
		if seen[k.Value] {
			c.errorf(where, join(path, k.Value), k, "duplicate key")
			continue
		}
		seen[k.Value] = true
		out = append(out, entry{key: k.Value, keyN: k, value: v})
	}
	return out, true
}

// fields checks a mapping against its allowed keys and returns its values by key.
// Unknown keys are reported with the list of the allowed ones.
func (c *checker) fields(where, path string, n *yaml.Node, allowed ...string) map[string]*yaml.Node {
	entries, ok := c.mapping(where, path, n)
	if !ok {
		return nil
	}
	out := make(map[string]*yaml.Node, len(entries))
	for _, e := range entries {
		known := false
		for _, a := range allowed {
			if e.key == a {
				known = true
				break
			}
		}
		if !known {
			c.errorf(where, join(path, e.key), e.keyN, "unknown key (allowed: %s)", strings.Join(allowed, ", "))
			continue
		}
		out[e.key] = e.value
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return deref(n.Content[0])
	}
	return n
}

func (c *checker) scalar(where, path string, n *yaml.Node) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		c.errorf(where, path, n, "must be a single value")
		return "", false
	}
	return n.Value, true
}

// float reads a finite number.
func (c *checker) float(where, path string, n *yaml.Node) (float64, bool) {
	s, ok := c.scalar(where, path, n)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.errorf(where, path, n, "must be a number, have %q", s)
		return 0, false
	}
	return f, true
}

// floatIn reads a number in [lo, hi].
func (c *checker) floatIn(where, path string, n *yaml.Node, lo, hi float64) (float64, bool) {
	f, ok := c.float(where, path, n)
	if !ok {
		return 0, false
	}
	if f < lo || f > hi {
		c.errorf(where, path, n, "must be in [%g, %g], have %g", lo, hi, f)
		return 0, false
	}
	return f, true
}

// positive reads a number > 0.
func (c *checker) positive(where, path string, n *yaml.Node) (float64, bool) {
	f, ok := c.float(where, path, n)
	if ok && f <= 0 {
		c.errorf(where, path, n, "must be positive, have %g", f)
		return 0, false
	}
	return f, ok
}

// nonNegative reads a number >= 0.
func (c *checker) nonNegative(where, path string, n *yaml.Node) (float64, bool) {
	f, ok := c.float(where, path, n)
	if ok && f < 0 {
		c.errorf(where, path, n, "must not be negative, have %g", f)
		return 0, false
	}
	return f, ok
}

// integer reads an integer in [lo, hi].
func (c *checker) integer(where, path string, n *yaml.Node, lo, hi int64) (int64, bool) {
	s, ok := c.scalar(where, path, n)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		c.errorf(where, path, n, "must be an integer, have %q", s)
		return 0, false
	}
	if v < lo || v > hi {
		c.errorf(where, path, n, "must be in [%d, %d], have %d", lo, hi, v)
		return 0, false
	}
	return v, true
}

// sequence returns the items of a sequence node.
func (c *checker) sequence(where, path string, n *yaml.Node) ([]*yaml.Node, bool) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		c.errorf(where, path, n, "must be a list")
		return nil, false
	}
	return n.Content, true
}
