package features

import "fmt"

// SpecVersion is the version of the feature definitions implemented by this package:
// the inputs of DefaultDefs (names, kinds, transforms, tokens) and the meaning of Extract.
// Bump it whenever any of them changes; the definition hash changes with it and serving
// then refuses model files trained on the old definitions (doc.go says when the hash
// changes by itself).
const SpecVersion = 1

// Kind is the kind of a model input.
type Kind string

// The kinds of model inputs.
const (
	Categorical Kind = "categorical" // looked up in a vocabulary, then embedded
	Continuous  Kind = "continuous"  // transformed, then normalised to zero mean, unit variance
)

// CategoricalNames are the categorical inputs of the default table in model order. "dsp"
// comes first: it is the only input that differs between the DSPs an imp is offered to.
var CategoricalNames = std.CategoricalNames()

// ContinuousNames are the continuous inputs of the default table in model order, after the
// categorical ones. log_floor is ln(1 + floor_cpm); imp_count and tmax_ms are taken as
// they are.
var ContinuousNames = std.ContinuousNames()

// Feature describes one model input in a Spec.
type Feature struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Vocab (categorical): the known values; value Vocab[i] has index i+1, and index 0 is
	// the out-of-vocabulary bucket shared by every value not listed.
	Vocab []string `json:"vocab,omitempty"`
	// EmbDim (categorical): the width of the embedding.
	EmbDim int `json:"emb_dim,omitempty"`
	// Mean and Std (continuous): the input is (transform(x) - Mean) / Std.
	Mean float64 `json:"mean,omitempty"`
	Std  float64 `json:"std,omitempty"`
}

// Cardinality is the number of embedding rows of a categorical feature: its vocabulary
// plus the out-of-vocabulary bucket.
func (f *Feature) Cardinality() int { return len(f.Vocab) + 1 }

// Spec is the feature spec stored in a model file: the definitions (version, names, kinds)
// and what training learnt about the data (vocabularies, embedding sizes, normalisation).
// Features lists the categorical inputs in CategoricalNames order, then the continuous ones
// in ContinuousNames order.
type Spec struct {
	Version  int       `json:"version"`
	Features []Feature `json:"features"`
}

// DefinitionHash identifies the feature definitions this package implements: the version,
// and the names and kinds in order. A model file records the hash of the definitions it was
// trained with; serving refuses a file whose hash differs from DefinitionHash().
func DefinitionHash() string { return std.DefinitionHash() }

// Hash is the definition hash of s (see DefinitionHash). It does not cover the
// vocabularies, which the model file's own checksum protects.
func (s *Spec) Hash() string {
	var cat, cont []string
	for _, f := range s.Features {
		if f.Kind == Categorical {
			cat = append(cat, f.Name)
		} else {
			cont = append(cont, f.Name)
		}
	}
	return definitionHash(s.Version, cat, cont)
}

// NumCategorical and NumContinuous are the lengths of the index and value vectors that
// Encoder.Encode fills.
func NumCategorical() int { return std.NumCategorical() }

// NumContinuous is the number of continuous inputs.
func NumContinuous() int { return std.NumContinuous() }

// InputWidth is the width of the network's input: the embeddings side by side, then the
// continuous values.
func (s *Spec) InputWidth() int {
	w := 0
	for _, f := range s.Features {
		if f.Kind == Categorical {
			w += f.EmbDim
		} else {
			w++
		}
	}
	return w
}

// Validate checks that s is complete and implemented by this package (the default table).
func (s *Spec) Validate() error { return std.Validate(s) }

// Validate checks that s is complete and implements the table's inputs.
func (t *Table) Validate(s *Spec) error {
	if s.Version != SpecVersion {
		return fmt.Errorf("feature spec version %d: this build implements version %d", s.Version, SpecVersion)
	}
	if len(s.Features) != len(t.defs) {
		return fmt.Errorf("feature spec has %d features, want %d", len(s.Features), len(t.defs))
	}
	for i, f := range s.Features {
		d := &t.defs[i]
		if f.Name != d.Name || f.Kind != d.Kind {
			return fmt.Errorf("feature %d: got %s %q, want %s %q", i, f.Kind, f.Name, d.Kind, d.Name)
		}
		switch d.Kind {
		case Categorical:
			if f.EmbDim <= 0 {
				return fmt.Errorf("feature %q: embedding size %d must be positive", f.Name, f.EmbDim)
			}
			seen := make(map[string]struct{}, len(f.Vocab))
			for _, v := range f.Vocab {
				if _, dup := seen[v]; dup {
					return fmt.Errorf("feature %q: value %q twice in the vocabulary", f.Name, v)
				}
				seen[v] = struct{}{}
			}
		default:
			if !(f.Std > 0) {
				return fmt.Errorf("feature %q: standard deviation %v must be positive", f.Name, f.Std)
			}
		}
	}
	return nil
}

// DefaultEmbDim is the embedding size rule of thumb min(50, (cardinality+1)/2).
func DefaultEmbDim(cardinality int) int {
	d := (cardinality + 1) / 2
	if d > 50 {
		d = 50
	}
	if d < 1 {
		d = 1
	}
	return d
}
