package features

import (
	"fmt"
	"math"
	"sort"
)

// DefaultMinCount is the smallest weighted number of rows in which a categorical value must
// appear in the training window to get an embedding of its own; rarer values share the
// out-of-vocabulary bucket, whose embedding is then learnt from all of them together.
const DefaultMinCount = 20

// BuildOptions tunes SpecBuilder.Build. The zero value gives the defaults.
type BuildOptions struct {
	// MinCount: values seen in fewer (weighted) rows go to the out-of-vocabulary bucket.
	// DefaultMinCount when 0. The DSP feature ignores it: every DSP seen gets its own entry.
	MinCount float64
	// MaxVocab caps every vocabulary (the most frequent values win); 0 means no cap.
	MaxVocab int
	// EmbDims sets the embedding size of the named categorical features; the others get
	// DefaultEmbDim(cardinality).
	EmbDims map[string]int
}

// SpecBuilder accumulates what a Spec learns from the training window: the value counts
// of every categorical feature and the moments of every continuous one. Add rows, then
// Build. It is not safe for concurrent use; Merge combines builders filled in parallel.
type SpecBuilder struct {
	table  *Table
	counts []map[string]float64 // per categorical input
	// Weighted moments of the transformed continuous values.
	sumW       float64
	sum, sumSq []float64
	shift      []float64 // first value seen, subtracted for numerical stability
	shiftSet   bool
	x          []float64 // scratch: the continuous values of the row being added
	rows       int64
}

// NewSpecBuilder returns an empty builder for the default table.
func NewSpecBuilder() *SpecBuilder { return std.NewSpecBuilder() }

// NewSpecBuilder returns an empty builder for the table's inputs.
func (t *Table) NewSpecBuilder() *SpecBuilder {
	nk := len(t.cont)
	b := &SpecBuilder{
		table:  t,
		counts: make([]map[string]float64, len(t.cat)),
		sum:    make([]float64, nk), sumSq: make([]float64, nk),
		shift: make([]float64, nk), x: make([]float64, nk),
	}
	for i := range b.counts {
		b.counts[i] = make(map[string]float64)
	}
	return b
}

// Rows is the number of rows added.
func (b *SpecBuilder) Rows() int64 { return b.rows }

// Add counts one row (one imp offered to dsp) with the given weight (1 for a sent row,
// 1/propensity for an explored one).
func (b *SpecBuilder) Add(r *Raw, dsp string, weight float64) {
	b.rows++
	defs := b.table.defs
	b.counts[0][dsp] += weight
	for i := 1; i < len(b.counts); i++ {
		in := &defs[i]
		if in.read == readColumnStr { // the common case, without a call
			b.counts[i][in.col.str(r)] += weight
		} else {
			b.counts[i][in.token(r)] += weight
		}
	}
	x := b.x
	for j := range x {
		x[j] = defs[len(b.counts)+j].value(r)
	}
	if !b.shiftSet {
		copy(b.shift, x)
		b.shiftSet = true
	}
	b.sumW += weight
	for j := range x {
		d := x[j] - b.shift[j]
		b.sum[j] += weight * d
		b.sumSq[j] += weight * d * d
	}
}

// Merge adds the counts of o into b.
func (b *SpecBuilder) Merge(o *SpecBuilder) {
	for i, m := range o.counts {
		for v, w := range m {
			b.counts[i][v] += w
		}
	}
	if !o.shiftSet {
		return
	}
	if !b.shiftSet {
		copy(b.shift, o.shift)
		b.shiftSet = true
	}
	// Re-centre o's sums on b's shift: sum (x - s_b) = sum (x - s_o) + W (s_o - s_b).
	for j := range b.sum {
		delta := o.shift[j] - b.shift[j]
		b.sumSq[j] += o.sumSq[j] + 2*delta*o.sum[j] + o.sumW*delta*delta
		b.sum[j] += o.sum[j] + o.sumW*delta
	}
	b.sumW += o.sumW
	b.rows += o.rows
}

// Count is the weighted number of rows in which the named categorical feature took value v.
func (b *SpecBuilder) Count(feature string, v string) float64 {
	if i, ok := b.table.position[feature]; ok && i < len(b.counts) {
		return b.counts[i][v]
	}
	return 0
}

// Build returns the spec: per categorical feature the values seen at least MinCount times,
// most frequent first (ties in lexical order, so that the result does not depend on the
// order of the rows), and per continuous feature the weighted mean and standard deviation
// (a constant input gets Std 1). It fails when no row was added.
func (b *SpecBuilder) Build(opts BuildOptions) (*Spec, error) {
	if b.rows == 0 || !(b.sumW > 0) {
		return nil, fmt.Errorf("build feature spec: no rows")
	}
	minCount := opts.MinCount
	if minCount <= 0 {
		minCount = DefaultMinCount
	}
	for name, d := range opts.EmbDims {
		if !b.table.isCategorical(name) {
			return nil, fmt.Errorf("build feature spec: embedding size for %q: not a categorical feature", name)
		}
		if d <= 0 {
			return nil, fmt.Errorf("build feature spec: embedding size %d for %q must be positive", d, name)
		}
	}
	s := &Spec{Version: SpecVersion}
	for i, name := range b.table.cat {
		type vc struct {
			v string
			c float64
		}
		var vals []vc
		for v, c := range b.counts[i] {
			if i == 0 && c > 0 || c >= minCount { // every DSP seen gets an entry
				vals = append(vals, vc{v, c})
			}
		}
		sort.Slice(vals, func(a, z int) bool {
			if vals[a].c != vals[z].c {
				return vals[a].c > vals[z].c
			}
			return vals[a].v < vals[z].v
		})
		if opts.MaxVocab > 0 && len(vals) > opts.MaxVocab && i != 0 {
			vals = vals[:opts.MaxVocab]
		}
		f := Feature{Name: name, Kind: Categorical, Vocab: make([]string, len(vals))}
		for j, x := range vals {
			f.Vocab[j] = x.v
		}
		f.EmbDim = DefaultEmbDim(f.Cardinality())
		if d, ok := opts.EmbDims[name]; ok {
			f.EmbDim = d
		}
		s.Features = append(s.Features, f)
	}
	for j, name := range b.table.cont {
		mean := b.sum[j] / b.sumW
		variance := b.sumSq[j]/b.sumW - mean*mean
		std := math.Sqrt(math.Max(variance, 0))
		if !(std > 1e-9) || math.IsInf(std, 0) {
			std = 1
		}
		s.Features = append(s.Features, Feature{Name: name, Kind: Continuous, Mean: mean + b.shift[j], Std: std})
	}
	if err := b.table.Validate(s); err != nil {
		return nil, fmt.Errorf("build feature spec: %w", err)
	}
	return s, nil
}
