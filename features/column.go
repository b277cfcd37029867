package features

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// column is one field of Raw, a bid-log column: its parquet name, type and place. The
// Encoder reads an input that takes a column as it is through these, without a call per
// input; the offsets come from reflect and each read checks nothing, so only readers of
// a column of the matching kind are ever built (NewTable checks the kinds).
type column struct {
	kind reflect.Kind
	off  uintptr
	pos  int // field index in Raw
}

// rawColumns are Raw's fields by column name.
var rawColumns = columnsOf(reflect.TypeFor[Raw]())

func columnsOf(t reflect.Type) map[string]column {
	cols := make(map[string]column, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		cols[name] = column{kind: f.Type.Kind(), off: f.Offset, pos: i}
	}
	return cols
}

// The reads of a field of the Raw at p, at offset off, of the type the name says.
func strAt(p unsafe.Pointer, off uintptr) string    { return *(*string)(unsafe.Add(p, off)) }
func boolAt(p unsafe.Pointer, off uintptr) bool     { return *(*bool)(unsafe.Add(p, off)) }
func int32At(p unsafe.Pointer, off uintptr) int32   { return *(*int32)(unsafe.Add(p, off)) }
func floatAt(p unsafe.Pointer, off uintptr) float64 { return *(*float64)(unsafe.Add(p, off)) }

// str reads a string column.
func (c column) str(r *Raw) string { return strAt(unsafe.Pointer(r), c.off) }

// index reads a bool (0 or 1) or int32 column.
func (c column) index(r *Raw) int {
	if c.kind == reflect.Bool {
		return boolIndex(boolAt(unsafe.Pointer(r), c.off))
	}
	return int(int32At(unsafe.Pointer(r), c.off))
}

// value reads an int32 or float64 column.
func (c column) value(r *Raw) float64 {
	if c.kind == reflect.Float64 {
		return floatAt(unsafe.Pointer(r), c.off)
	}
	return float64(int32At(unsafe.Pointer(r), c.off))
}

// How an input is read: a column as it is, or through the Def's function.
const (
	readColumnStr   = iota // categorical: the string column is the token
	readColumnIndex        // categorical: the bool or int32 column indexes Tokens
	readColumnValue        // continuous: the int32 or float64 column is the value
	readStr                // Def.Str
	readEnum               // Def.Enum
	readValue              // Def.Value
)

// input is a Def with its column resolved.
type input struct {
	Def
	col  column
	read int
}

// resolve finds d's column and decides how d is read.
func (d *Def) resolve() (input, error) {
	col, ok := rawColumns[d.Column]
	if !ok {
		return input{}, fmt.Errorf("column %q is not a field of Raw", d.Column)
	}
	in := input{Def: *d, col: col}
	in.Tokens = slices.Clone(d.Tokens) // the table owns what it reads
	switch {
	case d.Str != nil:
		in.read = readStr
	case d.Enum != nil:
		in.read = readEnum
	case d.Value != nil:
		in.read = readValue
	case d.Kind == Categorical && len(d.Tokens) == 0 && col.kind == reflect.String:
		in.read = readColumnStr
	case d.Kind == Categorical && len(d.Tokens) > 0 && (col.kind == reflect.Bool || col.kind == reflect.Int32):
		in.read = readColumnIndex
	case d.Kind == Continuous && (col.kind == reflect.Float64 || col.kind == reflect.Int32):
		in.read = readColumnValue
	default:
		return input{}, fmt.Errorf("%s column %q cannot be read as it is by a %s input (Tokens: %d); give a function",
			col.kind, d.Column, d.Kind, len(d.Tokens))
	}
	return in, nil
}

// token is the vocabulary token of categorical input in (not the DSP).
func (in *input) token(r *Raw) string {
	switch in.read {
	case readColumnStr:
		return in.col.str(r)
	case readStr:
		return in.Str(r)
	}
	v := in.index(r)
	if v >= 0 && v < len(in.Tokens) {
		return in.Tokens[v]
	}
	return strconv.Itoa(v)
}

// index is the Tokens index of an Enum-like categorical input.
func (in *input) index(r *Raw) int {
	if in.read == readEnum {
		return in.Enum(r)
	}
	return in.col.index(r)
}

// value is the transformed value of a continuous input.
func (in *input) value(r *Raw) float64 {
	if in.read == readValue {
		return in.Value(r)
	}
	return in.col.value(r)
}

// appendValue appends the token of a categorical input, or the shortest decimal form (no
// exponent) of a continuous one's value, so that an integer input is written as an integer.
func (in *input) appendValue(b []byte, r *Raw) []byte {
	switch {
	case in.Kind == Continuous:
		return strconv.AppendFloat(b, in.value(r), 'f', -1, 64)
	case in.read == readColumnStr || in.read == readStr:
		return append(b, in.token(r)...)
	}
	v := in.index(r)
	if v >= 0 && v < len(in.Tokens) {
		return append(b, in.Tokens[v]...)
	}
	return strconv.AppendInt(b, int64(v), 10)
}
