package prebid

// A small scanner over JSON already known to be valid (json.Valid passed), to read and
// write one member of bid.ext.prebid without encoding/json's reflection and without
// touching the other members: the DSP's ext is kept byte for byte.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	return i
}

// member is what lookup finds in an object: the index of its closing brace, whether it has
// no members, and the span of the named member's value (its last occurrence, as a
// JavaScript client reads duplicates).
type member struct {
	close  int
	empty  bool
	found  bool
	vs, ve int
}

// lookup scans the object that starts at b[i] == '{' for the member named key (compared
// with the key's raw bytes).
func lookup(b []byte, i int, key string) member {
	m := member{empty: true}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		m.empty = false
		ke := skipString(b, i)
		match := ke-i-2 == len(key) && string(b[i+1:ke-1]) == key
		i = skipSpace(b, ke)
		i = skipSpace(b, i+1) // past ':'
		ve := skipValue(b, i)
		if match {
			m.found, m.vs, m.ve = true, i, ve
		}
		i = skipSpace(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	m.close = i
	return m
}

// isNull reports whether b, trimmed, is empty or the literal null.
func isNull(b []byte) bool {
	i := skipSpace(b, 0)
	j := len(b)
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return i == j || string(b[i:j]) == "null"
}

// prebidMember returns the raw value of ext.prebid.{key}; found is false when ext has no
// such member (or ext.prebid is not an object). ext must be valid JSON.
func prebidMember(ext []byte, key string) (val []byte, found bool) {
	i := skipSpace(ext, 0)
	if i >= len(ext) || ext[i] != '{' {
		return nil, false
	}
	top := lookup(ext, i, "prebid")
	if !top.found || ext[top.vs] != '{' {
		return nil, false
	}
	in := lookup(ext, top.vs, key)
	if !in.found {
		return nil, false
	}
	return ext[in.vs:in.ve], true
}

// setPrebidMember returns a copy of ext with ext.prebid.{key} set to val (a JSON value),
// every other member kept as it was: ext.prebid is created when missing and replaced when
// it is not an object. It reports false when ext is neither empty, null nor an object.
// ext must be valid JSON; the result is one new allocation.
func setPrebidMember(ext []byte, key string, val []byte) ([]byte, bool) {
	extra := len(`{"prebid":{"":}}`) + len(key) + len(val)
	if isNull(ext) {
		out := make([]byte, 0, extra)
		return appendPrebid(append(out, '{'), key, val, '}'), true
	}
	i := skipSpace(ext, 0)
	if ext[i] != '{' {
		return nil, false
	}
	out := make([]byte, 0, len(ext)+extra+1)
	top := lookup(ext, i, "prebid")
	switch {
	case !top.found:
		out = append(out, ext[:top.close]...)
		if !top.empty {
			out = append(out, ',')
		}
		out = appendPrebid(out, key, val, 0)
		return append(out, ext[top.close:]...), true
	case ext[top.vs] != '{':
		out = append(out, ext[:top.vs]...)
		out = appendMember(append(out, '{'), key, val)
		out = append(out, '}')
		return append(out, ext[top.ve:]...), true
	}
	in := lookup(ext, top.vs, key)
	if in.found {
		out = append(out, ext[:in.vs]...)
		out = append(out, val...)
		return append(out, ext[in.ve:]...), true
	}
	out = append(out, ext[:in.close]...)
	if !in.empty {
		out = append(out, ',')
	}
	out = appendMember(out, key, val)
	return append(out, ext[in.close:]...), true
}

// appendPrebid appends "prebid":{"key":val}, then closing when it is not 0.
func appendPrebid(out []byte, key string, val []byte, closing byte) []byte {
	out = append(out, `"prebid":{`...)
	out = appendMember(out, key, val)
	out = append(out, '}')
	if closing != 0 {
		out = append(out, closing)
	}
	return out
}

func appendMember(out []byte, key string, val []byte) []byte {
	out = append(out, '"')
	out = append(out, key...)
	out = append(out, `":`...)
	return append(out, val...)
}
