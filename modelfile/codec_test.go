package modelfile

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/features"
)

// testFile builds a small valid model file with random weights: vocab values per
// categorical feature, hidden layer widths as given.
func testFile(seed uint64, vocab int, hidden ...int) *File {
	rng := rand.New(rand.NewPCG(seed, 1))
	var spec features.Spec
	spec.Version = features.SpecVersion
	for _, name := range features.CategoricalNames {
		ft := features.Feature{Name: name, Kind: features.Categorical}
		for j := 0; j < 1+rng.IntN(vocab); j++ {
			ft.Vocab = append(ft.Vocab, fmt.Sprintf("%s-%d", name, j))
		}
		ft.EmbDim = features.DefaultEmbDim(ft.Cardinality())
		spec.Features = append(spec.Features, ft)
	}
	for _, name := range features.ContinuousNames {
		spec.Features = append(spec.Features, features.Feature{Name: name, Kind: features.Continuous, Mean: rng.Float64(), Std: 0.5 + rng.Float64()})
	}
	f := &File{FormatVersion: FormatVersion, Spec: spec, SpecHash: spec.Hash()}
	randm := func(r, c int) Matrix {
		m := Matrix{Rows: r, Cols: c, Data: make([]float32, r*c)}
		for i := range m.Data {
			m.Data[i] = float32(rng.NormFloat64() * 0.1)
		}
		return m
	}
	for i := range features.CategoricalNames {
		ft := &spec.Features[i]
		f.Net.Embeddings = append(f.Net.Embeddings, randm(ft.Cardinality(), ft.EmbDim))
	}
	in := spec.InputWidth()
	for _, out := range append(hidden, 2) {
		w := randm(in, out)
		f.Net.Layers = append(f.Net.Layers, Dense{W: w, B: randm(1, out).Data})
		in = out
	}
	f.DSPs = []DSP{
		{Name: "alpha", LogitOffset: math.Log(0.1), NegativeRate: 0.1, Target: 0.95, Threshold: 0.02, OK: true,
			Curve: []CurvePoint{{Threshold: 0.01, Recall: 0.99, RecallLower: 0.98, FilteredShare: 0.05}}},
		{Name: "beta", OK: false, Reason: "too few bids"},
	}
	f.Meta = Metadata{Version: "test-1", CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Hidden: hidden, Metrics: map[string]float64{"val_loss": 0.1}}
	return f
}

