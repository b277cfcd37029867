package modelfile

// The encoding of a model file (format version 1), all integers little-endian:
//
//	magic        8 bytes  "BSIEVEMF"
//	version      uint32   FormatVersion
//	header size  uint32   n
//	header       n bytes  JSON: {"file": File without Net, "embeddings": [[rows, cols], ...],
//	                              "layers": [[in, out], ...]}
//	tensors      float32  every embedding table (row-major), then per layer W (row-major,
//	                      In x Out) and B (Out), in order
//	checksum     32 bytes SHA-256 of everything before it
//
// Everything but the weights lives in the JSON header, so fields added to File, DSP or
// Metadata need no change here (readers ignore fields they do not know).

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/bidsieve/bidsieve/features"
)

// MaxFileSize is the largest model file Read accepts, in bytes.
const MaxFileSize = 1<<31 - 1

// maxLayers bounds the number of dense layers a file may declare.
const maxLayers = 64

var magic = [8]byte{'B', 'S', 'I', 'E', 'V', 'E', 'M', 'F'}

const (
	prefixSize   = len(magic) + 4 + 4 // magic, version, header size
	checksumSize = sha256.Size
)

// ErrCorrupt is wrapped by every error Read returns for a file that is not a well-formed
// model file (truncated, bad checksum, bad magic, malformed header or tensors).
var ErrCorrupt = errors.New("corrupt model file")

type header struct {
	File       *File    `json:"file"`
	Embeddings [][2]int `json:"embeddings"` // rows, cols of each table
	Layers     [][2]int `json:"layers"`     // in, out of each dense layer
}

// Write encodes f (see the layout above). It checks f first with Validate, so that a file
// Write produces is one Read accepts. A zero f.FormatVersion is written as FormatVersion.
func Write(w io.Writer, f *File) error {
	g := *f
	if g.FormatVersion == 0 {
		g.FormatVersion = FormatVersion
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	return encode(w, &g)
}

// encode writes f without checking it (tests use it to build bad files).
func encode(w io.Writer, f *File) error {
	h := header{File: f}
	for _, e := range f.Net.Embeddings {
		h.Embeddings = append(h.Embeddings, [2]int{e.Rows, e.Cols})
	}
	for _, l := range f.Net.Layers {
		h.Layers = append(h.Layers, [2]int{l.W.Rows, l.W.Cols})
	}
	js, err := json.Marshal(&h)
	if err != nil {
		return fmt.Errorf("write model file: encode header (spec, DSP calibration and metadata must be JSON-encodable: no NaN or Inf): %w", err)
	}
	if uint64(len(js)) > math.MaxUint32 {
		return fmt.Errorf("write model file: header of %d bytes is too large", len(js))
	}

	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<16)
	var pre [prefixSize]byte
	copy(pre[:], magic[:])
	version := f.FormatVersion
	if version == 0 {
		version = FormatVersion
	}
	binary.LittleEndian.PutUint32(pre[8:], uint32(version))
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(js)))
	// bufio.Writer's errors are sticky: checked once, at Flush.
	_, _ = bw.Write(pre[:])
	_, _ = bw.Write(js)
	var buf [4096]byte
	put := func(xs []float32) {
		for len(xs) > 0 {
			n := min(len(xs), len(buf)/4)
			for i, x := range xs[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
			}
			_, _ = bw.Write(buf[:4*n])
			xs = xs[n:]
		}
	}
	for _, e := range f.Net.Embeddings {
		put(e.Data)
	}
	for _, l := range f.Net.Layers {
		put(l.W.Data)
		put(l.B)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	if _, err := w.Write(sum.Sum(nil)); err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	return nil
}

