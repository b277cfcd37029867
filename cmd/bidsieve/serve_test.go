package main

import (
	"context"
	"fmt"
	"github.com/bidsieve/bidsieve/bidlog"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/internal/logtest"
	"github.com/bidsieve/bidsieve/internal/ortbtest"
	"github.com/bidsieve/bidsieve/internal/waittest"
)

// statusOf reads the answer of an HTTP call to its end, closes it and returns its status;
// the call's error is returned as it is.
func statusOf(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeReloadsAndStopsGracefully(t *testing.T) {
	var calls atomic.Int64
	dspSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		reqID, impID := ortbtest.FirstImp(r.Body)
		time.Sleep(150 * time.Millisecond) // an auction is in flight when the stop comes
		fmt.Fprintf(w, `{"id":%q,"seatbid":[{"bid":[{"id":"b","impid":%q,"price":1.5,"crid":"c"}]}]}`, reqID, impID)
	}))
	defer dspSrv.Close()

	addr := freeAddr(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "bidsieve.yaml")
	write := func(extra string) {
		cfg := fmt.Sprintf("listen: %q\nadmin_listen: \"\"\nlog: {level: debug}\n%s%sdsps:\n  - {name: a, endpoint: %q, timeout: 900ms}\n",
			addr, dataKeys(dir), extra, dspSrv.URL+"/bid/a")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")

	s := startServe(t, path, "http://"+addr+"/healthz")
	defer s.stop()
	stderr, client, done, cancel := &s.stderr, s.client, s.done, s.cancel

	write("bogus_key: 1\n")
	waittest.For(t, "a failed reload to be logged", func() bool { return strings.Contains(stderr.String(), "config reload failed") })
	if !strings.Contains(stderr.String(), "bogus_key: unknown key") {
		t.Errorf("the reload error does not name the key:\n%s", stderr.String())
	}
	write("auction: {default_tmax: 1000ms}\n")
	waittest.For(t, "a reload to be logged", func() bool { return strings.Contains(stderr.String(), "config reloaded") })

	// An auction in flight when the stop comes still gets its answer.
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		status, err := statusOf(client.Post("http://"+addr+"/openrtb2/auction", "application/json",
			strings.NewReader(`{"id":"r1","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)))
		got <- result{status: status, err: err}
	}()
	waittest.For(t, "the DSP call", func() bool { return calls.Load() == 1 })
	cancel()
	r := <-got
	if r.err != nil || r.status != http.StatusOK {
		t.Errorf("in-flight auction during the stop: status %d, err %v; want 200", r.status, r.err)
	}
	waitStop(t, done, "serve")
	if !strings.Contains(stderr.String(), "bidsieve stopped") {
		t.Errorf("no clean stop in the log:\n%s", stderr.String())
	}
}

// dataKeys puts the store, the bid log and the model of a test configuration under dir.
//
// It also turns the overload control's wait trigger off: these tests run serve in the
// test binary beside their clients and fake DSPs, under the race detector, so the
// scheduler's waits are not the gateway's load (shedding has its own tests in package
// gateway).
func dataKeys(dir string) string {
	return fmt.Sprintf("store: {sqlite: %q}\nbidlog: {dir: %q}\nmodel: {path: %q}\noverload: {max_wait: 0s}\n",
		filepath.Join(dir, "bidsieve.db"), filepath.Join(dir, "bidlog"), filepath.Join(dir, "models", "current.bsm"))
}

func TestServeRefusesABadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("listen: ''\ndsps:\n  - {name: a, endpoint: nowhere}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runServe(context.Background(), []string{"--config", path}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started on an invalid configuration")
	}
	for _, want := range []string{"listen: must not be empty", `dsps[0].endpoint: must be an absolute http:// or https:// URL, got "nowhere"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestServeRefusesAMissingVendorList: serve does not start when privacy.gvl_file names
// a file that is not there, and says which key and file.
func TestServeRefusesAMissingVendorList(t *testing.T) {
	dir := t.TempDir()
	gvl := filepath.Join(dir, "vendor-list.json")
	path := filepath.Join(dir, "serve.yaml")
	cfg := dataKeys(dir) + fmt.Sprintf("listen: %q\nadmin_listen: ''\nprivacy: {gvl_file: %q, gdpr_default: true}\n", freeAddr(t), gvl)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runServe(context.Background(), []string{"--config", path}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "privacy.gvl_file") || !strings.Contains(err.Error(), gvl) {
		t.Fatalf("serve with a missing vendor list: %v; want an error naming privacy.gvl_file and %s", err, gvl)
	}
}

// waitStop waits for a command whose context has ended to return, 10 s at most; it fails
// the test if the command returns an error or does not stop.
func waitStop(t *testing.T, done <-chan error, command string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s returned %v", command, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop within 10 s of its context's end", command)
	}
}

// serveRun is `bidsieve serve` running in-process for a test.
type serveRun struct {
	stderr logtest.Buffer
	client *http.Client // its own transport: idle connections closed by stop
	done   chan error   // what runServe returned
	cancel context.CancelFunc
}

// startServe starts `bidsieve serve --config path [flags]` and waits until url answers 200. The
// caller defers stop.
func startServe(t *testing.T, path, url string, flags ...string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serveRun{client: &http.Client{Transport: &http.Transport{}}, done: make(chan error, 1), cancel: cancel}
	args := append([]string{"--config", path}, flags...)
	go func() { s.done <- runServe(ctx, args, io.Discard, &s.stderr) }()
	waittest.For(t, url, func() bool {
		resp, err := s.client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// stop ends the command's context (waitStop waits for it) and closes idle connections.
func (s *serveRun) stop() {
	s.cancel()
	s.client.CloseIdleConnections()
}

// TestServeClockStampsTheBidLog: with --clock, the bid log's rows carry the simulated time
// (a day a real second here), while the auction itself is served in real time.
func TestServeClockStampsTheBidLog(t *testing.T) {
	dspSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer dspSrv.Close()
	addr := freeAddr(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "bidsieve.yaml")
	cfg := fmt.Sprintf("listen: %q\nadmin_listen: \"\"\n%sdsps:\n  - {name: a, endpoint: %q}\n", addr, dataKeys(dir), dspSrv.URL+"/bid/a")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, path, "http://"+addr+"/healthz", "--clock", "2024-03-01,86400x")
	defer s.stop()
	status, err := statusOf(s.client.Post("http://"+addr+"/openrtb2/auction", "application/json",
		strings.NewReader(`{"id":"r1","imp":[{"id":"1","banner":{"w":300,"h":250}}],"tmax":300}`)))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusNoContent {
		t.Fatalf("auction: status %d, want 204", status)
	}
	s.stop()
	waitStop(t, s.done, "serve")
	r, err := bidlog.OpenDir(filepath.Join(dir, "bidlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows := make([]bidlog.Row, 8)
	n, err := r.Read(rows)
	if n != 1 {
		t.Fatalf("read %d bid-log rows (%v), want 1", n, err)
	}
	// Started at 2024-03-01 00:00 UTC at a day a second: within the test's minute the
	// simulated time is in March 2024, far from today.
	ts := time.UnixMilli(rows[0].TS).UTC()
	if ts.Before(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) || ts.After(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("bid-log row at %v, want the simulated time (March-May 2024)", ts)
	}
}
