package dsp

import (
	"bytes"
	"errors"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// errSlow says that the hand-written decoder (bidresponse.go) will not decide an answer:
// the answer is invalid JSON, holds a value of the wrong type, or is valid JSON that the
// decoder leaves to encoding/json on purpose (escaped, non-ASCII or duplicate keys, deep
// nesting). The answer then goes through encoding/json, which accepts it or says why not;
// so the reader never has to reproduce encoding/json's errors, only its acceptance.
var errSlow = errors.New("answer left to encoding/json")

// maxDepth bounds the nesting of skipped values (encoding/json allows 10,000; deeper
// answers are left to it).
const maxDepth = 256

// reader reads one answer's JSON from data, strictly: it accepts exactly what
// encoding/json's scanner accepts for the parts it reads (RFC 8259 syntax, whitespace
// limited to space, tab, CR and LF), and reports anything else as errSlow.
type reader struct {
	data []byte
	pos  int
	// own is data copied once, on first need: every string value without escapes is a
	// substring of it, so the strings outlive data (a pooled buffer) for the price of one
	// allocation per answer.
	own    string
	keyBuf [16]byte // a lower-cased key
}

// The UTF-8 of the runes that fold to ASCII letters.
var longS, kelvin = []byte("\u017f"), []byte("\u212a")

// plainByte marks the bytes that a JSON string holds as they are: printable ASCII other
// than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (r *reader) reset(data []byte) { r.data, r.pos, r.own = data, 0, "" }

// sub returns data[s:e] as a string that does not alias data.
func (r *reader) sub(s, e int) string {
	if s == e {
		return ""
	}
	if r.own == "" {
		r.own = string(r.data)
	}
	return r.own[s:e]
}

// peek returns the byte at the read position, 0 at the end.
func (r *reader) peek() byte {
	if r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

func (r *reader) ws() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// end checks that nothing but whitespace follows the top-level value.
func (r *reader) end() error {
	r.ws()
	if r.pos != len(r.data) {
		return errSlow
	}
	return nil
}

// literal consumes word (true, false or null).
func (r *reader) literal(word string) error {
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		return errSlow
	}
	r.pos += len(word)
	return nil
}

// scanString consumes the string at the read position (its opening quote) and returns its
// raw content data[s:e]. esc reports backslash escapes, high bytes above 0x7f.
func (r *reader) scanString() (s, e int, esc, high bool, err error) {
	data := r.data
	s = r.pos + 1
	for i := s; ; {
		for i < len(data) && plainByte[data[i]] {
			i++
		}
		if i >= len(data) {
			return 0, 0, false, false, errSlow // unterminated
		}
		switch c := data[i]; {
		case c == '"':
			r.pos = i + 1
			return s, i, esc, high, nil
		case c == '\\':
			esc = true
			if i+1 >= len(data) {
				return 0, 0, false, false, errSlow
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if getu4(data[i:]) < 0 {
					return 0, 0, false, false, errSlow
				}
				i += 6
			default:
				return 0, 0, false, false, errSlow
			}
		case c < 0x20:
			return 0, 0, false, false, errSlow // control characters must be escaped
		default:
			high = true
			i++
		}
	}
}

// stringValue consumes a string and returns its value as encoding/json would.
func (r *reader) stringValue() (string, error) {
	s, e, esc, high, err := r.scanString()
	switch {
	case err != nil:
		return "", err
	case !esc && (!high || utf8.Valid(r.data[s:e])):
		return r.sub(s, e), nil
	default:
		return unquote(r.data[s:e]), nil
	}
}

// unquote decodes the raw content of a string holding escapes or bytes above 0x7f
// (checked by scanString) exactly as encoding/json does: invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func unquote(raw []byte) string {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			switch raw[i+1] {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				rr := getu4(raw[i:])
				i += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(raw[i:])); dec != unicode.ReplacementChar {
						i += 6
						b.WriteRune(dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b.WriteRune(rr)
				continue
			default: // '"', '\\', '/'
				b.WriteByte(raw[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(raw) && plainByte[raw[j]] {
				j++
			}
			b.Write(raw[i:j])
			i = j
		default:
			rr, size := utf8.DecodeRune(raw[i:])
			b.WriteRune(rr) // utf8.RuneError for an invalid byte
			i += size
		}
	}
	return b.String()
}

// getu4 decodes the \uXXXX escape at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// number consumes a number and returns its literal's bounds.
func (r *reader) number() (s, e int, err error) {
	data := r.data
	s = r.pos
	i := s
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return 0, 0, errSlow
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return 0, 0, errSlow
	}
	if i < len(data) && data[i] == '.' {
		if j := digits(data, i+1); j > i+1 {
			i = j
		} else {
			return 0, 0, errSlow
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if j := digits(data, i); j > i {
			i = j
		} else {
			return 0, 0, errSlow
		}
	}
	r.pos = i
	return s, i, nil
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

// objectStart consumes '{' and the whitespace after it; more reports a first member.
func (r *reader) objectStart() (more bool, err error) { return r.open('{', '}') }

// objectNext consumes the ',' or '}' after a member's value; more reports another member.
func (r *reader) objectNext() (more bool, err error) { return r.next('}') }

// arrayStart consumes '[' and the whitespace after it; more reports a first element.
func (r *reader) arrayStart() (more bool, err error) { return r.open('[', ']') }

// arrayNext consumes the ',' or ']' after an element; more reports another element.
func (r *reader) arrayNext() (more bool, err error) { return r.next(']') }

// open consumes the opening bracket c of an object or array and the whitespace after it;
// more reports a first member or element (false when the closing bracket follows).
func (r *reader) open(c, closing byte) (more bool, err error) {
	if r.peek() != c {
		return false, errSlow
	}
	r.pos++
	r.ws()
	if r.peek() == closing {
		r.pos++
		return false, nil
	}
	return true, nil
}

// next consumes the ',' or the closing bracket after a member or element; more
// reports another one.
func (r *reader) next(closing byte) (more bool, err error) {
	r.ws()
	switch r.peek() {
	case ',':
		r.pos++
		r.ws()
		return true, nil
	case closing:
		r.pos++
		return false, nil
	}
	return false, errSlow
}

// key consumes a member's key, the ':' and the whitespace around it, and returns the key
// lower-cased: encoding/json matches keys to fields case-insensitively. A key with escapes
// is errSlow, and so is one holding the only two non-ASCII runes that fold to ASCII
// letters ("ſ" matches "s", the Kelvin sign "k"); any other key with bytes above 0x7f
// matches no field. The result is valid until the next call.
func (r *reader) key() ([]byte, error) {
	if r.peek() != '"' {
		return nil, errSlow
	}
	s, e, esc, high, err := r.scanString()
	if err != nil || esc {
		return nil, errSlow
	}
	r.ws()
	if r.peek() != ':' {
		return nil, errSlow
	}
	r.pos++
	r.ws()
	k := r.data[s:e]
	if high {
		if bytes.Contains(k, longS) || bytes.Contains(k, kelvin) {
			return nil, errSlow
		}
		return k, nil // unknown, whatever its case
	}
	for i, c := range k {
		if 'A' <= c && c <= 'Z' {
			if len(k) > len(r.keyBuf) {
				return k, nil // longer than any field name: unknown whatever its case
			}
			lk := r.keyBuf[:len(k)]
			copy(lk, k)
			for j := i; j < len(lk); j++ {
				if c := lk[j]; 'A' <= c && c <= 'Z' {
					lk[j] = c + 'a' - 'A'
				}
			}
			return lk, nil
		}
	}
	return k, nil
}

// skip consumes any value, checking its syntax.
func (r *reader) skip(depth int) error {
	switch c := r.peek(); {
	case c == '{':
		if depth >= maxDepth {
			return errSlow
		}
		more, err := r.objectStart()
		for more && err == nil {
			if r.peek() != '"' {
				return errSlow
			}
			if _, _, _, _, err = r.scanString(); err != nil {
				return err
			}
			r.ws()
			if r.peek() != ':' {
				return errSlow
			}
			r.pos++
			r.ws()
			if err = r.skip(depth + 1); err != nil {
				return err
			}
			more, err = r.objectNext()
		}
		return err
	case c == '[':
		if depth >= maxDepth {
			return errSlow
		}
		more, err := r.arrayStart()
		for more && err == nil {
			if err = r.skip(depth + 1); err != nil {
				return err
			}
			more, err = r.arrayNext()
		}
		return err
	case c == '"':
		_, _, _, _, err := r.scanString()
		return err
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		_, _, err := r.number()
		return err
	}
	return errSlow
}
