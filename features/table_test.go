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

// TestTableAgreesWithRaw checks the default table against the Raw struct, which is also
// the bid log's feature columns: every input reads the column it declares and no other;
// the inputs of each kind follow the column order; and no column goes unread.
// (NewTable has already refused a column Raw lacks or one of the wrong type.)
func TestTableAgreesWithRaw(t *testing.T) {
	rt := reflect.TypeFor[Raw]()
	read := map[string]bool{}
	last := map[Kind]int{Categorical: -1, Continuous: -1}
	for i := 1; i < len(std.defs); i++ {
		d := &std.defs[i]
		read[d.Column] = true
		if d.col.pos < last[d.Kind] {
			t.Errorf("input %q (column %q) comes before the %s input of an earlier column", d.Name, d.Column, d.Kind)
		}
		last[d.Kind] = d.col.pos
		// Set each column in turn: the input's value changes for its own column only.
		for f := 0; f < rt.NumField(); f++ {
			var zero Raw
			marked := zero
			mark(reflect.ValueOf(&marked).Elem().Field(f))
			changed := string(d.appendValue(nil, &marked)) != string(d.appendValue(nil, &zero))
			if own := f == d.col.pos; changed != own {
				t.Errorf("input %q: setting Raw.%s changes its value: %v", d.Name, rt.Field(f).Name, changed)
			}
		}
	}
	for name, c := range rawColumns {
		if !read[name] {
			t.Errorf("column %q (Raw.%s) is logged but no input reads it", name, rt.Field(c.pos).Name)
		}
	}
	if len(rawColumns) != rt.NumField() {
		t.Errorf("Raw has %d fields but %d column names", rt.NumField(), len(rawColumns))
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

func TestNewTableRefusesBadTables(t *testing.T) {
	good := DefaultDefs()
	if _, err := NewTable(good); err != nil {
		t.Fatalf("default table refused: %v", err)
	}
	dsp, country, floor := good[0], good[1], good[len(good)-3]
	str := func(r *Raw) string { return r.Country }
	cases := map[string][]Def{
		"no dsp first":            good[1:],
		"name twice":              append(DefaultDefs(), floor),
		"categorical after cont.": append(DefaultDefs(), country),
		"no such column":          {dsp, {Name: "x", Kind: Categorical, Column: "nosuch"}},
		"string column, Tokens":   {dsp, {Name: "x", Kind: Categorical, Column: "country", Tokens: []string{"a"}}},
		"int column, no Tokens":   {dsp, {Name: "x", Kind: Categorical, Column: "hour_utc"}},
		"continuous of a string":  {dsp, {Name: "x", Kind: Continuous, Column: "country"}},
		"two functions":           {dsp, {Name: "x", Kind: Categorical, Column: "country", Str: str, Enum: func(*Raw) int { return 0 }, Tokens: []string{"a"}}},
		"enum without tokens":     {dsp, {Name: "x", Kind: Categorical, Column: "country", Enum: func(*Raw) int { return 0 }}},
		"continuous with Str":     {dsp, {Name: "x", Kind: Continuous, Column: "country", Str: str}},
		"categorical with Value":  {dsp, {Name: "x", Kind: Categorical, Column: "floor_cpm", Value: floor.Value}},
		"unknown kind":            {dsp, {Name: "x", Kind: "ordinal", Column: "floor_cpm", Value: floor.Value}},
		"dsp with tokens":         {{Name: DSPInput, Kind: Categorical, Tokens: []string{"a"}}},
	}
	for name, defs := range cases {
		if _, err := NewTable(defs); err == nil || !strings.HasPrefix(err.Error(), "feature table: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}
