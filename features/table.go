package features

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Def declares one model input: its name in the spec and the model file, its kind, the
// Raw field (bid-log column) it is computed from, and how. The inputs of a Table are its
// Defs in model order; DefaultDefs is the table of this build.
//
// A categorical input reads its token with exactly one of Str (the token is the string)
// or Enum (the token is Tokens[v], for a small integer v; a v outside Tokens is written
// as its decimal string by SpecBuilder and is out of vocabulary for the Encoder). A
// continuous input reads Value, the transformed value before normalisation. The DSP
// input, first in every table, reads nothing: the DSP is not part of Raw.
type Def struct {
	Name   string
	Kind   Kind
	Column string // the bid-log column (Raw field's parquet name) the input is computed from

	Str    func(r *Raw) string
	Enum   func(r *Raw) int
	Tokens []string
	Value  func(r *Raw) float64
}

// DSPInput is the name of the first input of every table, the DSP an imp is offered to.
const DSPInput = "dsp"

// Table is a validated list of Defs: the DSP, the other categorical inputs, then the
// continuous ones. It is immutable and safe for concurrent use.
type Table struct {
	defs     []Def
	cat      []string // categorical names in model order, the DSP first
	cont     []string // continuous names in model order
	defHash  string   // definitionHash(SpecVersion, cat, cont)
	position map[string]int
}

// NewTable checks defs and builds a Table from them (defs is copied).
func NewTable(defs []Def) (*Table, error) {
	t := &Table{defs: append([]Def(nil), defs...), position: make(map[string]int, len(defs))}
	if len(defs) == 0 || defs[0].Name != DSPInput || defs[0].Kind != Categorical {
		return nil, fmt.Errorf("feature table: the first input must be the categorical %q", DSPInput)
	}
	for i := range t.defs {
		d := &t.defs[i]
		if _, dup := t.position[d.Name]; dup || d.Name == "" {
			return nil, fmt.Errorf("feature table: input %d: name %q empty or used twice", i, d.Name)
		}
		t.position[d.Name] = i
		if err := d.check(i == 0); err != nil {
			return nil, fmt.Errorf("feature table: input %q: %w", d.Name, err)
		}
		switch {
		case d.Kind == Categorical && len(t.cont) > 0:
			return nil, fmt.Errorf("feature table: categorical input %q after a continuous one", d.Name)
		case d.Kind == Categorical:
			t.cat = append(t.cat, d.Name)
		default:
			t.cont = append(t.cont, d.Name)
		}
	}
	t.defHash = definitionHash(SpecVersion, t.cat, t.cont)
	return t, nil
}

// check reports what is missing or contradictory in one Def.
func (d *Def) check(dsp bool) error {
	reads := 0
	for _, set := range []bool{d.Str != nil, d.Enum != nil, d.Value != nil} {
		if set {
			reads++
		}
	}
	switch {
	case dsp:
		if reads != 0 {
			return fmt.Errorf("the DSP input reads nothing from Raw")
		}
		return nil
	case d.Column == "":
		return fmt.Errorf("no column")
	case d.Kind == Categorical && (reads != 1 || d.Value != nil):
		return fmt.Errorf("a categorical input needs exactly one of Str and Enum")
	case d.Kind == Categorical && d.Enum != nil && len(d.Tokens) == 0:
		return fmt.Errorf("an Enum input needs its Tokens")
	case d.Kind == Continuous && (reads != 1 || d.Value == nil):
		return fmt.Errorf("a continuous input needs Value and nothing else")
	case d.Kind != Categorical && d.Kind != Continuous:
		return fmt.Errorf("unknown kind %q", d.Kind)
	}
	return nil
}

// token is the vocabulary token of categorical input d in r (not the DSP).
func (d *Def) token(r *Raw) string {
	if d.Str != nil {
		return d.Str(r)
	}
	v := d.Enum(r)
	if v >= 0 && v < len(d.Tokens) {
		return d.Tokens[v]
	}
	return strconv.Itoa(v)
}

// AppendValue appends input d's value in r to b: the token of a categorical input, the
// shortest decimal form (no exponent) of a continuous one's Value, so an integer input
// is written as an integer. Hashing models (the FTRL baseline) use it; it does not
// allocate when b has room.
func (d *Def) AppendValue(b []byte, r *Raw) []byte {
	switch {
	case d.Str != nil:
		return append(b, d.Str(r)...)
	case d.Enum != nil:
		v := d.Enum(r)
		if v >= 0 && v < len(d.Tokens) {
			return append(b, d.Tokens[v]...)
		}
		return strconv.AppendInt(b, int64(v), 10)
	case d.Value != nil:
		return strconv.AppendFloat(b, d.Value(r), 'f', -1, 64)
	}
	return b
}

// Defs returns a copy of the table's inputs in model order.
func (t *Table) Defs() []Def { return append([]Def(nil), t.defs...) }

// Def returns the named input.
func (t *Table) Def(name string) (Def, bool) {
	i, ok := t.position[name]
	if !ok {
		return Def{}, false
	}
	return t.defs[i], true
}

// CategoricalNames returns the names of the categorical inputs in model order, the DSP first.
func (t *Table) CategoricalNames() []string { return append([]string(nil), t.cat...) }

// ContinuousNames returns the names of the continuous inputs in model order.
func (t *Table) ContinuousNames() []string { return append([]string(nil), t.cont...) }

// NumCategorical is the length of the index vectors Encoder.Encode fills.
func (t *Table) NumCategorical() int { return len(t.cat) }

// NumContinuous is the length of the value vectors Encoder.Encode fills.
func (t *Table) NumContinuous() int { return len(t.cont) }

// DefinitionHash identifies the table's definitions: SpecVersion, and the names and kinds
// in order (see the package-level DefinitionHash).
func (t *Table) DefinitionHash() string { return t.defHash }

func (t *Table) isCategorical(name string) bool {
	i, ok := t.position[name]
	return ok && t.defs[i].Kind == Categorical
}

func definitionHash(version int, cat, cont []string) string {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "bidsieve-features v%d\ncategorical:%s\ncontinuous:%s\n", version,
		strings.Join(cat, ","), strings.Join(cont, ","))
	return hex.EncodeToString(h.Sum(nil))
}
