package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
	"github.com/bidsieve/bidsieve/loadtest"
)

// The processes of the full run's steps 3 and 4: dsp-sim, gateways, load.

// startSim starts `bidsieve dsp-sim` (seed 1) on PortBase, once.
func (r *fullRun) startSim(ctx context.Context) error {
	if r.sim != nil {
		return nil
	}
	log, err := os.Create(filepath.Join(r.Data, "dsp-sim.log"))
	if err != nil {
		return err
	}
	r.sim, err = r.procs.Start(log, log, "dsp-sim", "--profiles", r.Window.Profiles, "--listen", r.addr(0), "--seed", "1")
	if err != nil {
		return err
	}
	go func() { <-r.sim.Done(); _ = log.Close() }()
	return WaitHTTP(ctx, "http://"+r.addr(0)+"/healthz")
}

// startServe starts `bidsieve serve` in the given mode from a fresh dir holding a copy of
// the model, its config (ServeConfig) and its log (serve.log), and waits until it is ready.
func (r *fullRun) startServe(ctx context.Context, mode, dir, listen, adminListen string) (*Proc, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(dir, "current.bsm"), r.model); err != nil {
		return nil, err
	}
	cfg, err := ServeConfig(ServeOptions{Mode: mode, Dir: dir, Listen: listen, AdminListen: adminListen, SimAddr: r.addr(0), AdminToken: adminToken})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "bidsieve.yaml")
	if err := WriteConfig(path, cfg); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	p, err := r.procs.Start(log, log, "serve", "--config", path)
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	go func() { <-p.Done(); _ = log.Close() }()
	return p, WaitHTTP(ctx, "http://"+listen+"/readyz")
}

// load runs `bidsieve loadtest` against the gateway at addr (the profiles' traffic, the
// given seed), keeps its JSON report in out and returns it.
func (r *fullRun) load(ctx context.Context, qps float64, d time.Duration, seed int, out, addr string) (*loadtest.Result, error) {
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	err = r.procs.Run(ctx, f, os.Stderr, r.loadArgs(qps, d, seed, addr)...)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return readReport(out)
}

func (r *fullRun) loadArgs(qps float64, d time.Duration, seed int, addr string) []string {
	return []string{"loadtest", "--target", "http://" + addr + "/openrtb2/auction", "--qps", strconv.FormatFloat(qps, 'g', -1, 64),
		"--duration", d.String(), "--profiles", r.Window.Profiles, "--seed", strconv.Itoa(seed), "--json"}
}

func readReport(path string) (*loadtest.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep loadtest.Result
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("load test report %s: %w", path, err)
	}
	return &rep, nil
}

// simStats returns dsp-sim's counts; reset zeroes them first.
func (r *fullRun) simStats(ctx context.Context) (dspserver.Stats, error) {
	var st dspserver.Stats
	body, err := r.call(ctx, http.MethodGet, "http://"+r.addr(0)+"/stats", "")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("dsp-sim stats: %w", err)
	}
	return st, nil
}

func (r *fullRun) resetSim(ctx context.Context) error {
	_, err := r.call(ctx, http.MethodPost, "http://"+r.addr(0)+"/stats/reset", "")
	return err
}

// call sends a request (with the admin token when token is set) and returns the body of
// a 2xx answer.
func (r *fullRun) call(ctx context.Context, method, url, token string) ([]byte, error) {
	return r.callWith(ctx, method, url, token, "")
}

// callWith is call with a JSON body ("" for none).
func (r *fullRun) callWith(ctx context.Context, method, url, token, body string) ([]byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() //nolint:errcheck // read to the end below
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		return answer, fmt.Errorf("%s %s: answered %d", method, url, resp.StatusCode)
	}
	return answer, nil
}

// copyFile copies src to dst through a temporary file renamed into place: a watcher of
// dst sees the whole file at once, as training writes it.
func copyFile(dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".next")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
