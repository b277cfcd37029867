package training

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bidsieve/bidsieve/modelfile"
)

// Result is what Train produces: the model file and the training report.
type Result struct {
	File   *modelfile.File
	Report *Report
}

// Train reads the bid logs of opts.LogDir, trains the network on every day but the last,
// and calibrates it on the last: per DSP the no-bid sampling correction, the validation
// curve and the threshold for the recall target. The result is deterministic for a seed
// and a set of files (wall-clock times aside).
//
// The steps: a first pass over the logs counts rows and bids per DSP, builds the feature
// spec (vocabularies and normalisation) and learns the baselines; the no-bid keep rate of
// every DSP follows from its counts (negativeRate); a second pass encodes the training
// sample and the validation day into memory; the network trains for up to MaxEpochs
// epochs, keeping the weights of the epoch with the best validation loss (measured on a
// sample of the validation day, weighted back to the full traffic); finally the whole
// validation day is scored to calibrate each DSP.
func Train(ctx context.Context, opts Options) (*Result, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if !o.NoFastGEMM {
		UseFastGEMM()
	}
	log := o.Logger
	t0 := o.Now()
	w, err := openWindow(o.LogDir, o.Since, o.Until)
	if err != nil {
		return nil, err
	}
	w.valHalf = o.ValHalf
	log.Info("window", "dir", w.dir, "files", len(w.files), "rows", w.totalRows(),
		"train_days", fmt.Sprintf("%s..%s", dayTime(w.firstDay).Format("2006-01-02"), dayTime(w.valDay-1).Format("2006-01-02")),
		"validation_day", dayTime(w.valDay).Format("2006-01-02"), "validation_requests", o.ValHalf.String())

	st, sb, ftrl, hist, err := firstPass(ctx, w, &o)
	if err != nil {
		return nil, err
	}
	spec, err := sb.Build(o.Features)
	if err != nil {
		return nil, err
	}
	for _, d := range st.list {
		if o.NegativeRate > 0 {
			d.rate = o.NegativeRate
		} else {
			d.rate = negativeRate(d.trainBids, d.trainRows-d.trainBids, o.NegPerBid, o.MinNegatives)
		}
	}
	histModel := hist.Model()
	train, val, err := secondPass(ctx, w, &o, st, spec, ftrl, histModel)
	if err != nil {
		return nil, err
	}
	tRead := o.Now()
	log.Info("data", "train_sample_rows", train.len(), "validation_rows", val.ds.len(),
		"memory_mb", (train.bytes()+val.ds.bytes())>>20, "seconds", tRead.Sub(t0).Seconds())

	rng := rand.New(rand.NewPCG(o.Seed, 0x6269647369657665)) // "bidsieve"
	if o.Net.AverageDecay == 0 {
		o.Net.AverageDecay = averageDecayFor(train.len(), o.Net.BatchSize)
	}
	tr, err := newNetTrainer(spec, o.Net, rng)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	sc := newNetScorer(spec, tr.p)

	// Offsets of the validation rows: the log of their DSP's keep rate.
	offsetOf := make([]float64, len(st.list))
	for _, d := range st.list {
		offsetOf[d.id] = math.Log(d.rate)
	}
	sampleLogits := make([]float64, len(val.sample))
	valLoss := func() (float64, error) {
		if err := sc.refresh(); err != nil {
			return 0, err
		}
		if err := sc.logits(&val.ds, val.sample, sampleLogits); err != nil {
			return 0, err
		}
		if log.Enabled(ctx, slog.LevelDebug) {
			// Per DSP, to see which ones gain or lose from an epoch.
			var attrs []any
			for _, d := range st.list {
				l := logLoss(sampleLogits,
					func(i int) float64 { return offsetOf[val.dspID[val.sample[i]]] },
					func(i int) bool { return val.ds.label[val.sample[i]] },
					func(i int) float64 {
						if int(val.dspID[val.sample[i]]) != d.id {
							return 0
						}
						return val.sampleW[i]
					})
				attrs = append(attrs, d.name, l)
			}
			log.Debug("validation loss by DSP", attrs...)
		}
		return logLoss(sampleLogits,
			func(i int) float64 { return offsetOf[val.dspID[val.sample[i]]] },
			func(i int) bool { return val.ds.label[val.sample[i]] },
			func(i int) float64 { return val.sampleW[i] }), nil
	}

	rep := &Report{Dir: w.dir, WindowStart: dayTime(w.firstDay), ValDay: dayTime(w.valDay),
		Files: len(w.files), Target: o.RecallTarget, Confidence: o.Confidence, Seed: o.Seed,
		TrainSample: int64(train.len()), ValRows: int64(val.ds.len()), Unlabelled: st.unlabelled,
		SampleBytes: train.bytes() + val.ds.bytes()}
	var best snapshot
	bestLoss, bestEpoch, bad := math.Inf(1), 0, 0
	var trainSeconds float64
	var examples int64
	for e := 1; e <= o.MaxEpochs; e++ {
		o.Progress.Start(fmt.Sprintf("epoch %d/%d", e, o.MaxEpochs), int64(train.len()))
		te, lr := o.Now(), tr.opt.lr
		loss, err := tr.epoch(ctx, train, func(n int) { o.Progress.Add(int64(n)) })
		o.Progress.Finish()
		if err != nil {
			return nil, err
		}
		secs := o.Now().Sub(te).Seconds()
		trainSeconds += secs
		examples += int64(train.len())
		vl, err := valLoss()
		if err != nil {
			return nil, err
		}
		ep := EpochReport{Epoch: e, LearningRate: lr, TrainLoss: loss, ValLoss: vl, Seconds: secs, ExamplesPerSec: float64(train.len()) / secs}
		rep.Epochs = append(rep.Epochs, ep)
		log.Info("epoch", "epoch", e, "train_loss", loss, "val_loss", vl, "seconds", secs, "examples_per_s", ep.ExamplesPerSec)
		if math.IsNaN(vl) || math.IsNaN(loss) {
			return nil, fmt.Errorf("epoch %d: the loss is not a number (training diverged)", e)
		}
		if vl < bestLoss-1e-6 {
			bestLoss, bestEpoch, bad = vl, e, 0
			tr.p.snapshot(&best)
			continue
		}
		// No better: go back to the best weights and halve the step size, until Patience
		// epochs in a row have failed to improve.
		if bad++; bad >= o.Patience {
			break
		}
		tr.p.restore(&best)
		tr.opt.lr /= 2
		log.Info("no improvement: back to the best epoch, step size halved", "best_epoch", bestEpoch, "learning_rate", tr.opt.lr)
	}
	tr.p.restore(&best)
	// The shipped hidden-to-hidden weights are bfloat16 numbers (see params.roundHidden);
	// everything from here on (calibration, thresholds, the file) uses them.
	tr.p.roundHidden()
	rounded, err := valLoss()
	if err != nil {
		return nil, err
	}
	log.Info("hidden layers rounded to bfloat16", "val_loss", bestLoss, "val_loss_rounded", rounded)
	rep.BestEpoch, rep.BestValLoss = bestEpoch, bestLoss
	rep.ExamplesPerSec = float64(examples) / trainSeconds
	tTrain := o.Now()

	// Calibrate every DSP on the whole validation day.
	o.Progress.Start("validate", int64(val.ds.len()))
	logits := make([]float64, val.ds.len())
	if err := sc.logits(&val.ds, nil, logits); err != nil {
		return nil, err
	}
	o.Progress.Add(int64(val.ds.len()))
	o.Progress.Finish()
	cals := calibrate(st, val, logits, spec, &o)

	f := &modelfile.File{
		FormatVersion: modelfile.FormatVersion,
		Spec:          *spec,
		SpecHash:      spec.Hash(),
		Net:           tr.p.toNetwork(),
		Baselines:     &modelfile.Baselines{FTRL: ftrl.Model(), HistRate: histModel},
	}
	var keptNeg, allNeg int64
	for i, d := range st.list {
		f.DSPs = append(f.DSPs, cals[i].file)
		keptNeg += d.keptRows - d.keptBids
		allNeg += d.trainRows - d.trainBids
	}
	defRate := 1.0
	if allNeg > 0 && keptNeg > 0 {
		defRate = float64(keptNeg) / float64(allNeg)
	}
	end := o.Now()
	rep.ReadSeconds = tRead.Sub(t0).Seconds()
	rep.TrainSeconds = tTrain.Sub(tRead).Seconds()
	rep.ValidateSeconds = end.Sub(tTrain).Seconds()
	rep.TotalSeconds = end.Sub(t0).Seconds()
	rep.DSPs = cals
	f.Meta = modelfile.Metadata{
		CreatedAt:    end.UTC(),
		WindowStart:  dayTime(w.firstDay),
		WindowEnd:    dayTime(w.valDay + 1),
		TrainRows:    int64(train.len()),
		ValRows:      int64(val.ds.len()),
		NegativeRate: defRate,
		RecallTarget: o.RecallTarget,
		Confidence:   o.Confidence,
		Seed:         int64(o.Seed),
		Epochs:       len(rep.Epochs),
		TrainSeconds: rep.TotalSeconds,
		Hidden:       append([]int(nil), o.Net.Hidden...),
		Dropout:      o.Net.Dropout,
		Builder:      o.Builder,
		Metrics:      rep.metrics(st),
	}
	f.Meta.Version = modelVersion(f)
	rep.Version = f.Meta.Version
	return &Result{File: f, Report: rep}, nil
}

// modelVersion names a model by its validation day and a digest of its weights, so that
// the same data and seed give the same version.
func modelVersion(f *modelfile.File) string {
	h := sha256.New()
	var b [4]byte
	put := func(xs []float32) {
		for _, x := range xs {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			h.Write(b[:])
		}
	}
	for _, e := range f.Net.Embeddings {
		put(e.Data)
	}
	for _, l := range f.Net.Layers {
		put(l.W.Data)
		put(l.B)
	}
	day := f.Meta.WindowEnd.Add(-time.Hour).Format("20060102")
	return "m" + day + "-" + hex.EncodeToString(h.Sum(nil))[:10]
}

// dspCalibration is the validation-day calibration of one DSP, for the file and the report.
type dspCalibration struct {
	file modelfile.DSP
	DSPReport
}

// finite replaces NaN and infinities (which JSON cannot carry) by 0.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
