package training

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the training report: the data, the epochs and, per DSP, the validation-day
// figures of the network beside the baselines and the threshold chosen.
type Report struct {
	Version     string
	Dir         string
	Files       int
	WindowStart time.Time // first training day
	ValDay      time.Time // the validation day
	Target      float64
	Confidence  float64
	Seed        uint64
	Unlabelled  int64 // rows without a label (filtered, throttled, ...), not used
	TrainSample int64 // rows in the training sample
	ValRows     int64
	SampleBytes int64 // memory of the encoded rows

	Epochs         []EpochReport
	BestEpoch      int
	BestValLoss    float64
	ExamplesPerSec float64 // training examples per second over all epochs

	ReadSeconds, TrainSeconds, ValidateSeconds, TotalSeconds float64

	DSPs []dspCalibration
}

// EpochReport is one epoch.
type EpochReport struct {
	Epoch          int
	LearningRate   float64
	TrainLoss      float64 // mean weighted NLL on the training sample (with dropout)
	ValLoss        float64 // log loss on the validation day, full-traffic weighted
	Seconds        float64
	ExamplesPerSec float64
}

// DSPReport is one DSP's line of the report. AUCs are on the validation day's request
// scores; Recall, RecallLower and FilteredShare are at Threshold.
type DSPReport struct {
	Name                  string
	TrainRows, TrainBids  int64
	NegativeRate          float64
	SampleRows            int64
	ValRows, ValBids      int64
	AUC, AUCFTRL, AUCHist float64
	FSAtTarget            float64
	OK                    bool
	Reason                string
	Threshold             float64
	Recall, RecallLower   float64
	FilteredShare         float64
	BoundWidth            float64
}

// metrics are the figures stored in the model file's metadata.
func (r *Report) metrics(st *windowStats) map[string]float64 {
	m := map[string]float64{
		"best_epoch":             float64(r.BestEpoch),
		"val_loss":               finite(r.BestValLoss),
		"examples_per_second":    finite(r.ExamplesPerSec),
		"read_seconds":           r.ReadSeconds,
		"train_seconds":          r.TrainSeconds,
		"validate_seconds":       r.ValidateSeconds,
		"labelled_training_rows": float64(st.trainRows),
		"unlabelled_rows":        float64(st.unlabelled),
	}
	for _, d := range r.DSPs {
		m["auc_"+d.Name] = finite(d.AUC)
		m["auc_ftrl_"+d.Name] = finite(d.AUCFTRL)
		m["auc_hist_"+d.Name] = finite(d.AUCHist)
	}
	return m
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

func num(x float64, prec int) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, x)
}

// Write prints the report as text.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s\n", r.Version)
	fmt.Fprintf(&b, "logs %s: %d files; training days %s..%s, validation day %s\n", r.Dir, r.Files,
		r.WindowStart.Format("2006-01-02"), r.ValDay.Add(-24*time.Hour).Format("2006-01-02"), r.ValDay.Format("2006-01-02"))
	fmt.Fprintf(&b, "training sample %d rows, validation %d rows (%d MiB encoded); %d unlabelled rows ignored\n",
		r.TrainSample, r.ValRows, r.SampleBytes>>20, r.Unlabelled)
	for _, e := range r.Epochs {
		mark := ""
		if e.Epoch == r.BestEpoch {
			mark = "  <- kept"
		}
		fmt.Fprintf(&b, "epoch %d: step size %.2g, train loss %.5f, validation loss %.5f, %.0f s, %.0f examples/s%s\n",
			e.Epoch, e.LearningRate, e.TrainLoss, e.ValLoss, e.Seconds, e.ExamplesPerSec, mark)
	}
	fmt.Fprintf(&b, "time: read %.0f s, train %.0f s, validate %.0f s, total %.0f s; %.0f training examples/s\n\n",
		r.ReadSeconds, r.TrainSeconds, r.ValidateSeconds, r.TotalSeconds, r.ExamplesPerSec)
	fmt.Fprintf(&b, "validation day, recall target %.3g with %.0f%% confidence (threshold: the largest whose lower bound of tomorrow's recall reaches the target)\n",
		r.Target, 100*r.Confidence)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "dsp\ttrain rows\ttrain bids\tno-bid rate\tval rows\tval bids\tAUC\tAUC FTRL\tAUC hist\tFS@target\tthreshold\trecall\tlower bound\twidth\tfiltered\t")
	for _, d := range r.DSPs {
		th := num(d.Threshold, 4)
		if !d.OK {
			th = "none"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", d.Name, d.TrainRows, d.TrainBids,
			d.NegativeRate, d.ValRows, d.ValBids, num(d.AUC, 4), num(d.AUCFTRL, 4), num(d.AUCHist, 4), pct(d.FSAtTarget),
			th, pct(d.Recall), pct(d.RecallLower), pct(d.BoundWidth), pct(d.FilteredShare))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range r.DSPs {
		if !d.OK {
			fmt.Fprintf(&b, "%s: no threshold, served unfiltered: %s\n", d.Name, d.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
