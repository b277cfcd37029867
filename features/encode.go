package features

import (
	"fmt"
	"math"
	"strconv"
)

// Encoder turns raw features into model inputs for one Spec. It is immutable after
// NewEncoder and safe for concurrent use; Encode does not allocate.
type Encoder struct {
	spec  *Spec
	index []map[string]int32 // per categorical feature: value -> index (0 = out of vocabulary)
	// Precomputed indices for the integer and boolean features, so that Encode needs no
	// string conversion.
	hour    [24]int32
	day     [7]int32
	userID  [2]int32 // false, true
	mean    [3]float32
	invStd  [3]float32
	dspFeat map[string]int32
}

// Positions of the categorical features in CategoricalNames.
const (
	catDSP = iota
	catCountry
	catRegion
	catDeviceType
	catOS
	catBrowser
	catConnection
	catChannel
	catDomain
	catPublisher
	catCategory
	catFormat
	catPosition
	catUserID
	catHour
	catDay
)

// NewEncoder builds the lookup tables of s. It fails when s is not valid for this build.
func NewEncoder(s *Spec) (*Encoder, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	e := &Encoder{spec: s}
	nc := len(CategoricalNames)
	e.index = make([]map[string]int32, nc)
	for i := 0; i < nc; i++ {
		f := &s.Features[i]
		m := make(map[string]int32, len(f.Vocab))
		for j, v := range f.Vocab {
			m[v] = int32(j + 1)
		}
		e.index[i] = m
	}
	for h := 0; h < 24; h++ {
		e.hour[h] = e.index[catHour][strconv.Itoa(h)]
	}
	for d := 0; d < 7; d++ {
		e.day[d] = e.index[catDay][strconv.Itoa(d)]
	}
	e.userID[0] = e.index[catUserID]["false"]
	e.userID[1] = e.index[catUserID]["true"]
	for j := range ContinuousNames {
		f := &s.Features[nc+j]
		e.mean[j] = float32(f.Mean)
		e.invStd[j] = float32(1 / f.Std)
	}
	e.dspFeat = e.index[catDSP]
	return e, nil
}

// Spec returns the spec the encoder was built from.
func (e *Encoder) Spec() *Spec { return e.spec }

// DSPIndex is the vocabulary index of a DSP (0 when the model has not seen it).
func (e *Encoder) DSPIndex(dsp string) int32 { return e.dspFeat[dsp] }

// Encode writes the inputs of one (imp, DSP) pair: the vocabulary index of every
// categorical feature into cats (length NumCategorical()) and the normalised continuous
// values into conts (length NumContinuous()).
func (e *Encoder) Encode(r *Raw, dsp string, cats []int32, conts []float32) {
	e.EncodeShared(r, cats, conts)
	cats[catDSP] = e.dspFeat[dsp]
}

// EncodeShared is Encode without the DSP: it leaves cats[0] (the DSP) untouched. Serving
// encodes an imp once and sets cats[0] per DSP.
func (e *Encoder) EncodeShared(r *Raw, cats []int32, conts []float32) {
	_ = cats[catDay]
	_ = conts[2]
	cats[catCountry] = e.index[catCountry][r.Country]
	cats[catRegion] = e.index[catRegion][r.Region]
	cats[catDeviceType] = e.index[catDeviceType][r.DeviceType]
	cats[catOS] = e.index[catOS][r.OS]
	cats[catBrowser] = e.index[catBrowser][r.Browser]
	cats[catConnection] = e.index[catConnection][r.Connection]
	cats[catChannel] = e.index[catChannel][r.Channel]
	cats[catDomain] = e.index[catDomain][r.Domain]
	cats[catPublisher] = e.index[catPublisher][r.Publisher]
	cats[catCategory] = e.index[catCategory][r.Category]
	cats[catFormat] = e.index[catFormat][r.Format]
	cats[catPosition] = e.index[catPosition][r.Position]
	if r.UserID {
		cats[catUserID] = e.userID[1]
	} else {
		cats[catUserID] = e.userID[0]
	}
	cats[catHour] = 0
	if r.HourUTC >= 0 && r.HourUTC < 24 {
		cats[catHour] = e.hour[r.HourUTC]
	}
	cats[catDay] = 0
	if r.DayOfWeek >= 0 && r.DayOfWeek < 7 {
		cats[catDay] = e.day[r.DayOfWeek]
	}
	x := ContinuousValues(r)
	for j := range x {
		conts[j] = (float32(x[j]) - e.mean[j]) * e.invStd[j]
	}
}

// ContinuousValues returns the transformed (not yet normalised) continuous inputs of r in
// ContinuousNames order.
func ContinuousValues(r *Raw) [3]float64 {
	floor := r.FloorCPM
	if !(floor > 0) || math.IsInf(floor, 0) {
		floor = 0
	}
	return [3]float64{math.Log1p(floor), float64(r.ImpCount), float64(r.TMaxMS)}
}

// CategoricalValues returns the vocabulary tokens of r's categorical features (the DSP
// included) in CategoricalNames order. Training uses it to build vocabularies; it allocates.
func CategoricalValues(r *Raw, dsp string) []string {
	return []string{
		dsp, r.Country, r.Region, r.DeviceType, r.OS, r.Browser, r.Connection, r.Channel,
		r.Domain, r.Publisher, r.Category, r.Format, r.Position, strconv.FormatBool(r.UserID),
		strconv.Itoa(r.HourUTC), strconv.Itoa(r.DayOfWeek),
	}
}

// String describes an encoded input for debugging and golden files.
func (e *Encoder) String(cats []int32, conts []float32) string {
	s := ""
	for i, c := range cats {
		v := "<oov>"
		if c > 0 {
			v = e.spec.Features[i].Vocab[c-1]
		}
		s += fmt.Sprintf("%s=%s(%d) ", CategoricalNames[i], v, c)
	}
	for j, x := range conts {
		s += fmt.Sprintf("%s=%.6g ", ContinuousNames[j], x)
	}
	return s
}
