package features

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Def declares one model input: its name in the spec and the model file, its kind, the
// Raw field (bid-log column) it is computed from, and how. The inputs of a Table are its
// Defs in model order; DefaultDefs is the table of this build.
//
// Most inputs take their column as it is and need no function: a categorical input of a
// string column (the token is the string), a categorical input of a bool or int32 column
// with Tokens (the token is Tokens[v]; false is 0), a continuous input of an int32 or
// float64 column (the value is the number). An input computed from its column gives one
// function instead: Str (categorical, the token), Enum (categorical, an index into Tokens)
// or Value (continuous, the transformed value before normalisation). For an index v
// outside Tokens, SpecBuilder counts the token strconv.Itoa(v) and the Encoder gives the
// out-of-vocabulary index. The DSP input, first in every table, reads nothing: the DSP is
// not part of Raw.
type Def struct {
	Name   string
	Kind   Kind
	Column string // the bid-log column (Raw field's parquet name) the input is computed from

	Tokens []string
	Str    func(r *Raw) string
	Enum   func(r *Raw) int
	Value  func(r *Raw) float64
}

// DSPInput is the name of the first input of every table, the DSP an imp is offered to.
const DSPInput = "dsp"

// Table is a validated list of Defs: the DSP, the other categorical inputs, then the
// continuous ones. It is immutable and safe for concurrent use.
type Table struct {
	defs     []input  // defs[0], the DSP, has no column
	cat      []string // categorical names in model order, the DSP first
	cont     []string // continuous names in model order
	defHash  string   // definitionHash(SpecVersion, cat, cont)
	position map[string]int
}

// NewTable checks defs and builds a Table from them (defs and their Tokens are copied).
func NewTable(defs []Def) (*Table, error) {
	t := &Table{position: make(map[string]int, len(defs))}
	if len(defs) == 0 || defs[0].Name != DSPInput || defs[0].Kind != Categorical {
		return nil, fmt.Errorf("feature table: the first input must be the categorical %q", DSPInput)
	}
	for i := range defs {
		d := &defs[i]
		if _, dup := t.position[d.Name]; dup || d.Name == "" {
			return nil, fmt.Errorf("feature table: input %d: name %q empty or used twice", i, d.Name)
		}
		t.position[d.Name] = i
		in, err := d.check(i == 0)
		if err != nil {
			return nil, fmt.Errorf("feature table: input %q: %w", d.Name, err)
		}
		t.defs = append(t.defs, in)
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

// check reports what is missing or contradictory in one Def, and resolves its column.
func (d *Def) check(dsp bool) (input, error) {
	funcs := 0
	for _, set := range []bool{d.Str != nil, d.Enum != nil, d.Value != nil} {
		if set {
			funcs++
		}
	}
	switch {
	case dsp:
		if funcs != 0 || len(d.Tokens) != 0 {
			return input{}, fmt.Errorf("the DSP input reads nothing from Raw")
		}
		return input{Def: *d}, nil
	case d.Kind != Categorical && d.Kind != Continuous:
		return input{}, fmt.Errorf("unknown kind %q", d.Kind)
	case funcs > 1:
		return input{}, fmt.Errorf("more than one of Str, Enum and Value")
	case d.Kind == Categorical && d.Value != nil, d.Kind == Continuous && (d.Str != nil || d.Enum != nil):
		return input{}, fmt.Errorf("a %s input cannot have that function", d.Kind)
	case d.Enum != nil && len(d.Tokens) == 0:
		return input{}, fmt.Errorf("an Enum input needs its Tokens")
	case d.Kind == Continuous && len(d.Tokens) != 0, d.Str != nil && len(d.Tokens) != 0:
		return input{}, fmt.Errorf("Tokens are for inputs read as an index")
	}
	return d.resolve()
}

// Defs returns a copy of the table's inputs in model order.
func (t *Table) Defs() []Def {
	defs := make([]Def, len(t.defs))
	for i := range t.defs {
		defs[i] = t.defs[i].Def
		defs[i].Tokens = slices.Clone(defs[i].Tokens)
	}
	return defs
}

// Appender returns a function that appends the named input's value in r to b: the token
// of a categorical input, the shortest decimal form (no exponent) of a continuous one's
// value, so that an integer input is written as an integer. Hashing models (the FTRL
// baseline) use it; it does not allocate when b has room. The DSP is not in Raw: asking
// for it, or for a name not in the table, gives false.
func (t *Table) Appender(name string) (func(r *Raw, b []byte) []byte, bool) {
	i, ok := t.position[name]
	if !ok || i == 0 {
		return nil, false
	}
	in := &t.defs[i]
	return func(r *Raw, b []byte) []byte { return in.appendValue(b, r) }, true
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