func encodeBytes(t testing.TB, f *File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := encode(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// resum replaces the checksum of an encoded file after an edit of its body.
func resum(data []byte) []byte {
	body := data[:len(data)-checksumSize]
	sum := sha256.Sum256(body)
	return append(append([]byte(nil), body...), sum[:]...)
}

// roundTrip writes f with Write and reads it back with Read.
func roundTrip(t *testing.T, f *File) *File {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f); err != nil {
		t.Fatal(err)
	}
	g, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRoundTrip(t *testing.T) {
	f := testFile(1, 40, 16, 8)
	if g := roundTrip(t, f); !reflect.DeepEqual(f, g) {
		t.Fatalf("round trip changed the file:\n got %+v\nwant %+v", g.Meta, f.Meta)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bsm")
	f := testFile(2, 10, 4)
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Fatal("round trip through WriteFile/ReadFile changed the file")
	}
	// A failed write leaves the old file in place and no temporary file behind.
	bad := testFile(3, 10, 4)
	bad.Net.Layers[0].W.Data[0] = float32(math.NaN())
	if err := WriteFile(path, bad); err == nil {
		t.Fatal("WriteFile accepted a NaN weight")
	}
	if g, err := ReadFile(path); err != nil || !reflect.DeepEqual(f, g) {
		t.Fatalf("failed write damaged the old file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed write, want 1", len(entries))
	}
}

func TestWriteZeroVersion(t *testing.T) {
	f := testFile(4, 5, 3)
	f.FormatVersion = 0
	if g := roundTrip(t, f); g.FormatVersion != FormatVersion || f.FormatVersion != 0 {
		t.Fatalf("format version: read %d (want %d), caller's now %d (want 0)", g.FormatVersion, FormatVersion, f.FormatVersion)
	}
}

func TestReadRefuses(t *testing.T) {
	good := encodeBytes(t, testFile(5, 20, 8))
	mod := func(edit func(f *File)) []byte {
		f := testFile(5, 20, 8)
		edit(f)
		return encodeBytes(t, f)
	}
	hash := features.DefinitionHash()
	cases := []struct {
		name    string
		data    []byte
		want    string
		corrupt bool
	}{
		{"empty", nil, "bad magic", true},
		{"magic", append([]byte("XSIEVEMF"), good[8:]...), "bad magic", true},
		{"short", good[:20], "truncated", true},
		{"truncated", good[:len(good)-100], "checksum mismatch", true},
		{"truncated checksum", good[:len(good)-1], "checksum mismatch", true},
		{"flipped bit", func() []byte { d := bytes.Clone(good); d[len(d)/2] ^= 4; return d }(), "checksum mismatch", true},
		{"trailing bytes", append(bytes.Clone(good), 0), "checksum mismatch", true},
		{"version", func() []byte { d := bytes.Clone(good); d[8] = 2; return resum(d) }(), "format version 2", false},
		{"header version", func() []byte {
			d := mod(func(f *File) { f.FormatVersion = 7 })
			d[8] = 1
			return resum(d)
		}(), "header says format version 7", false},
		{"spec hash", mod(func(f *File) { f.SpecHash = "abc" }),
			"feature-spec hash abc is not implemented by this build (want " + hash + ")", false},
		{"spec invalid", mod(func(f *File) { f.Spec.Features[17].Std = 0 }), "standard deviation", false},
		{"spec version", mod(func(f *File) { f.Spec.Version = 99 }), "feature spec version 99", false},
		{"embedding rows", mod(func(f *File) {
			e := &f.Net.Embeddings[3]
			e.Rows++
			e.Data = append(e.Data, make([]float32, e.Cols)...)
		}), "the spec wants", false},
		{"embedding cols", mod(func(f *File) {
			e := &f.Net.Embeddings[0]
			e.Cols++
			e.Data = make([]float32, e.Rows*e.Cols)
		}), "the spec wants", false},
		{"missing embedding", mod(func(f *File) { f.Net.Embeddings = f.Net.Embeddings[1:] }), "embedding tables", false},
		{"first layer width", mod(func(f *File) {
			l := &f.Net.Layers[0]
			l.W.Rows--
			l.W.Data = l.W.Data[:l.W.Rows*l.W.Cols]
		}), "layer 0 has", false},
		{"chained width", mod(func(f *File) {
			l := &f.Net.Layers[1]
			l.W.Rows++
			l.W.Data = append(l.W.Data, 0, 0)
		}), "layer 1 has", false},
		{"three outputs", mod(func(f *File) {
			l := &f.Net.Layers[1]
			l.W = Matrix{Rows: l.W.Rows, Cols: 3, Data: make([]float32, l.W.Rows*3)}
			l.B = []float32{0, 0, 0}
		}), "want 2", false},
		{"no layers", mod(func(f *File) { f.Net.Layers = nil }), "0 dense layers", false},
		{"NaN weight", mod(func(f *File) { f.Net.Layers[1].W.Data[3] = float32(math.NaN()) }), "layer 1: weight 3 is NaN", false},
		{"Inf bias", mod(func(f *File) { f.Net.Layers[0].B[1] = float32(math.Inf(-1)) }), "layer 0: bias 1 is -Inf", false},
		{"Inf embedding", mod(func(f *File) { f.Net.Embeddings[9].Data[0] = float32(math.Inf(1)) }), `embedding of "publisher": value 0 is +Inf`, false},
		{"duplicate DSP", mod(func(f *File) { f.DSPs[1].Name = "alpha" }), `DSP "alpha" calibrated twice`, false},
		{"weights short", func() []byte {
			d := good[:len(good)-checksumSize-4]
			return resum(append(bytes.Clone(d), make([]byte, checksumSize)...))
		}(), "weight bytes", true},
		{"header size", func() []byte {
			d := bytes.Clone(good)
			d[12], d[13], d[14], d[15] = 0xff, 0xff, 0xff, 0x7f
			return resum(d)
		}(), "runs past the end", true},
		{"header json", func() []byte { d := bytes.Clone(good); d[prefixSize] = '['; return resum(d) }(), "header", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(c.data))
			if err == nil {
				t.Fatalf("Read accepted the file: %+v", f.Meta)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			if got := errors.Is(err, ErrCorrupt); got != c.corrupt {
				t.Fatalf("errors.Is(err, ErrCorrupt) = %v, want %v (%v)", got, c.corrupt, err)
			}
		})
	}
}

func TestWriteRefusesInvalid(t *testing.T) {
	f := testFile(6, 10, 4)
	f.SpecHash = "nope"
	if err := Write(&bytes.Buffer{}, f); err == nil || !strings.Contains(err.Error(), "feature-spec hash nope") {
		t.Fatalf("Write: %v, want a spec hash error", err)
	}
	f = testFile(6, 10, 4)
	f.DSPs[0].LogitOffset = math.NaN()
	if err := Write(&bytes.Buffer{}, f); err == nil || !strings.Contains(err.Error(), "logit offset") {
		t.Fatalf("Write: %v, want a logit offset error", err)
	}
	f = testFile(6, 10, 4)
	f.Meta.Metrics["auc"] = math.NaN()
	if err := Write(&bytes.Buffer{}, f); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("Write: %v, want an encoding error naming NaN", err)
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "none.bsm"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file: %v", err)
	}
}

// FuzzRead feeds Read arbitrary bytes, and the same bytes with a valid checksum appended so
// that the fuzzer reaches the header and tensor parsing. Read must never panic, and a file
// it accepts must pass Validate and encode back to the same bytes.
func FuzzRead(f *testing.F) {
	good := encodeBytes(f, testFile(7, 2, 2))
	f.Add(good)
	f.Add(good[:len(good)-checksumSize])
	f.Add(good[:prefixSize+10])
	f.Add([]byte("BSIEVEMF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(data []byte) {
			file, err := Read(bytes.NewReader(data))
			if err != nil {
				return
			}
			if err := file.Validate(); err != nil {
				t.Fatalf("Read accepted a file that Validate refuses: %v", err)
			}
			var b bytes.Buffer
			if err := Write(&b, file); err != nil {
				t.Fatalf("Write refused a file Read accepted: %v", err)
			}
			if _, err := Read(&b); err != nil {
				t.Fatalf("re-read: %v", err)
			}
		}
		check(data)
		sum := sha256.Sum256(data)
		check(append(bytes.Clone(data), sum[:]...))
	})
}
