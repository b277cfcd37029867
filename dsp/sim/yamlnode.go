package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bidsieve/bidsieve/strictyaml"
	"gopkg.in/yaml.v3"
)

// checker walks a YAML node tree strictly and collects every problem, each naming the
// DSP (or traffic), the key path and the line, so that a profile author sees all of
// them at once.
type checker struct {
	errs []error
}

// errorf records a problem at node n (nil: no line). where names the part of the file
// being checked: "traffic" or `dsp "alpha"`.
func (c *checker) errorf(where string, path string, n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	c.add(where, &strictyaml.Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// add records p as "where: path: msg (line N)".
func (c *checker) add(where string, p *strictyaml.Problem) {
	loc := where
	if p.Path != "" {
		loc += ": " + p.Path
	}
	msg := p.Msg
	if p.Line > 0 {
		msg += fmt.Sprintf(" (line %d)", p.Line)
	}
	c.errs = append(c.errs, errors.New(loc+": "+msg))
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func join(path, key string) string { return strictyaml.Child(path, key) }

// entry is one key of a mapping, in file order.
type entry struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// mapping returns the entries of a mapping node, reporting a node that is not a mapping,
// keys that are not plain values and repeated keys (package strictyaml). It returns nil,
// false when n is not a mapping.
func (c *checker) mapping(where, path string, n *yaml.Node) ([]entry, bool) {
	n = strictyaml.Deref(n)
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil, true
		}
		c.errorf(where, path, n, "must be a mapping")
		return nil, false
	}
	entries, problems := strictyaml.Entries(n, path)
	for _, p := range problems {
		c.add(where, p)
	}
	out := make([]entry, len(entries))
	for i, e := range entries {
		out[i] = entry{key: e.Key, keyN: e.KeyNode, value: e.Value}
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
		if !slices.Contains(allowed, e.key) {
			c.errorf(where, join(path, e.key), e.keyN, "unknown key (allowed: %s)", strings.Join(allowed, ", "))
			continue
		}
		out[e.key] = e.value
	}
	return out
}

func (c *checker) scalar(where, path string, n *yaml.Node) (string, bool) {
	n = strictyaml.Deref(n)
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
	return c.floatThat(where, path, n, fmt.Sprintf("be in [%g, %g]", lo, hi), func(f float64) bool { return f >= lo && f <= hi })
}

// positive reads a number > 0.
func (c *checker) positive(where, path string, n *yaml.Node) (float64, bool) {
	return c.floatThat(where, path, n, "be positive", func(f float64) bool { return f > 0 })
}

// nonNegative reads a number >= 0.
func (c *checker) nonNegative(where, path string, n *yaml.Node) (float64, bool) {
	return c.floatThat(where, path, n, "not be negative", func(f float64) bool { return f >= 0 })
}

// floatThat reads a number for which ok holds; want says which ("must <want>, have 3").
func (c *checker) floatThat(where, path string, n *yaml.Node, want string, ok func(float64) bool) (float64, bool) {
	f, read := c.float(where, path, n)
	if read && !ok(f) {
		c.errorf(where, path, n, "must %s, have %g", want, f)
		return 0, false
	}
	return f, read
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
	n = strictyaml.Deref(n)
	if n.Kind != yaml.SequenceNode {
		c.errorf(where, path, n, "must be a list")
		return nil, false
	}
	return n.Content, true
}
