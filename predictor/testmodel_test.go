package predictor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/bidsieve/bidsieve/features"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor/serving/servingtest"
)

// realisticVocab is the vocabulary size of each categorical feature (CategoricalNames
// order) of the benchmark model: about 20 features, 5,000 publishers and 5,000 domains.
var realisticVocab = []int{20, 200, 500, 6, 6, 8, 8, 4, 5000, 5000, 30, 8, 8, 2, 24, 7}

// smallVocab keeps tests quick; publisher and domain are large enough (relative to the
// table budget of small hidden layers) to take the gathered path.
var smallVocab = []int{7, 5, 9, 3, 3, 4, 4, 2, 300, 400, 6, 4, 4, 2, 24, 7}

// vocabToken is the token of value j of categorical feature f.
func vocabToken(f, j int) string {
	switch features.CategoricalNames[f] {
	case "user_id":
		return strconv.FormatBool(j == 1)
	case "hour_utc", "day_of_week":
		return strconv.Itoa(j)
	}
	return fmt.Sprintf("%s-%d", features.CategoricalNames[f], j)
}

// testFile builds a valid model file with random weights (He initialisation).
// calibrated DSPs dsp-0 .. dsp-(calibrated-1) get random logit offsets.
func testFile(seed uint64, vocab []int, hidden []int, calibrated int) *modelfile.File {
	rng := rand.New(rand.NewPCG(seed, 42))
	spec := features.Spec{Version: features.SpecVersion}
	for f, name := range features.CategoricalNames {
		ft := features.Feature{Name: name, Kind: features.Categorical}
		for j := 0; j < vocab[f]; j++ {
			ft.Vocab = append(ft.Vocab, vocabToken(f, j))
		}
		ft.EmbDim = features.DefaultEmbDim(ft.Cardinality())
		spec.Features = append(spec.Features, ft)
	}
	for _, name := range features.ContinuousNames {
		spec.Features = append(spec.Features, features.Feature{Name: name, Kind: features.Continuous,
			Mean: rng.Float64() * 3, Std: 0.5 + rng.Float64()*100})
	}
	f := &modelfile.File{FormatVersion: modelfile.FormatVersion, Spec: spec, SpecHash: spec.Hash(),
		Net: servingtest.Network(rng, &spec, hidden)}
	for d := 0; d < calibrated; d++ {
		f.DSPs = append(f.DSPs, modelfile.DSP{Name: vocabToken(0, d), LogitOffset: math.Log(0.05 + 0.9*rng.Float64()), OK: true})
	}
	f.Meta = modelfile.Metadata{Version: fmt.Sprintf("test-%d", seed), CreatedAt: time.Unix(0, 0).UTC(), Hidden: hidden, NegativeRate: 0.2}
	return f
}

// randomRaw draws the features of an imp: mostly known values, some unknown ones.
func randomRaw(rng *rand.Rand, vocab []int) features.Raw {
	pick := func(f int) string {
		j := rng.IntN(vocab[f] + 1)
		if j == vocab[f] {
			return "unknown-value"
		}
		return vocabToken(f, j)
	}
	return features.Raw{
		Country: pick(1), Region: pick(2), DeviceType: pick(3), OS: pick(4), Browser: pick(5),
		Connection: pick(6), Channel: pick(7), Domain: pick(8), Publisher: pick(9),
		Category: pick(10), Format: pick(11), Position: pick(12),
		UserID:   rng.IntN(2) == 1,
		FloorCPM: math.Exp(rng.NormFloat64()) * 0.4,
		HourUTC:  int32(rng.IntN(24)), DayOfWeek: int32(rng.IntN(7)),
		ImpCount: int32(1 + rng.IntN(3)), TMaxMS: int32(100 + rng.IntN(400)),
	}
}
