package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bidsieve/bidsieve/strictyaml"
	"gopkg.in/yaml.v3"
)

// removedKey is a key that no longer exists, with what replaces it. A file or a variable
// that sets one is refused with an error naming the replacement, rather than ignored: an
// operator's setting must not silently stop meaning anything.
type removedKey struct {
	path []string // the key's path from the top
	use  string   // what to use instead, and why
}

// removedKeys are the keys that no longer exist.
var removedKeys = []removedKey{
	{[]string{"breaker", "consecutive_failures"},
		"use breaker.failure_ratio and breaker.min_calls: the breaker opens on the failure ratio over breaker.window, not on failures in a row"},
	{[]string{"breaker", "open_timeout"},
		"use breaker.trial_share and breaker.close_ratio: an open breaker keeps sending a trial share and closes on its success ratio, not after a fixed time"},
	{[]string{"breaker", "half_open_requests"},
		"use breaker.trial_calls: the number of trial calls an open breaker judges"},
}

func (k *removedKey) key() string { return strings.Join(k.path, ".") }

func (k *removedKey) env() string {
	return EnvPrefix + strings.ToUpper(strings.Join(k.path, "_"))
}

// removedProblems returns a problem, at its line, for every removed key the document
// root sets.
func removedProblems(root *yaml.Node) []error {
	var errs []error
	for i := range removedKeys {
		k := &removedKeys[i]
		if n := keyNode(root, k.path); n != nil {
			errs = append(errs, &strictyaml.Problem{Line: n.Line, Path: k.key(), Msg: "removed key; " + k.use})
		}
	}
	return errs
}

// removedEnv returns an error for every variable of environ that sets a removed key.
func removedEnv(environ []string) []error {
	var errs []error
	for i := range removedKeys {
		k := &removedKeys[i]
		name := k.env()
		for _, kv := range environ {
			if n, _, ok := strings.Cut(kv, "="); ok && n == name {
				errs = append(errs, fmt.Errorf("%s: sets the removed key %s; %s", name, k.key(), k.use))
				break
			}
		}
	}
	return errs
}

// keyNode returns the key node of the nested key path in the mapping n, nil when absent.
func keyNode(n *yaml.Node, path []string) *yaml.Node {
	var key *yaml.Node
	for _, name := range path {
		n = strictyaml.Deref(n)
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				key, next = n.Content[i], n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return key
}

// withoutRemoved drops from err (Decode's joined problems) those about the removed keys,
// which removedProblems reports with their replacement instead of as unknown keys.
func withoutRemoved(err error) []error {
	if err == nil {
		return nil
	}
	all := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // Decode's own join
		all = j.Unwrap()
	}
	out := all[:0:0]
	for _, e := range all {
		var p *strictyaml.Problem
		if errors.As(e, &p) && isRemoved(p.Path) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func isRemoved(path string) bool {
	for i := range removedKeys {
		if removedKeys[i].key() == path {
			return true
		}
	}
	return false
}
