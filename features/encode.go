package features

import (
	"fmt"
)

// Encoder turns raw features into model inputs for one Spec. It is immutable after
// NewEncoder and safe for concurrent use; Encode does not allocate.
type Encoder struct {
	spec  *Spec
	table *Table
	cats  []catInput // per categorical input, the DSP first
	conts []contInput
}

// catInput is how the Encoder reads one categorical input: a vocabulary lookup of the
// string token (Str), or the precomputed index of every token (Enum), so that Encode
// needs no string conversion.
type catInput struct {
	str   func(r *Raw) string
	enum  func(r *Raw) int
	index map[string]int32 // value -> index (0 = out of vocabulary)
	small []int32          // Enum: the index of Tokens[v]
}

type contInput struct {
	value        func(r *Raw) float64
	mean, invStd float32
}

// NewEncoder builds the lookup tables of s for the default table. It fails when s is not
// valid for this build.
func NewEncoder(s *Spec) (*Encoder, error) { return std.NewEncoder(s) }

// NewEncoder builds the lookup tables of s for the table's inputs. It fails when s does
// not implement them.
func (t *Table) NewEncoder(s *Spec) (*Encoder, error) {
	if err := t.Validate(s); err != nil {
		return nil, err
	}
	e := &Encoder{spec: s, table: t}
	for i, d := range t.defs {
		f := &s.Features[i]
		if d.Kind == Continuous {
			e.conts = append(e.conts, contInput{value: d.Value, mean: float32(f.Mean), invStd: float32(1 / f.Std)})
			continue
		}
		m := make(map[string]int32, len(f.Vocab))
		for j, v := range f.Vocab {
			m[v] = int32(j + 1)
		}
		c := catInput{str: d.Str, enum: d.Enum, index: m}
		if d.Enum != nil {
			c.small = make([]int32, len(d.Tokens))
			for v, tok := range d.Tokens {
				c.small[v] = m[tok]
			}
		}
		e.cats = append(e.cats, c)
	}
	return e, nil
}

// Spec returns the spec the encoder was built from.
func (e *Encoder) Spec() *Spec { return e.spec }

// DSPIndex is the vocabulary index of a DSP (0 when the model has not seen it).
func (e *Encoder) DSPIndex(dsp string) int32 { return e.cats[0].index[dsp] }

// Encode writes the inputs of one (imp, DSP) pair: the vocabulary index of every
// categorical feature into cats (length NumCategorical()) and the normalised continuous
// values into conts (length NumContinuous()).
func (e *Encoder) Encode(r *Raw, dsp string, cats []int32, conts []float32) {
	e.EncodeShared(r, cats, conts)
	cats[0] = e.cats[0].index[dsp]
}

// EncodeShared is Encode without the DSP: it leaves cats[0] (the DSP) untouched. Serving
// encodes an imp once and sets cats[0] per DSP.
func (e *Encoder) EncodeShared(r *Raw, cats []int32, conts []float32) {
	cats = cats[:len(e.cats)]
	conts = conts[:len(e.conts)]
	for i := 1; i < len(e.cats); i++ {
		c := &e.cats[i]
		if c.str != nil {
			cats[i] = c.index[c.str(r)]
			continue
		}
		cats[i] = 0
		if v := c.enum(r); v >= 0 && v < len(c.small) {
			cats[i] = c.small[v]
		}
	}
	for j := range e.conts {
		c := &e.conts[j]
		conts[j] = (float32(c.value(r)) - c.mean) * c.invStd
	}
}

// CategoricalValues returns the vocabulary tokens of r's categorical features (the DSP
// included) in CategoricalNames order. Training uses it to build vocabularies; it allocates.
func CategoricalValues(r *Raw, dsp string) []string { return std.CategoricalValues(r, dsp) }

// CategoricalValues returns the vocabulary tokens of r's categorical inputs in the table's
// order, the DSP first. It allocates.
func (t *Table) CategoricalValues(r *Raw, dsp string) []string {
	out := make([]string, len(t.cat))
	out[0] = dsp
	for i := 1; i < len(t.cat); i++ {
		out[i] = t.defs[i].token(r)
	}
	return out
}

// String describes an encoded input for debugging and golden files.
func (e *Encoder) String(cats []int32, conts []float32) string {
	s := ""
	for i, c := range cats {
		v := "<oov>"
		if c > 0 {
			v = e.spec.Features[i].Vocab[c-1]
		}
		s += fmt.Sprintf("%s=%s(%d) ", e.table.cat[i], v, c)
	}
	for j, x := range conts {
		s += fmt.Sprintf("%s=%.6g ", e.table.cont[j], x)
	}
	return s
}
