package evaluation

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

func (n Num) pct() string {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n))
}

func (n Num) fixed(prec int) string {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, float64(n))
}

func opt(n *Num, f func(Num) string) string {
	if n == nil {
		return "-"
	}
	return f(*n)
}

// WriteText prints the report as a table: per DSP and overall, the realized recall at the
// model's threshold beside the target, the filtered share, FS@r of the network, of the
// oracle (true_p) and of the baselines, and the AUCs.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s on %d files; recall target %.3g\n", r.Model, r.Files, r.Target)
	if !r.HasTrueP {
		fmt.Fprintln(&b, "the logs carry no true_p: no oracle figures")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "dsp\trows\tbids\tbid rate\tAUC\tAUC FTRL\tnet-FTRL (SE)\tAUC hist\tthreshold\trecall\tfiltered\tFS@r\toracle FS@r\tefficiency\tFTRL FS@r\thist FS@r\t")
	names := make([]string, 0, len(r.DSPs))
	for n := range r.DSPs {
		names = append(names, n)
	}
	sort.Strings(names)
	line := func(name string, m *Metrics) {
		th := opt(m.Threshold, func(n Num) string { return n.fixed(4) })
		if !m.ThresholdOK && m.Threshold != nil {
			th = "none"
		}
		fb, hb := m.Baselines[BaselineFTRL], m.Baselines[BaselineHist]
		diff := "-"
		if fb.AUCDiff != nil && fb.AUCDiffSE != nil && !math.IsNaN(float64(*fb.AUCDiff)) {
			diff = fmt.Sprintf("%+.4f (%.4f)", float64(*fb.AUCDiff), float64(*fb.AUCDiffSE))
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, m.Rows, m.Bids,
			m.BidRate.pct(), m.AUC.fixed(4), fb.AUC.fixed(4), diff, hb.AUC.fixed(4), th, m.Recall.pct(), m.FilteredShare.pct(),
			m.FSAtTarget.pct(), opt(m.OracleFilteredShare, Num.pct), opt(m.OracleEfficiency, func(n Num) string { return n.fixed(3) }),
			fb.FSAtTarget.pct(), hb.FSAtTarget.pct())
	}
	for _, n := range names {
		line(n, r.DSPs[n])
	}
	line("overall", r.Overall)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range names {
		if m := r.DSPs[n]; !m.ThresholdOK {
			fmt.Fprintf(&b, "%s: no threshold, served unfiltered: %s\n", n, m.Reason)
		}
	}
	fmt.Fprintln(&b, "recall and filtered: realized on these logs at the model's threshold; FS@r: the largest filtered share keeping recall >= r;\n"+
		"efficiency: FS@r / oracle FS@r; net-FTRL: the network's AUC minus FTRL's, with its standard error (DeLong, paired)")
	_, err := io.WriteString(w, b.String())
	return err
}
