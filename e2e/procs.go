package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Procs starts the bidsieve processes of a run (serve, dsp-sim, loadtest) from one binary
// and stops every one still running at the end.
type Procs struct {
	Bin string // path of the bidsieve binary

	mu      sync.Mutex
	running map[*Proc]struct{}
}

// Proc is one started process.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	own  *Procs
}

// Start starts `Bin args...` with its standard output and error going to stdout and
// stderr (nil discards them).
func (p *Procs) Start(stdout, stderr io.Writer, args ...string) (*Proc, error) {
	if len(args) == 0 {
		return nil, errors.New("start bidsieve: no command")
	}
	cmd := exec.Command(p.Bin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bidsieve %s: %w", args[0], err)
	}
	pr := &Proc{cmd: cmd, done: make(chan struct{}), own: p}
	p.mu.Lock()
	if p.running == nil {
		p.running = map[*Proc]struct{}{}
	}
	p.running[pr] = struct{}{}
	p.mu.Unlock()
	go func() {
		pr.err = cmd.Wait()
		p.mu.Lock()
		delete(p.running, pr)
		p.mu.Unlock()
		close(pr.done)
	}()
	return pr, nil
}

// Run runs `Bin args...` to its end; ctx's end stops it (SIGTERM).
func (p *Procs) Run(ctx context.Context, stdout, stderr io.Writer, args ...string) error {
	pr, err := p.Start(stdout, stderr, args...)
	if err != nil {
		return err
	}
	select {
	case <-pr.done:
	case <-ctx.Done():
		_ = pr.Stop()
		return ctx.Err()
	}
	if pr.err != nil {
		return fmt.Errorf("bidsieve %s: %w", args[0], pr.err)
	}
	return nil
}

// Pid is the process id.
func (pr *Proc) Pid() int { return pr.cmd.Process.Pid }

// Done is closed when the process has exited.
func (pr *Proc) Done() <-chan struct{} { return pr.done }

// Err is the process's exit error, once Done is closed.
func (pr *Proc) Err() error { return pr.err }

// State is the exited process's state (its CPU times and resource usage), once Done is
// closed.
func (pr *Proc) State() *os.ProcessState { return pr.cmd.ProcessState }

// Stop asks the process to stop (SIGTERM: bidsieve stops gracefully) and waits for it.
// A process that exits on the signal is not an error.
func (pr *Proc) Stop() error {
	select {
	case <-pr.done:
		return nil
	default:
	}
	if err := pr.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop process %d: %w", pr.Pid(), err)
	}
	<-pr.done
	var exit *exec.ExitError
	if errors.As(pr.err, &exit) && !exit.Exited() {
		return nil // ended by the signal
	}
	return pr.err
}

// StopAll stops every process still running.
func (p *Procs) StopAll() {
	p.mu.Lock()
	list := make([]*Proc, 0, len(p.running))
	for pr := range p.running {
		list = append(list, pr)
	}
	p.mu.Unlock()
	for _, pr := range list {
		_ = pr.Stop()
	}
}

// WaitHTTP waits until url answers 2xx, for 20 s at most.
func WaitHTTP(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not come up: %w", url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MetricSum returns the sum of the values of every series of the metric name on the
// Prometheus text page at url (0 when it has none).
func MetricSum(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close() //nolint:errcheck // read to the end below
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics: %s answered %d", url, resp.StatusCode)
	}
	return sumMetric(resp.Body, name)
}

// sumMetric sums the series of name in a Prometheus text exposition.
func sumMetric(r io.Reader, name string) (float64, error) {
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		if i := strings.LastIndexByte(line, '}'); i >= 0 { // label values may hold spaces
			value = line[i+1:]
		}
		fields := strings.Fields(value) // value [timestamp]
		if len(fields) == 0 {
			return 0, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics: %q: %w", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	return sum, nil
}
