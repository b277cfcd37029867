package features

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// Golden files pin what the extractor and the encoder produce for the requests in
// testdata/requests, so that any change of a feature's meaning shows up as a diff (and
// calls for a SpecVersion bump). Regenerate with: go test ./features -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenNow is the handling time of every fixture request: a Wednesday, 14:05 UTC.
var goldenNow = time.Date(2024, 3, 13, 14, 5, 0, 0, time.UTC)

// goldenConv knows USD and EUR only (1 EUR = 1.08 USD).
func goldenConv(amount float64, cur string) (float64, bool) {
	switch cur {
	case "USD":
		return amount, true
	case "EUR":
		return amount * 1.08, true
	}
	return 0, false
}

type goldenRow struct {
	File string `json:"file"`
	Imp  string `json:"imp"`
	Raw  Raw    `json:"raw"`
}

// fixtureRequest is one request of testdata/requests.
type fixtureRequest struct {
	file string
	req  *openrtb2.BidRequest
}

// fixtures reads the requests of testdata/requests in file-name order.
func fixtures(t testing.TB) []fixtureRequest {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixture requests: %v", err)
	}
	sort.Strings(paths)
	var out []fixtureRequest
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		req := new(openrtb2.BidRequest)
		if err := json.Unmarshal(data, req); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, fixtureRequest{file: filepath.Base(p), req: req})
	}
	return out
}

// fixtureRequests is fixtures without the file names.
func fixtureRequests(t testing.TB) []*openrtb2.BidRequest {
	t.Helper()
	var reqs []*openrtb2.BidRequest
	for _, f := range fixtures(t) {
		reqs = append(reqs, f.req)
	}
	return reqs
}

// goldenRows extracts every imp of every fixture request, in file-name order.
func goldenRows(t testing.TB) []goldenRow {
	t.Helper()
	var rows []goldenRow
	for _, f := range fixtures(t) {
		req := f.req
		for i := range req.Imp {
			rows = append(rows, goldenRow{
				File: f.file, Imp: req.Imp[i].ID,
				Raw: Extract(req, &req.Imp[i], goldenNow, goldenConv),
			})
		}
	}
	return rows
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is intended, and bump SpecVersion if a feature changed meaning)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGoldenExtract(t *testing.T) {
	rows := goldenRows(t)
	var buf bytes.Buffer
	for _, r := range rows {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	checkGolden(t, "extract.golden", buf.Bytes())
}

// goldenSpec builds a spec from the fixture rows offered to two DSPs, with a minimum
// count that leaves the values seen once out of the vocabularies.
func goldenSpec(t testing.TB, rows []goldenRow) *Spec {
	t.Helper()
	b := NewSpecBuilder()
	for _, dsp := range []string{"alpha", "bravo"} {
		for i := range rows {
			b.Add(&rows[i].Raw, dsp, 1)
		}
	}
	s, err := b.Build(BuildOptions{MinCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGoldenSpecAndEncode(t *testing.T) {
	rows := goldenRows(t)
	s := goldenSpec(t, rows)
	specJSON, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "spec.golden", append(specJSON, '\n'))

	e, err := NewEncoder(s)
	if err != nil {
		t.Fatal(err)
	}
	cats := make([]int32, NumCategorical())
	conts := make([]float32, NumContinuous())
	var buf strings.Builder
	for _, dsp := range []string{"alpha", "zulu"} { // zulu: a DSP the spec has not seen
		for i := range rows {
			e.Encode(&rows[i].Raw, dsp, cats, conts)
			fmt.Fprintf(&buf, "%s/%s %s\n", rows[i].File, rows[i].Imp, e.String(cats, conts))
		}
	}
	checkGolden(t, "encode.golden", []byte(buf.String()))
}
