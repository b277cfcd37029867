package e2e

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/bidsieve/bidsieve/config"
)

// cpuGateway is one gateway of step 3.
type cpuGateway struct {
	mode, addr, dir string
	proc            *Proc
}

// cpu is step 3: both gateways in front of the same dsp-sim, taking turns. In each round
// each gets CPUDuration of load (the other idles, or is not running with
// DesignOneAtATime), in alternating order, so that the machine's drifts fall on both
// alike; a round's difference is a paired one. The table goes to Out and Data/cpu.txt.
func (r *fullRun) cpu(ctx context.Context) error {
	r.section(fmt.Sprintf("\n== 3. CPU per auction of bidsieve serve: shaping off vs filter (%g auctions/s, %d rounds of %v each, %s)",
		r.CPUQPS, r.Rounds, r.CPUDuration, r.CPUDesign))
	if err := r.startSim(ctx); err != nil {
		return err
	}
	gws := map[string]*cpuGateway{
		config.ModeOff:    {mode: config.ModeOff, addr: r.addr(1), dir: filepath.Join(r.Data, "cpu-off")},
		config.ModeFilter: {mode: config.ModeFilter, addr: r.addr(3), dir: filepath.Join(r.Data, "cpu-filter")},
	}
	warm := func(g *cpuGateway) error { // start it and warm it up (connections, the model's pages)
		var err error
		if g.proc, err = r.startServe(ctx, g.mode, g.dir, g.addr, ""); err != nil {
			return err
		}
		_, err = r.load(ctx, r.CPUQPS, 10*time.Second, 99, filepath.Join(g.dir, "warmup.json"), g.addr)
		return err
	}
	if r.CPUDesign == DesignSideBySide {
		for _, m := range []string{config.ModeOff, config.ModeFilter} {
			if err := warm(gws[m]); err != nil {
				return err
			}
		}
	}
	results, err := teeFile(filepath.Join(r.Data, "cpu.txt"), r.Out)
	if err != nil {
		return err
	}
	defer results.Close() //nolint:errcheck // closed below on success
	if err := WriteCPUHeader(results); err != nil {
		return err
	}
	var turns []CPUTurn
	for round := 1; round <= r.Rounds; round++ {
		order := []string{config.ModeOff, config.ModeFilter}
		if round%2 == 0 {
			order[0], order[1] = order[1], order[0]
		}
		for _, m := range order {
			g := gws[m]
			if r.CPUDesign == DesignOneAtATime {
				if err := warm(g); err != nil {
					return err
				}
			}
			t, err := r.turn(ctx, g, round)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, m, err)
			}
			turns = append(turns, *t)
			if err := t.WriteRow(results); err != nil {
				return err
			}
			if t.Failed != 0 {
				_, _ = fmt.Fprintf(r.Out, "  (%d failed or timed-out auctions)\n", t.Failed)
			}
			if r.CPUDesign == DesignOneAtATime {
				if err := g.proc.Stop(); err != nil {
					return err
				}
			}
		}
	}
	for _, g := range gws {
		if g.proc == nil {
			continue
		}
		if err := g.proc.Stop(); err != nil {
			return err
		}
	}
	cmp := CompareCPU(turns, config.ModeOff, config.ModeFilter)
	if err := cmp.Write(r.Out); err != nil {
		return err
	}
	_ = WriteLoad(r.Out)
	return results.Close()
}

// turn measures one turn of gateway g: the load, and what the gateway and dsp-sim spent.
func (r *fullRun) turn(ctx context.Context, g *cpuGateway, round int) (*CPUTurn, error) {
	if err := r.resetSim(ctx); err != nil {
		return nil, err
	}
	before, err := r.spent(ctx, g)
	if err != nil {
		return nil, err
	}
	res, err := r.load(ctx, r.CPUQPS, r.CPUDuration, 7, filepath.Join(g.dir, fmt.Sprintf("load-%d.json", round)), g.addr)
	if err != nil {
		return nil, err
	}
	after, err := r.spent(ctx, g)
	if err != nil {
		return nil, err
	}
	st, err := r.simStats(ctx)
	if err != nil {
		return nil, err
	}
	t := &CPUTurn{Mode: g.mode, Round: round, Auctions: res.Answered, CPU: after.gateway - before.gateway,
		SimCPU: after.sim - before.sim, Scoring: after.scoring - before.scoring,
		P99MS: res.Latency.P99, Failed: res.Failures + res.Timeouts}
	for _, d := range st.DSPs {
		t.DSPRequests += d.Requests
	}
	return t, nil
}

// spending is what the processes of a turn have spent so far.
type spending struct{ gateway, sim, scoring time.Duration }

// spent reads the CPU times of gateway g and of dsp-sim, and g's scoring time.
func (r *fullRun) spent(ctx context.Context, g *cpuGateway) (spending, error) {
	var s spending
	scoring, err := MetricSum(ctx, "http://"+g.addr+"/metrics", "bidsieve_predictor_duration_seconds_sum")
	if err != nil {
		return s, err
	}
	s.scoring = time.Duration(scoring * float64(time.Second))
	if s.gateway, err = ProcessCPU(g.proc.Pid()); err != nil {
		return s, err
	}
	s.sim, err = ProcessCPU(r.sim.Pid())
	return s, err
}

// WriteLoad writes the load average (from /proc/loadavg) on a line of its own.
func WriteLoad(w io.Writer) error {
	_, err := fmt.Fprintf(w, "load average: %s\n", orDash(firstLine("/proc/loadavg", "")))
	return err
}