// WriteFile writes f to path atomically: to a temporary file in the same directory, synced,
// then renamed over path. Readers see the old file or the new one, never a partial one.
func WriteFile(path string, f *File) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	defer func() {
		if err != nil { // the write's error is the one to report
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = Write(tmp, f); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write model file: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable; best effort
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Read decodes a model file and checks it completely (see Validate): a file it returns
// can be served. It reads at most MaxFileSize bytes and allocates in proportion to the
// bytes actually read, whatever the file claims.
func Read(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read model file: larger than %d bytes", MaxFileSize)
	}
	return decode(data)
}

// ReadFile reads and checks the model file at path (see Read).
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	defer fh.Close() //nolint:errcheck // read-only: nothing to lose
	f, err := Read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("read model file: %w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func decode(data []byte) (*File, error) {
	if len(data) < len(magic) || !bytes.Equal(data[:len(magic)], magic[:]) {
		return nil, corrupt("not a bidsieve model file (bad magic bytes)")
	}
	if len(data) < prefixSize+checksumSize {
		return nil, corrupt("truncated (%d bytes)", len(data))
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != FormatVersion {
		return nil, fmt.Errorf("read model file: format version %d: this build reads version %d", v, FormatVersion)
	}
	body, want := data[:len(data)-checksumSize], data[len(data)-checksumSize:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, corrupt("checksum mismatch: the file is truncated or damaged")
	}

	n := uint64(binary.LittleEndian.Uint32(data[12:]))
	rest := body[prefixSize:]
	if n > uint64(len(rest)) {
		return nil, corrupt("header of %d bytes runs past the end of the file", n)
	}
	var h header
	if err := json.Unmarshal(rest[:n], &h); err != nil {
		return nil, corrupt("header: %v", err)
	}
	if h.File == nil {
		return nil, corrupt("header has no file description")
	}
	f := h.File
	if f.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("read model file: header says format version %d: this build reads version %d", f.FormatVersion, FormatVersion)
	}
	// Check the spec and the shapes before allocating any tensor.
	if err := f.checkSpec(); err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	if err := checkShapes(&f.Spec, h.Embeddings, h.Layers); err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	rest = rest[n:]
	total := uint64(0)
	for _, s := range h.Embeddings {
		total += uint64(s[0]) * uint64(s[1])
	}
	for _, s := range h.Layers {
		total += uint64(s[0])*uint64(s[1]) + uint64(s[1])
	}
	if total*4 != uint64(len(rest)) {
		return nil, corrupt("the shapes need %d weight bytes, the file has %d", total*4, len(rest))
	}
	take := func(count int) []float32 {
		xs := make([]float32, count)
		for i := range xs {
			xs[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
		}
		rest = rest[4*count:]
		return xs
	}
	f.Net.Embeddings = make([]Matrix, len(h.Embeddings))
	for i, s := range h.Embeddings {
		f.Net.Embeddings[i] = Matrix{Rows: s[0], Cols: s[1], Data: take(s[0] * s[1])}
	}
	f.Net.Layers = make([]Dense, len(h.Layers))
	for i, s := range h.Layers {
		f.Net.Layers[i] = Dense{W: Matrix{Rows: s[0], Cols: s[1], Data: take(s[0] * s[1])}, B: take(s[1])}
	}
	if err := f.checkWeights(); err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	if err := f.checkDSPs(); err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	return f, nil
}

// Validate checks that f can be served by this build: the format version, the feature spec
// (features.Spec.Validate) and its hash (features.DefinitionHash), the network's shapes
// against the spec (an embedding of Cardinality x EmbDim per categorical feature, a first
// layer of Spec.InputWidth() inputs, chained widths, 2 outputs), finite weights and finite
// calibration figures. Read applies it to every file; Write to every file before writing.
func (f *File) Validate() error {
	if f.FormatVersion != FormatVersion {
		return fmt.Errorf("format version %d: this build reads version %d", f.FormatVersion, FormatVersion)
	}
	if err := f.checkSpec(); err != nil {
		return err
	}
	var emb, lay [][2]int
	for i, e := range f.Net.Embeddings {
		if len(e.Data) != e.Rows*e.Cols || e.Rows < 0 || e.Cols < 0 {
			return fmt.Errorf("embedding %d: %d values for %d x %d", i, len(e.Data), e.Rows, e.Cols)
		}
		emb = append(emb, [2]int{e.Rows, e.Cols})
	}
	for i, l := range f.Net.Layers {
		if len(l.W.Data) != l.W.Rows*l.W.Cols || l.W.Rows < 0 || l.W.Cols < 0 {
			return fmt.Errorf("layer %d: %d weights for %d x %d", i, len(l.W.Data), l.W.Rows, l.W.Cols)
		}
		if len(l.B) != l.W.Cols {
			return fmt.Errorf("layer %d: %d biases for %d outputs", i, len(l.B), l.W.Cols)
		}
		lay = append(lay, [2]int{l.W.Rows, l.W.Cols})
	}
	if err := checkShapes(&f.Spec, emb, lay); err != nil {
		return err
	}
	if err := f.checkWeights(); err != nil {
		return err
	}
	return f.checkDSPs()
}

func (f *File) checkSpec() error {
	if want := features.DefinitionHash(); f.SpecHash != want {
		return fmt.Errorf("feature-spec hash %s is not implemented by this build (want %s)", f.SpecHash, want)
	}
	if err := f.Spec.Validate(); err != nil {
		return fmt.Errorf("feature spec: %w", err)
	}
	if got := f.Spec.Hash(); got != f.SpecHash {
		return fmt.Errorf("feature spec hashes to %s, the file says %s", got, f.SpecHash)
	}
	return nil
}

// checkShapes checks the tensor shapes against a valid spec. It bounds every dimension so
// that the sizes computed from them cannot overflow.
func checkShapes(s *features.Spec, emb, layers [][2]int) error {
	const maxDim = 1 << 28
	nc := features.NumCategorical()
	if len(emb) != nc {
		return fmt.Errorf("%d embedding tables, the spec has %d categorical features", len(emb), nc)
	}
	for i := 0; i < nc; i++ {
		ft := &s.Features[i]
		if emb[i][0] != ft.Cardinality() || emb[i][1] != ft.EmbDim {
			return fmt.Errorf("embedding of %q is %d x %d, the spec wants %d x %d (cardinality x embedding size)",
				ft.Name, emb[i][0], emb[i][1], ft.Cardinality(), ft.EmbDim)
		}
		if ft.EmbDim > maxDim || ft.Cardinality() > maxDim {
			return fmt.Errorf("embedding of %q: %d x %d is too large", ft.Name, emb[i][0], emb[i][1])
		}
	}
	if len(layers) == 0 || len(layers) > maxLayers {
		return fmt.Errorf("%d dense layers, want 1 to %d", len(layers), maxLayers)
	}
	in := s.InputWidth()
	for i, l := range layers {
		if l[0] != in {
			return fmt.Errorf("layer %d has %d inputs, want %d", i, l[0], in)
		}
		if l[1] <= 0 || l[1] > maxDim || uint64(l[0])*uint64(l[1]) > maxDim {
			return fmt.Errorf("layer %d: %d x %d is not a valid size", i, l[0], l[1])
		}
		in = l[1]
	}
	if in != 2 {
		return fmt.Errorf("the last layer has %d outputs, want 2 (no-bid, bid)", in)
	}
	return nil
}

func (f *File) checkWeights() error {
	bad := func(xs []float32) int {
		for i, x := range xs {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return i
			}
		}
		return -1
	}
	for i, e := range f.Net.Embeddings {
		if j := bad(e.Data); j >= 0 {
			return fmt.Errorf("embedding of %q: value %d is %v", f.Spec.Features[i].Name, j, e.Data[j])
		}
	}
	for i, l := range f.Net.Layers {
		if j := bad(l.W.Data); j >= 0 {
			return fmt.Errorf("layer %d: weight %d is %v", i, j, l.W.Data[j])
		}
		if j := bad(l.B); j >= 0 {
			return fmt.Errorf("layer %d: bias %d is %v", i, j, l.B[j])
		}
	}
	return nil
}

func (f *File) checkDSPs() error {
	seen := make(map[string]bool, len(f.DSPs))
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	for _, d := range f.DSPs {
		if seen[d.Name] {
			return fmt.Errorf("DSP %q calibrated twice", d.Name)
		}
		seen[d.Name] = true
		if !finite(d.LogitOffset) {
			return fmt.Errorf("DSP %q: logit offset %v is not finite", d.Name, d.LogitOffset)
		}
		if !finite(d.Threshold) {
			return fmt.Errorf("DSP %q: threshold %v is not finite", d.Name, d.Threshold)
		}
	}
	return nil
}
