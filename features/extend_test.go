package features_test

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// weekendDef is an input that only this test declares: whether the request came on a
// Saturday or a Sunday, computed from the day_of_week column.
var weekendDef = features.Def{
	Name: "weekend", Kind: features.Categorical, Column: "day_of_week", Tokens: []string{"false", "true"},
	Enum: func(r *features.Raw) int {
		if r.DayOfWeek == 0 || r.DayOfWeek == 6 {
			return 1
		}
		return 0
	},
}

// withWeekend is the default table with weekendDef after the last categorical input.
func withWeekend(t *testing.T) (*features.Table, int) {
	t.Helper()
	defs := features.DefaultDefs()
	at := slices.IndexFunc(defs, func(d features.Def) bool { return d.Kind == features.Continuous })
	tbl, err := features.NewTable(slices.Insert(defs, at, weekendDef))
	if err != nil {
		t.Fatal(err)
	}
	return tbl, at
}

// TestAddedInputFlowsThrough adds one Def to the table and nothing else, and follows the
// new input from the request to the spec, the encoder, the bid log and the model file.
func TestAddedInputFlowsThrough(t *testing.T) {
	tbl, w := withWeekend(t)
	if got, want := tbl.NumCategorical(), features.NumCategorical()+1; got != want {
		t.Fatalf("%d categorical inputs, want %d", got, want)
	}

	// Extraction: requests on a Wednesday and on a Saturday, 14:05 to 23:05 UTC.
	req := &openrtb2.BidRequest{ID: "r", TMax: 150, Imp: []openrtb2.Imp{{ID: "1", BidFloor: 0.5,
		Banner: &openrtb2.Banner{Format: []openrtb2.Format{{W: 300, H: 250}}}}},
		Site: &openrtb2.Site{Domain: "news.example", Publisher: &openrtb2.Publisher{ID: "p1"}}}
	wed := time.Date(2024, 3, 13, 14, 5, 0, 0, time.UTC)
	var raws []features.Raw
	for i := 0; i < 40; i++ {
		day := wed
		if i%4 == 0 {
			day = wed.AddDate(0, 0, 3) // Saturday
		}
		raws = append(raws, features.Extract(req, &req.Imp[0], day.Add(time.Duration(i%10)*time.Hour), nil))
	}

	// Spec: the builder learns the new input's vocabulary; the hash moves with the table.
	sb, defSB := tbl.NewSpecBuilder(), features.NewSpecBuilder()
	for i := range raws {
		sb.Add(&raws[i], "alpha", 1)
		defSB.Add(&raws[i], "alpha", 1)
	}
	spec, err := sb.Build(features.BuildOptions{MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	defSpec, err := defSB.Build(features.BuildOptions{MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f := spec.Features[w]; f.Name != "weekend" || !slices.Equal(f.Vocab, []string{"false", "true"}) {
		t.Fatalf("spec input %d: %+v, want weekend with vocabulary [false true] (30 weekdays, 10 weekend days)", w, f)
	}
	if err := tbl.Validate(spec); err != nil {
		t.Errorf("the extended table refuses its own spec: %v", err)
	}
	if err := spec.Validate(); err == nil {
		t.Error("this build's default table accepts a spec with an input it does not implement")
	}
	if spec.Hash() != tbl.DefinitionHash() || tbl.DefinitionHash() == features.DefinitionHash() {
		t.Errorf("spec hash %s, table hash %s, default hash %s: want the first two equal and the third different",
			spec.Hash(), tbl.DefinitionHash(), features.DefinitionHash())
	}

	// Encoding: the new input gets its index, every other input the index the default
	// table gives it, and Encode still does not allocate.
	enc, err := tbl.NewEncoder(spec)
	if err != nil {
		t.Fatal(err)
	}
	defEnc, err := features.NewEncoder(defSpec)
	if err != nil {
		t.Fatal(err)
	}
	encode := func(r *features.Raw) ([]int32, []float32) {
		cats, conts := make([]int32, tbl.NumCategorical()), make([]float32, tbl.NumContinuous())
		enc.Encode(r, "alpha", cats, conts)
		return cats, conts
	}
	for i := range raws {
		cats, conts := encode(&raws[i])
		want := int32(1) // "false", the more frequent
		if i%4 == 0 {
			want = 2
		}
		if cats[w] != want {
			t.Errorf("row %d (day %d): weekend index %d, want %d", i, raws[i].DayOfWeek, cats[w], want)
		}
		dc, dk := make([]int32, features.NumCategorical()), make([]float32, features.NumContinuous())
		defEnc.Encode(&raws[i], "alpha", dc, dk)
		if !slices.Equal(slices.Delete(slices.Clone(cats), w, w+1), dc) || !slices.Equal(conts, dk) {
			t.Errorf("row %d: the other inputs encode as %v %v, the default table as %v %v", i, cats, conts, dc, dk)
		}
	}
	cats, conts := make([]int32, tbl.NumCategorical()), make([]float32, tbl.NumContinuous())
	if n := testing.AllocsPerRun(100, func() { enc.Encode(&raws[0], "alpha", cats, conts) }); n != 0 {
		t.Errorf("Encode allocates %v times", n)
	}

	// Bid log: a row written and read back encodes as the extracted features did, which
	// is what keeps training (from the log) and serving (from the request) in step.
	dir := t.TempDir()
	lw, err := bidlog.NewWriter(dir, bidlog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]bidlog.Row, len(raws))
	for i := range raws {
		rows[i] = bidlog.Row{TS: wed.UnixMilli() + int64(i), RequestID: "r", ImpID: "1", DSP: "alpha",
			Decision: bidlog.DecisionSent, Outcome: bidlog.OutcomeNoBid}
		rows[i].SetFeatures(&raws[i])
	}
	if err := lw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	lr, err := bidlog.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	back := make([]bidlog.Row, len(rows)+1)
	n, err := lr.Read(back)
	if err != nil && !errors.Is(err, io.EOF) || n != len(rows) {
		t.Fatalf("read back %d rows (%v), want %d", n, err, len(rows))
	}
	if err := lr.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		got := back[i].Features()
		gc, gk := encode(&got)
		wc, wk := encode(&raws[i])
		if got != raws[i] || !slices.Equal(gc, wc) || !slices.Equal(gk, wk) {
			t.Errorf("row %d read back as %+v encoding %v %v; written %+v encoding %v %v", i, got, gc, gk, raws[i], wc, wk)
		}
	}

	// Model file: the spec goes through the file's JSON header unchanged and is still the
	// extended table's; this build, which lacks the input, refuses the file by its hash.
	file := modelfile.File{FormatVersion: modelfile.FormatVersion, Spec: *spec, SpecHash: spec.Hash()}
	data, err := json.Marshal(&file)
	if err != nil {
		t.Fatal(err)
	}
	var got modelfile.File
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Spec, *spec) || got.SpecHash != tbl.DefinitionHash() {
		t.Errorf("spec after the round trip %+v (hash %s), want %+v", got.Spec, got.SpecHash, *spec)
	}
	if err := tbl.Validate(&got.Spec); err != nil {
		t.Errorf("spec after the round trip: %v", err)
	}
	if err := modelfile.Write(io.Discard, &got); err == nil || !strings.Contains(err.Error(), "feature-spec hash "+tbl.DefinitionHash()+" is not implemented by this build") {
		t.Errorf("this build writes a model file of another table: %v", err)
	}
}
