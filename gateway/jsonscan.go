package gateway

import (
	"bytes"
	"encoding/json"
)

// members walks the members of a JSON object without allocating: the request was decoded
// (so every json.RawMessage in it is valid JSON) and only a few keys are looked for, which
// a map decode would allocate for on every auction. The zero members of a non-object (or
// of nothing) is empty.
type members struct {
	b []byte
	i int
}

// objectMembers returns the walk of the members of the JSON object raw.
func objectMembers(raw []byte) members {
	m := members{b: raw}
	m.skipSpace()
	if m.i >= len(raw) || raw[m.i] != '{' {
		return members{}
	}
	m.i++
	return m
}

// next returns the next member: its key as written between the quotes (escapes left as
// they are, see keyIs) and its value's bytes; ok is false after the last.
func (m *members) next() (key, val []byte, ok bool) {
	m.skipSpace()
	if m.i < len(m.b) && m.b[m.i] == ',' {
		m.i++
		m.skipSpace()
	}
	if m.i >= len(m.b) || m.b[m.i] != '"' {
		return nil, nil, false
	}
	start := m.i + 1
	if !m.skipString() {
		return nil, nil, false
	}
	key = m.b[start : m.i-1]
	m.skipSpace()
	if m.i >= len(m.b) || m.b[m.i] != ':' {
		return nil, nil, false
	}
	m.i++
	m.skipSpace()
	vs := m.i
	m.skipValue()
	return key, m.b[vs:m.i], true
}

func (m *members) skipSpace() {
	for m.i < len(m.b) {
		switch m.b[m.i] {
		case ' ', '\t', '\n', '\r':
			m.i++
		default:
			return
		}
	}
}

// skipString skips the string that starts at m.i (on its opening quote) and reports
// whether it was closed.
func (m *members) skipString() bool {
	for m.i++; m.i < len(m.b); m.i++ {
		switch m.b[m.i] {
		case '\\':
			m.i++
		case '"':
			m.i++
			return true
		}
	}
	m.i = len(m.b)
	return false
}

// skipValue skips one value: a string, an object or array (to its matching end), or a
// literal or number (to the next delimiter).
func (m *members) skipValue() {
	if m.i >= len(m.b) {
		return
	}
	switch m.b[m.i] {
	case '"':
		m.skipString()
	case '{', '[':
		depth := 0
		for m.i < len(m.b) {
			switch m.b[m.i] {
			case '"':
				m.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					m.i++
					return
				}
			}
			m.i++
		}
	default:
		for m.i < len(m.b) {
			switch m.b[m.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			m.i++
		}
	}
}

// keyIs reports whether a key as members.next returns it is name, ASCII case folded
// when fold is set. A key written with escapes is unquoted first (rare: it allocates).
func keyIs(key []byte, name string, fold bool) bool {
	if bytes.IndexByte(key, '\\') >= 0 {
		var s string
		if json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s) != nil {
			return false
		}
		key = []byte(s)
	}
	if len(key) != len(name) {
		return false
	}
	for i := range key {
		a, b := key[i], name[i]
		if fold {
			a, b = lowerASCII(a), lowerASCII(b)
		}
		if a != b {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// member returns the value of the member key of the JSON object raw, nil when absent.
func member(raw []byte, key string) []byte {
	for m := objectMembers(raw); ; {
		k, v, ok := m.next()
		if !ok {
			return nil
		}
		if keyIs(k, key, false) {
			return v
		}
	}
}
