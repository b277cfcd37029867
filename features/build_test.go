package features

import (
	"math"
	"strconv"
	"testing"
)

func row(pub string, floor float64, hour int) Raw {
	return Raw{Country: "USA", DeviceType: "phone", OS: "ios", Publisher: pub, Format: "300x250",
		FloorCPM: floor, HourUTC: int32(hour), DayOfWeek: 3, ImpCount: 1, TMaxMS: 200}
}

// Positions of the inputs these tests look at, from the default table.
var (
	catDSP       = inputIndex("dsp")
	catPublisher = inputIndex("publisher")
)

func inputIndex(name string) int {
	for i, d := range DefaultDefs() {
		if d.Name == name {
			return i
		}
	}
	panic("no input " + name)
}

func TestBuildVocabularyMinCountAndOrder(t *testing.T) {
	b := NewSpecBuilder()
	for i := 0; i < 30; i++ {
		r := row("big", 1, i%24)
		b.Add(&r, "alpha", 1)
	}
	for i := 0; i < 10; i++ {
		r := row("mid", 1, 0)
		b.Add(&r, "alpha", 2) // weight 2: counts 20, at the minimum
	}
	r := row("rare", 1, 0)
	b.Add(&r, "rarebidder", 1) // a DSP seen once still gets an entry
	s, err := b.Build(BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Features[catPublisher]
	if got, want := pub.Vocab, []string{"big", "mid"}; !equalStrings(got, want) {
		t.Errorf("publisher vocabulary %v, want %v (rare values go to the OOV bucket)", got, want)
	}
	if pub.Cardinality() != 3 || pub.EmbDim != DefaultEmbDim(3) {
		t.Errorf("publisher cardinality %d, emb %d", pub.Cardinality(), pub.EmbDim)
	}
	if got, want := s.Features[catDSP].Vocab, []string{"alpha", "rarebidder"}; !equalStrings(got, want) {
		t.Errorf("DSP vocabulary %v, want %v", got, want)
	}
	e, err := NewEncoder(s)
	if err != nil {
		t.Fatal(err)
	}
	cats := make([]int32, NumCategorical())
	conts := make([]float32, NumContinuous())
	e.Encode(&r, "alpha", cats, conts)
	if cats[catPublisher] != 0 || cats[catDSP] != 1 {
		t.Errorf("rare publisher index %d (want OOV 0), alpha index %d (want 1)", cats[catPublisher], cats[catDSP])
	}
}

func TestBuildNormalisation(t *testing.T) {
	b := NewSpecBuilder()
	floors := []float64{0, 0.5, 1, 2, 4, 8}
	var sum, sumSq float64
	for _, f := range floors {
		r := row("p", f, 1)
		b.Add(&r, "alpha", 1)
		x := math.Log1p(f)
		sum += x
		sumSq += x * x
	}
	s, err := b.Build(BuildOptions{MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := float64(len(floors))
	mean := sum / n
	std := math.Sqrt(sumSq/n - mean*mean)
	lf := s.Features[NumCategorical()]
	if math.Abs(lf.Mean-mean) > 1e-12 || math.Abs(lf.Std-std) > 1e-12 {
		t.Errorf("log_floor mean %v std %v, want %v %v", lf.Mean, lf.Std, mean, std)
	}
	// tmax is constant in these rows: Std falls back to 1 so that the input is finite.
	if tm := s.Features[NumCategorical()+2]; tm.Std != 1 || tm.Mean != 200 {
		t.Errorf("constant tmax: mean %v std %v, want 200 and 1", tm.Mean, tm.Std)
	}
	e, err := NewEncoder(s)
	if err != nil {
		t.Fatal(err)
	}
	cats := make([]int32, NumCategorical())
	conts := make([]float32, NumContinuous())
	r := row("p", 8, 1)
	e.Encode(&r, "alpha", cats, conts)
	if want := (math.Log1p(8) - mean) / std; math.Abs(float64(conts[0])-want) > 1e-5 {
		t.Errorf("normalised log_floor %v, want %v", conts[0], want)
	}
}

func TestBuildMergeEqualsSequential(t *testing.T) {
	all, a, z := NewSpecBuilder(), NewSpecBuilder(), NewSpecBuilder()
	for i := 0; i < 200; i++ {
		r := row("p"+strconv.Itoa(i%7), float64(i%13)*0.3+100, i%24)
		all.Add(&r, "alpha", 1+float64(i%3))
		if i < 77 {
			a.Add(&r, "alpha", 1+float64(i%3))
		} else {
			z.Add(&r, "alpha", 1+float64(i%3))
		}
	}
	a.Merge(z)
	s1, err1 := all.Build(BuildOptions{MinCount: 5})
	s2, err2 := a.Build(BuildOptions{MinCount: 5})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range s1.Features {
		f1, f2 := s1.Features[i], s2.Features[i]
		if !equalStrings(f1.Vocab, f2.Vocab) || math.Abs(f1.Mean-f2.Mean) > 1e-9 || math.Abs(f1.Std-f2.Std) > 1e-9 {
			t.Errorf("feature %s differs after Merge: %+v vs %+v", f1.Name, f1, f2)
		}
	}
}

func TestBuildOptions(t *testing.T) {
	b := NewSpecBuilder()
	for i := 0; i < 100; i++ {
		r := row("p"+strconv.Itoa(i%10), 1, 0)
		b.Add(&r, "alpha", 1)
	}
	s, err := b.Build(BuildOptions{MinCount: 1, MaxVocab: 3, EmbDims: map[string]int{"publisher": 7}})
	if err != nil {
		t.Fatal(err)
	}
	if f := s.Features[catPublisher]; len(f.Vocab) != 3 || f.EmbDim != 7 {
		t.Errorf("publisher: %d values, emb %d; want 3 and 7", len(f.Vocab), f.EmbDim)
	}
	for _, bad := range []map[string]int{{"log_floor": 3}, {"nosuch": 3}, {"publisher": 0}} {
		if _, err := b.Build(BuildOptions{EmbDims: bad}); err == nil {
			t.Errorf("EmbDims %v accepted", bad)
		}
	}
	if _, err := NewSpecBuilder().Build(BuildOptions{}); err == nil {
		t.Error("empty builder gave a spec")
	}
}

func TestEncodeDoesNotAllocate(t *testing.T) {
	b := NewSpecBuilder()
	r := row("p", 1, 5)
	for i := 0; i < 30; i++ {
		b.Add(&r, "alpha", 1)
	}
	s, err := b.Build(BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := NewEncoder(s)
	cats := make([]int32, NumCategorical())
	conts := make([]float32, NumContinuous())
	if n := testing.AllocsPerRun(100, func() { e.Encode(&r, "alpha", cats, conts) }); n != 0 {
		t.Errorf("Encode allocates %v times", n)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
