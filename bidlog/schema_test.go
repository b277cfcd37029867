package bidlog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestSchemaIsTheContract pins the Parquet schema of Row, column names, types, encodings
// and order, to testdata/schema.golden: the bid-log columns are a contract with training
// and with every log already written (DESIGN.md, "Bid log").
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
