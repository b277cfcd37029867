package features

import (
	"reflect"
	"strings"
	"testing"
)

// specHashV1 is the definition hash of SpecVersion 1, recorded in every model file trained
// on it: if it changes, serving refuses those files, which a change must do on purpose
// (a SpecVersion bump), never by accident.
const specHashV1 = "758aa2524f5b497f21ff51ddea294047ffecdb890917aa241aa5f32fe54cb3e0"

func TestDefinitionHashIsStable(t *testing.T) {
	if SpecVersion == 1 && DefinitionHash() != specHashV1 {
		t.Errorf("definition hash %s, model files of version 1 carry %s: a name, kind or order changed without a SpecVersion bump",
			DefinitionHash(), specHashV1)
	}
	want := []string{"dsp", "country", "region", "device_type", "os", "browser", "connection", "channel",
		"domain", "publisher", "category", "format", "position", "user_id", "hour_utc", "day_of_week"}
	if !equalStrings(CategoricalNames, want) || !equalStrings(ContinuousNames, []string{"log_floor", "imp_count", "tmax_ms"}) {
		t.Errorf("inputs %v %v", CategoricalNames, ContinuousNames)
	}
}

// rawColumn is one field of Raw: its bid-log column name and Go type.
type rawColumn struct {
	field  int
	column string
	kind   reflect.Kind
}

func rawColumns(t *testing.T) []rawColumn {
	t.Helper()
	rt := reflect.TypeFor[Raw]()
	var cols []rawColumn
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		if name == "" {
			t.Fatalf("Raw.%s has no parquet column name", f.Name)
		}
		cols = append(cols, rawColumn{i, name, f.Type.Kind()})
	}
	return cols
}

// TestTableAgreesWithRaw checks the table against the Raw struct, which is also the
// bid log's feature columns: every input reads a column that exists, with an accessor of
// the column's type, and reads that column and no other; the inputs of each kind follow
// the column order; and no column goes unread.
func TestTableAgreesWithRaw(t *testing.T) {
	cols := rawColumns(t)
	byName := map[string]rawColumn{}
	for _, c := range cols {
		byName[c.column] = c
	}
	read := map[string]bool{}
	last := map[Kind]int{Categorical: -1, Continuous: -1}
	for _, d := range DefaultDefs()[1:] {
		c, ok := byName[d.Column]
		if !ok {
			t.Errorf("input %q reads column %q, which Raw does not have", d.Name, d.Column)
			continue
		}
		read[d.Column] = true
		if c.field < last[d.Kind] {
			t.Errorf("input %q (column %q) comes before the %s input of an earlier column", d.Name, d.Column, d.Kind)
		}
		last[d.Kind] = c.field
		want := map[reflect.Kind]string{reflect.String: "Str", reflect.Bool: "Enum", reflect.Int32: "Enum or Value", reflect.Float64: "Value"}[c.kind]
		switch {
		case d.Str != nil && c.kind != reflect.String,
			d.Enum != nil && c.kind != reflect.Bool && c.kind != reflect.Int32,
			d.Value != nil && c.kind != reflect.Float64 && c.kind != reflect.Int32:
			t.Errorf("input %q reads %s column %q with the wrong accessor (want %s)", d.Name, c.kind, d.Column, want)
			continue
		}
		// Set each column in turn: the input's value changes for its own column only.
		for _, other := range cols {
			var zero Raw
			marked := zero
			mark(reflect.ValueOf(&marked).Elem().Field(other.field))
			changed := inputValue(&d, &marked) != inputValue(&d, &zero)
			if changed != (other.column == d.Column) {
				t.Errorf("input %q: setting column %q changes its value: %v", d.Name, other.column, changed)
			}
		}
	}
	for _, c := range cols {
		if !read[c.column] {
			t.Errorf("column %q is logged but no input reads it", c.column)
		}
	}
}

// mark sets v to a value that no input maps to the zero value's token.
func mark(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("marked")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int32:
		v.SetInt(3)
	case reflect.Float64:
		v.SetFloat(2.5)
	}
}

func inputValue(d *Def, r *Raw) string { return string(d.AppendValue(nil, r)) }

func TestNewTableRefusesBadTables(t *testing.T) {
	good := DefaultDefs()
	if _, err := NewTable(good); err != nil {
		t.Fatalf("default table refused: %v", err)
	}
	country := good[1]
	floor := good[len(good)-3]
	cases := map[string][]Def{
		"no dsp first":            good[1:],
		"name twice":              append(DefaultDefs(), floor),
		"categorical after cont.": append(DefaultDefs(), country),
		"no accessor":             {good[0], {Name: "x", Kind: Categorical, Column: "x"}},
		"two accessors":           {good[0], {Name: "x", Kind: Categorical, Column: "x", Str: country.Str, Enum: good[13].Enum, Tokens: boolTokens}},
		"enum without tokens":     {good[0], {Name: "x", Kind: Categorical, Column: "x", Enum: good[13].Enum}},
		"continuous with Str":     {good[0], {Name: "x", Kind: Continuous, Column: "x", Str: country.Str}},
		"no column":               {good[0], {Name: "x", Kind: Continuous, Value: floor.Value}},
		"unknown kind":            {good[0], {Name: "x", Kind: "ordinal", Column: "x", Value: floor.Value}},
	}
	for name, defs := range cases {
		if _, err := NewTable(defs); err == nil || !strings.HasPrefix(err.Error(), "feature table: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}
