package bidlog

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/features"
	"github.com/parquet-go/parquet-go"
)

// TestSchemaIsTheContract pins the Parquet schema of Row, column names, types, encodings
// and order, to testdata/schema.golden: the bid-log columns are a contract with training
// and with every log already written (docs/DESIGN.md, "Bid log").
func TestSchemaIsTheContract(t *testing.T) {
	got := schemaText(parquet.SchemaOf(Row{}))
	want, err := os.ReadFile(filepath.Join("testdata", "schema.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("bid-log schema changed:\n--- got\n%s--- want\n%s", got, want)
	}
}

// schemaText is the schema with each column's encoding, which String leaves out.
func schemaText(s *parquet.Schema) string {
	var b strings.Builder
	b.WriteString(s.String())
	b.WriteString("\n")
	for _, path := range s.Columns() {
		leaf, _ := s.Lookup(path...)
		enc := "plain"
		if e := leaf.Node.Encoding(); e != nil {
			enc = e.String()
		}
		fmt.Fprintf(&b, "%s %s\n", strings.Join(path, "."), enc)
	}
	return b.String()
}

// columnNames are the leaf columns of a schema in order.
func columnNames(s *parquet.Schema) []string {
	var names []string
	for _, path := range s.Columns() {
		names = append(names, strings.Join(path, "."))
	}
	return names
}

// TestRowFeatureColumnsAreTheFeatureTable checks that the log's feature columns are
// features.Raw's, in Raw's order between dsp and decision, and that every input of the
// feature table reads a column the log has.
func TestRowFeatureColumnsAreTheFeatureTable(t *testing.T) {
	row := columnNames(parquet.SchemaOf(Row{}))
	raw := columnNames(parquet.SchemaOf(features.Raw{}))
	at := slices.Index(row, "dsp") + 1
	if at == 0 || at+len(raw) > len(row) || !slices.Equal(row[at:at+len(raw)], raw) || row[at+len(raw)] != "decision" {
		t.Fatalf("row columns %v; want the features %v after dsp and before decision", row, raw)
	}
	for _, d := range features.Default().Defs() {
		if !slices.Contains(row, d.Column) {
			t.Errorf("input %q reads column %q, which the bid log does not have", d.Name, d.Column)
		}
	}
}

// TestEveryFeatureColumnRoundTrips writes a row whose every feature field holds a value
// of its own and reads it back unchanged, whatever fields Raw has.
func TestEveryFeatureColumnRoundTrips(t *testing.T) {
	var raw features.Raw
	v := reflect.ValueOf(&raw).Elem()
	for i := 0; i < v.NumField(); i++ {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("value-%d", i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int32, reflect.Int64:
			f.SetInt(int64(100 + i))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.25)
		default:
			t.Fatalf("Raw.%s: type %s has no test value", v.Type().Field(i).Name, f.Type())
		}
	}
	rows := testRows(3, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Second)
	for i := range rows {
		rows[i].SetFeatures(&raw)
	}
	_, files := writeLog(t, t.TempDir(), WriterOptions{}, rows, len(rows))
	got := readAll(t, NewReader(files), 2)
	equalRows(t, got, rows)
	if f := got[0].Features(); f != raw {
		t.Errorf("features read back %+v, want %+v", f, raw)
	}
}
