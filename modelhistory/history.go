package modelhistory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/modelfile"
)

// Status of an entry.
const (
	StatusPromoted = "promoted" // the challenger passed and was installed as model.path
	StatusRefused  = "refused"  // the challenger failed a check; the champion kept serving
	StatusBaseline = "baseline" // the model in force when retrain first ran, kept for rollback
)

// Verdicts of one DSP.
const (
	VerdictPass  = "pass"  // the champion filters it and the challenger holds recall and withheld traffic
	VerdictFail  = "fail"  // a check failed: Reason says which
	VerdictGain  = "gain"  // the champion does not filter it, the challenger does and holds recall
	VerdictNoted = "noted" // too few held-out bids, or filtered by neither: it decides nothing
)

// Figures are one model's figures for one DSP on the held-out day, rows weighted by
// 1/propensity. Recall and Withheld are realized at the model's threshold for the DSP's
// target (Filtered false: the model has no threshold and the DSP is sent everything).
type Figures struct {
	Filtered    bool     `json:"filtered"`
	Threshold   *float64 `json:"threshold,omitempty"`
	AUC         *float64 `json:"auc"` // null: the model does not know the DSP, or one class is missing
	Recall      float64  `json:"recall"`
	RecallLower float64  `json:"recall_lower"` // 95% lower bound (Wilson, effective bids)
	RecallUpper float64  `json:"recall_upper"`
	Withheld    float64  `json:"withheld"` // share of the DSP's weighted traffic below the threshold
	// WithheldSE is Withheld's standard error from the threshold being set on one day's
	// sample (evaluation.Metrics.WithheldSE).
	WithheldSE float64 `json:"withheld_se"`
	// WithheldAtTarget is the share withheld at the threshold whose recall on the held-out
	// rows is the target (evaluation.Metrics.FSAtTarget): what the model's ranking withholds
	// at the target whatever its calibration. A champion whose own threshold falls short
	// of the target binds the promotion rule with no more than this.
	WithheldAtTarget float64 `json:"withheld_at_target"`
}

// DSPResult is the comparison of the two models on one DSP.
type DSPResult struct {
	DSP        string   `json:"dsp"`
	Target     float64  `json:"target"`
	Rows       int64    `json:"rows"` // labelled held-out rows
	Bids       int64    `json:"bids"`
	Verdict    string   `json:"verdict"`
	Reason     string   `json:"reason,omitempty"`
	Challenger Figures  `json:"challenger"`
	Champion   *Figures `json:"champion"` // null: no champion
}

// Entry is one version in the history: VERSION.json.
type Entry struct {
	Version string    `json:"version"`
	At      time.Time `json:"at"` // when the decision was taken
	Status  string    `json:"status"`
	// Reasons are the failed checks of a refusal, one line per DSP (or for the whole run).
	Reasons  []string `json:"reasons,omitempty"`
	Champion string   `json:"champion,omitempty"` // the version it was compared with
	// The window of the bid log: training days [WindowStart, HeldOutDay), held-out day
	// [HeldOutDay, WindowEnd).
	WindowStart time.Time `json:"window_start"`
	HeldOutDay  time.Time `json:"held_out_day"`
	WindowEnd   time.Time `json:"window_end"`
	TrainRows   int64     `json:"train_rows"`    // the training sample
	HeldOutRows int64     `json:"held_out_rows"` // labelled rows of the held-out day
	Tolerance   float64   `json:"tolerance"`
	// Forced says a fresh challenger was asked for (--force, the FORCE file or a drift
	// report): the champion's withheld shares did not bind. Drifted are the DSPs the
	// gateway's drift report listed, when it was one of the reasons.
	Forced  bool        `json:"forced,omitempty"`
	Drifted []string    `json:"drifted,omitempty"`
	DSPs    []DSPResult `json:"dsps"`
	// HasModel says whether VERSION.bsm is kept (promoted and baseline versions).
	HasModel bool `json:"has_model"`
}

// ErrUnknownVersion is returned for a version without a model file in the history.
var ErrUnknownVersion = errors.New("unknown model version")

// Dir is the history folder of a model path: "history" beside the file.
func Dir(modelPath string) string { return filepath.Join(filepath.Dir(modelPath), "history") }

