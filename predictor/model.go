package predictor

import (
	"fmt"
	"math"
	"sync"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/gemm"
	"github.com/bidsieve/bidsieve/modelfile"
)

// maxTableFloats bounds the precomputed layer-1 table of one categorical feature
// (cardinality x width of layer 1: 32 MiB, a vocabulary of 8,388 values with the 1000-wide
// layer). Features with larger tables are multiplied through the first layer's weights
// per imp instead, which reads all their rows of W1 (for two 50-wide embeddings, 400 KB)
// where a table reads one row (4 KB): on a busy gateway, where the weights have left the
// caches between two auctions, that read was a fifth of scoring's time. The default
// model's 5,001-value domain and publisher tables take 20 MB each. A variable for tests.
var maxTableFloats = 1 << 23

// Model is a loaded model: the encoder, the weights prepared for fast scoring and the
// per-DSP calibration. It is immutable and safe for concurrent use.
type Model struct {
	file *modelfile.File
	enc  *features.Encoder

	h1 int       // width of the first layer's output
	b1 []float32 // its bias
	// tables[f] (categorical feature f) is nil, or Cardinality x h1: row v is embedding row
	// v times the feature's rows of W1. tables[0], the DSP, is always present.
	tables [][]float32
	// The inputs without a table (large-vocabulary embeddings, then the continuous
	// values) are gathered into one vector of nx values and multiplied by wg, their rows
	// of W1 (nx x h1).
	gathered []gatherFeat
	nx       int
	wg       []float32
	layers   []layer // every layer after the first

	dsps   []dspCal
	byName map[string]int32

	pool sync.Pool // of *Scratch
}

type gatherFeat struct {
	feat int // categorical feature
	off  int // offset in the gathered vector
}

type layer struct {
	in, out int
	w       *gemm.Packed
	b       []float32
}

type dspCal struct {
	name   string
	vocab  int32   // the DSP's index in the spec's DSP vocabulary (0: out of vocabulary)
	offset float64 // logit offset (calibration)
}

// Load reads, checks and prepares the model file at path.
func Load(path string) (*Model, error) {
	f, err := modelfile.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return New(f)
}

// New prepares f for scoring. It checks f completely (modelfile.File.Validate) and does
// not modify it; the Model keeps f, which the caller must not modify afterwards.
func New(f *modelfile.File) (*Model, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	enc, err := features.NewEncoder(&f.Spec)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m := &Model{file: f, enc: enc}
	net := &f.Net
	l1 := &net.Layers[0]
	m.h1 = l1.W.Cols
	m.b1 = l1.B
	nc := features.NumCategorical()

	// Layer 1: a table per small categorical feature, the rest gathered.
	m.tables = make([][]float32, nc)
	var rows []int // rows of W1 of the gathered inputs, in order
	off := 0
	for i := 0; i < nc; i++ {
		e := &net.Embeddings[i]
		if i == 0 || e.Rows*m.h1 <= maxTableFloats {
			t := make([]float32, e.Rows*m.h1)
			gemm.Sgemm(false, false, e.Rows, m.h1, e.Cols, 1, e.Data, e.Cols,
				l1.W.Data[off*m.h1:], m.h1, 0, t, m.h1)
			m.tables[i] = t
		} else {
			m.gathered = append(m.gathered, gatherFeat{feat: i, off: len(rows)})
			for j := 0; j < e.Cols; j++ {
				rows = append(rows, off+j)
			}
		}
		off += e.Cols
	}
	for j := 0; j < features.NumContinuous(); j++ {
		rows = append(rows, off+j)
	}
	m.nx = len(rows)
	m.wg = make([]float32, len(rows)*m.h1)
	for i, r := range rows {
		copy(m.wg[i*m.h1:(i+1)*m.h1], l1.W.Data[r*m.h1:(r+1)*m.h1])
	}

	// The later layers' weights are packed for the matrix kernel; those that are all
	// bfloat16 numbers (training rounds the hidden layers' weights so) are stored as
	// bfloat16, which halves what each product reads from memory and changes no result.
	for _, l := range net.Layers[1:] {
		w, ok := gemm.PackBF16(false, l.W.Rows, l.W.Cols, l.W.Data, l.W.Cols)
		if !ok {
			w = gemm.Pack(false, l.W.Rows, l.W.Cols, l.W.Data, l.W.Cols)
		}
		m.layers = append(m.layers, layer{in: l.W.Rows, out: l.W.Cols, w: w, b: l.B})
	}

	// DSPs: the calibrated ones, then those of the vocabulary without calibration, which
	// get the default no-bid keep rate's offset.
	m.byName = make(map[string]int32)
	add := func(name string, offset float64) {
		m.byName[name] = int32(len(m.dsps))
		m.dsps = append(m.dsps, dspCal{name: name, vocab: enc.DSPIndex(name), offset: offset})
	}
	for _, d := range f.DSPs {
		add(d.Name, d.LogitOffset)
	}
	def := 0.0
	if r := f.Meta.NegativeRate; r > 0 && r <= 1 {
		def = math.Log(r)
	}
	for _, name := range f.Spec.Features[0].Vocab {
		if _, ok := m.byName[name]; !ok {
			add(name, def)
		}
	}
	m.pool.New = func() any { return new(Scratch) }
	return m, nil
}

// File returns the model file: calibration, curves, thresholds and metadata. It must not
// be modified.
func (m *Model) File() *modelfile.File { return m.file }

// Encoder returns the feature encoder of the model's spec.
func (m *Model) Encoder() *features.Encoder { return m.enc }

// Version is the model version (modelfile.Metadata.Version).
func (m *Model) Version() string { return m.file.Meta.Version }

// DSPID returns the id under which Score knows the named DSP, and whether the model knows
// it (it was calibrated, or is in the model's DSP vocabulary). Ids are valid for this
// Model only: resolve them again after a reload.
func (m *Model) DSPID(name string) (int32, bool) {
	id, ok := m.byName[name]
	return id, ok
}

// BF16Layers is the number of layers whose weights are stored as bfloat16 (see
// gemm.PackBF16): the hidden layers after the first of a model from bidsieve train.
func (m *Model) BF16Layers() int {
	n := 0
	for _, l := range m.layers {
		if l.w.BF16() {
			n++
		}
	}
	return n
}

// NumDSPs is the number of DSP ids: they run from 0 to NumDSPs()-1.
func (m *Model) NumDSPs() int { return len(m.dsps) }

// DSPName is the name of the DSP with the given id.
func (m *Model) DSPName(id int32) string { return m.dsps[id].name }
