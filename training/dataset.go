package training

// dataset holds encoded rows compactly in memory: per row the categorical indices
// (NumCategorical int32, the DSP first), the normalised continuous values (NumContinuous
// float32), the label and the training weight.
type dataset struct {
	cats   []int32
	conts  []float32
	label  []bool
	weight []float32
}

func (d *dataset) len() int { return len(d.label) }

func (d *dataset) add(cats []int32, conts []float32, label bool, weight float32) {
	d.cats = append(d.cats, cats...)
	d.conts = append(d.conts, conts...)
	d.label = append(d.label, label)
	d.weight = append(d.weight, weight)
}

// bytes is the memory the rows take.
func (d *dataset) bytes() int64 {
	return int64(cap(d.cats))*4 + int64(cap(d.conts))*4 + int64(cap(d.label)) + int64(cap(d.weight))*4
}