// versionRE is what a version may look like on disk (training's versions are
// m20261205-0123456789): a file name, never a path.
var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidVersion reports whether v can name a history file.
func ValidVersion(v string) bool { return versionRE.MatchString(v) && !strings.Contains(v, "..") }

// ModelPath and EntryPath are the files of a version in dir.
func ModelPath(dir, version string) string { return filepath.Join(dir, version+".bsm") }

// EntryPath is the evaluation file of a version in dir.
func EntryPath(dir, version string) string { return filepath.Join(dir, version+".json") }

// Record writes e as dir/VERSION.json, and f, when not nil, as dir/VERSION.bsm (the model
// first, so that an entry that says HasModel always has its file). Both writes are atomic.
func Record(dir string, e *Entry, f *modelfile.File) error {
	if !ValidVersion(e.Version) {
		return fmt.Errorf("record model history: version %q cannot name a file", e.Version)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("record model history: %w", err)
	}
	if f != nil {
		if err := modelfile.WriteFile(ModelPath(dir, e.Version), f); err != nil {
			return fmt.Errorf("record model history: %w", err)
		}
		e.HasModel = true
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("record model history: %w", err)
	}
	if err := writeAtomic(EntryPath(dir, e.Version), append(b, '\n')); err != nil {
		return fmt.Errorf("record model history: %w", err)
	}
	return nil
}

// Read returns the entry of a version; ErrUnknownVersion (wrapped) when there is none.
func Read(dir, version string) (*Entry, error) {
	if !ValidVersion(version) {
		return nil, fmt.Errorf("%w %q", ErrUnknownVersion, version)
	}
	b, err := os.ReadFile(EntryPath(dir, version))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q", ErrUnknownVersion, version)
	}
	if err != nil {
		return nil, fmt.Errorf("read model history: %w", err)
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("read model history %s: %w", EntryPath(dir, version), err)
	}
	return &e, nil
}

// List returns every entry of dir, newest first (by At, then version). A missing folder
// is an empty history; an entry that does not decode is skipped and named in the error
// returned beside the others.
func List(dir string) ([]Entry, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Entry
	var errs []error
	for _, n := range names {
		v := strings.TrimSuffix(filepath.Base(n), ".json")
		e, err := Read(dir, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, *e)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].At.Equal(out[b].At) {
			return out[a].At.After(out[b].At)
		}
		return out[a].Version > out[b].Version
	})
	return out, errors.Join(errs...)
}

// Install copies the model file of version from dir over modelPath atomically, after
// checking that it decodes and validates (a damaged history file never replaces a good
// model), under the install lock. It returns the installed file.
func Install(dir, version, modelPath string) (*modelfile.File, error) {
	return install(dir, version, modelPath, nil)
}

// ErrChampionChanged is returned by Promote when model.path no longer holds the champion
// the challenger was compared with (a rollback, or another promotion, came between).
var ErrChampionChanged = errors.New("the model in force changed during the run")

// Promote installs version like Install, only if modelPath still holds the model of
// version champion ("" : no model file, or one that does not load), checked under the
// install lock.
func Promote(dir, version, modelPath, champion string) (*modelfile.File, error) {
	return install(dir, version, modelPath, func() error {
		now := ""
		if f, err := modelfile.ReadFile(modelPath); err == nil {
			now = f.Meta.Version
		}
		if now != champion {
			return fmt.Errorf("%w: %s holds %q, the run compared with %q", ErrChampionChanged, modelPath, now, champion)
		}
		return nil
	})
}

func install(dir, version, modelPath string, check func() error) (*modelfile.File, error) {
	if !ValidVersion(version) {
		return nil, fmt.Errorf("%w %q", ErrUnknownVersion, version)
	}
	data, err := os.ReadFile(ModelPath(dir, version))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q (no %s)", ErrUnknownVersion, version, filepath.Base(ModelPath(dir, version)))
	}
	if err != nil {
		return nil, fmt.Errorf("install model %s: %w", version, err)
	}
	f, err := modelfile.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("install model %s: %w", version, err)
	}
	unlock, err := LockInstall(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	if err := writeAtomic(modelPath, data); err != nil {
		return nil, fmt.Errorf("install model %s: %w", version, err)
	}
	return f, nil
}

// writeAtomic writes data to path through a synced temporary file in the same folder and
// a rename, then syncs the folder.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
