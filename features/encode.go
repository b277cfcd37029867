package features

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Encoder turns raw features into model inputs for one Spec. It is immutable after
// NewEncoder and safe for concurrent use; Encode does not allocate.
//
// The inputs are grouped by how they are read, so that each group is one tight loop: the
// string columns taken as they are (read through their offset in Raw, no call), the bool
// and int32 columns taken as an index, then the inputs that give a function.
type Encoder struct {
	spec    *Spec
	table   *Table
	dsp     map[string]int32 // the DSP's vocabulary
	strCols []strRead
	idxCols []idxRead
	funcs   []funcRead
	conts   []contRead
}

// strRead looks the string column at off up in the vocabulary of categorical input pos.
type strRead struct {
	pos   int
	off   uintptr
	index map[string]int32 // value -> index (0 = out of vocabulary)
}

// idxRead reads categorical input pos as an index v into its Tokens and writes small[v],
// the vocabulary index of Tokens[v] (0 outside Tokens), so that Encode needs no string
// conversion.
type idxRead struct {
	pos    int
	off    uintptr
	isBool bool // else int32
	small  []int32
}

// funcRead is a categorical input that gives a function (Str, or Enum with small).
type funcRead struct {
	pos   int
	str   func(r *Raw) string
	enum  func(r *Raw) int
	index map[string]int32
	small []int32
}

// contRead reads a continuous input: the float64 or int32 column at off, or value.
type contRead struct {
	off          uintptr
	isFloat      bool
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
	e := &Encoder{spec: s, table: t, dsp: vocabIndex(s.Features[0].Vocab)}
	for i := 1; i < len(t.defs); i++ {
		d, f := &t.defs[i], &s.Features[i]
		if d.Kind == Continuous {
			c := contRead{off: d.col.off, isFloat: d.col.kind == reflect.Float64, mean: float32(f.Mean), invStd: float32(1 / f.Std)}
			if d.read == readValue {
				c.value = d.Value
			}
			e.conts = append(e.conts, c)
			continue
		}
		index := vocabIndex(f.Vocab)
		var small []int32
		for _, tok := range d.Tokens {
			small = append(small, index[tok])
		}
		switch d.read {
		case readColumnStr:
			e.strCols = append(e.strCols, strRead{pos: i, off: d.col.off, index: index})
		case readColumnIndex:
			e.idxCols = append(e.idxCols, idxRead{pos: i, off: d.col.off, isBool: d.col.kind == reflect.Bool, small: small})
		default:
			e.funcs = append(e.funcs, funcRead{pos: i, str: d.Str, enum: d.Enum, index: index, small: small})
		}
	}
	return e, nil
}

// vocabIndex maps each value of a vocabulary to its index, Vocab[i] to i+1.
func vocabIndex(vocab []string) map[string]int32 {
	m := make(map[string]int32, len(vocab))
	for j, v := range vocab {
		m[v] = int32(j + 1)
	}
	return m
}

// Spec returns the spec the encoder was built from.
func (e *Encoder) Spec() *Spec { return e.spec }

// DSPIndex is the vocabulary index of a DSP (0 when the model has not seen it).
func (e *Encoder) DSPIndex(dsp string) int32 { return e.dsp[dsp] }

// Encode writes the inputs of one (imp, DSP) pair: the vocabulary index of every
// categorical feature into cats (length NumCategorical()) and the normalised continuous
// values into conts (length NumContinuous()).
func (e *Encoder) Encode(r *Raw, dsp string, cats []int32, conts []float32) {
	e.EncodeShared(r, cats, conts)
	cats[0] = e.dsp[dsp]
}

// EncodeShared is Encode without the DSP: it leaves cats[0] (the DSP) untouched. Serving
// encodes an imp once and sets cats[0] per DSP.
func (e *Encoder) EncodeShared(r *Raw, cats []int32, conts []float32) {
	cats = cats[:len(e.table.cat)]
	conts = conts[:len(e.conts)]
	p := unsafe.Pointer(r)
	for _, c := range e.strCols {
		cats[c.pos] = c.index[strAt(p, c.off)]
	}
	for _, c := range e.idxCols {
		var v int
		if c.isBool {
			v = boolIndex(boolAt(p, c.off))
		} else {
			v = int(int32At(p, c.off))
		}
		cats[c.pos] = smallIndex(c.small, v)
	}
	for i := range e.funcs {
		c := &e.funcs[i]
		if c.str != nil {
			cats[c.pos] = c.index[c.str(r)]
		} else {
			cats[c.pos] = smallIndex(c.small, c.enum(r))
		}
	}
	for j := range e.conts {
		c := &e.conts[j]
		var x float64
		switch {
		case c.value != nil:
			x = c.value(r)
		case c.isFloat:
			x = floatAt(p, c.off)
		default:
			x = float64(int32At(p, c.off))
		}
		conts[j] = (float32(x) - c.mean) * c.invStd
	}
}

// smallIndex is small[v], 0 (out of vocabulary) when v is outside small.
func smallIndex(small []int32, v int) int32 {
	if v >= 0 && v < len(small) {
		return small[v]
	}
	return 0
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
