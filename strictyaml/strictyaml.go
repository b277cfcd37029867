package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong in a document: where it is and what is wrong.
type Problem struct {
	Line int    // 1-based; 0 when unknown
	Path string // key path from the top, such as "dsps[0].targeting.formats"; "" for the top level
	Msg  string // what is wrong, such as "unknown key"
}

// Error reads "line 4: dsps[0].timeout: invalid duration \"soon\" ...".
func (p *Problem) Error() string {
	path := p.Path
	if path == "" {
		path = "(top level)"
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, path, p.Msg)
}

// problem returns a Problem at n's line.
func problem(n *yaml.Node, path, msg string) *Problem {
	return &Problem{Line: n.Line, Path: path, Msg: msg}
}

// joinProblems joins problems into one error; nil when there are none.
func joinProblems(ps []*Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Parse parses data into its node tree and returns the top node, or nil when the
// document is empty (nothing, only comments, or a bare null). A syntax error is
// returned without yaml's "yaml: " prefix; it names its line.
func Parse(data []byte) (*yaml.Node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cleanError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // only comments
	}
	root := Deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	return root, nil
}

// Deref follows aliases to the node they name and unwraps a document node to its content.
func Deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return Deref(n.Content[0])
	}
	return n
}

// Child is the path of key inside the mapping at path.
func Child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Item is the path of item i of the list at path.
func Item(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// Entry is one key of a mapping and its value.
type Entry struct {
	Key     string
	KeyNode *yaml.Node
	Value   *yaml.Node
}

// Entries returns the entries of the mapping n (at path), in file order, and a problem
// for every key that is not a plain value or repeats an earlier key; those entries are
// left out. n must be a mapping node (after Deref).
func Entries(n *yaml.Node, path string) ([]Entry, []*Problem) {
	n = Deref(n)
	var ps []*Problem
	seen := make(map[string]bool, len(n.Content)/2)
	out := make([]Entry, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps = append(ps, problem(k, path, "keys must be plain values"))
			continue
		}
		if seen[k.Value] {
			ps = append(ps, problem(k, Child(path, k.Value), "duplicate key"))
			continue
		}
		seen[k.Value] = true
		out = append(out, Entry{Key: k.Value, KeyNode: k, Value: v})
	}
	return out, ps
}

// Has reports whether the mapping n holds the nested key path.
func Has(n *yaml.Node, path ...string) bool {
	for _, key := range path {
		n = Deref(n)
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

// cleanError strips the "yaml: " prefix and splits yaml's multi-line type errors.
func cleanError(err error) error {
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
