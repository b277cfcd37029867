package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// exampleProfiles is the repository's copy of the example simulator profiles.
const exampleProfiles = "../../dsp/sim/testdata/example.yaml"

// TestCommandsRefuseBadFlags: every command says what is wrong with its command line, on
// stderr, with exit status 2 (a usage error) or 1 (a file that cannot be used).
func TestCommandsRefuseBadFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("dsps:\n  - name: x\n    intercept: 0.1\n    colour: blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nosuch"}, 2, `unknown command "nosuch"`},
		{[]string{"simulate", "--out", dir}, 2, "--profiles and --out are required"},
		{[]string{"simulate", "--profiles", exampleProfiles, "--out", dir, "--days", "0"}, 2, "--days >= 1"},
		{[]string{"simulate", "--profiles", exampleProfiles, "--out", dir, "--start", "2024-13-01"}, 2, "--start"},
		{[]string{"simulate", "--profiles", exampleProfiles, "--out", dir, "--requests", "many"}, 2, "invalid value \"many\" for flag -requests"},
		{[]string{"simulate", "--profiles", bad, "--out", dir}, 1, `dsp "x": colour: unknown key`},
		{[]string{"dsp-sim"}, 2, "--profiles is required"},
		{[]string{"dsp-sim", "--profiles", exampleProfiles, "--clock", "2024-03-01,0x"}, 2, "--clock: clock \"2024-03-01,0x\": speed"},
		{[]string{"serve", "--clock", "tomorrow"}, 2, "--clock: clock \"tomorrow\": start"},
		{[]string{"dsp-sim", "--profiles", filepath.Join(dir, "missing.yaml")}, 1, "missing.yaml"},
		{[]string{"dsp-sim", "--profiles", exampleProfiles, "--listen", "127.0.0.1:99999"}, 1, "listen"},
		{[]string{"train", "--logs", dir}, 2, "--logs and --out are required"},
		{[]string{"train", "--logs", dir, "--out", filepath.Join(dir, "m.bsm"), "--quiet"}, 1, "no bid-log files (*.parquet with rows) in " + dir},
		{[]string{"train", "--logs", filepath.Join(dir, "absent"), "--out", filepath.Join(dir, "m.bsm"), "--quiet"}, 1, "absent: no such file or directory"},
		{[]string{"evaluate", "--model", "m.bsm"}, 2, "--model and --logs are required"},
		{[]string{"evaluate", "--model", "m.bsm", "--logs", dir, "--recall", "1.5"}, 2, "--recall 1.5 must be in (0, 1)"},
		{[]string{"evaluate", "--model", filepath.Join(dir, "none.bsm"), "--logs", dir}, 1, "none.bsm"},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/"}, 2, "--target and one of --profiles or --corpus are required"},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/", "--profiles", exampleProfiles, "--corpus", dir}, 2, "--target and one of --profiles or --corpus are required"},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/", "--corpus", dir}, 1, "has no .json file"},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/", "--profiles", exampleProfiles, "--ramp", "200:100:50"}, 2, "TO is below FROM"},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/", "--profiles", exampleProfiles, "--ramp", "100:x:50"}, 2, `"x" is not a positive rate`},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/", "--profiles", exampleProfiles, "--compare"}, 2, "--compare and --target-b go together"},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/", "--profiles", exampleProfiles, "--metrics", "localhost:1"}, 2, `"localhost:1" is not an http(s) URL`},
		{[]string{"loadtest", "--target", "ftp://x", "--profiles", exampleProfiles}, 2, `"ftp://x" is not an http(s) URL`},
		{[]string{"loadtest", "--target", "http://127.0.0.1:1/", "--profiles", exampleProfiles, "--qps", "0"}, 2, "--qps and --duration must be positive"},
		{[]string{"simulate", "extra", "--out", dir}, 2, `unexpected argument "extra"`},
		{[]string{"retrain"}, 2, "--config is required"},
		{[]string{"retrain", "--config", bad, "--window", "2d"}, 2, "at least 3 days"},
		{[]string{"retrain", "--config", bad, "--window", "36h"}, 2, "want whole days"},
		{[]string{"retrain", "--config", filepath.Join(dir, "absent.yaml")}, 1, "absent.yaml"},
	} {
		t.Run(fmt.Sprintf("%s#%d", c.args[0], i), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := mainErr(c.args, &stdout, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("bidsieve %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr.String(), c.code, c.want)
			}
		})
	}
}

// TestCommandLinePipeline runs the commands as a new user would, on a small scale:
// simulate (twice with the same flags: the same files), train, evaluate --json.
func TestCommandLinePipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	simArgs := []string{"simulate", "--profiles", exampleProfiles, "--requests", "3000",
		"--start", "2024-03-01", "--days", "3", "--seed", "5"}
	out := run(t, append(simArgs, "--out", logs)...)
	if !regexp.MustCompile(`wrote \d+ rows \(9000 requests, \d+ imps, 6 DSPs\) in 3 files`).MatchString(out) {
		t.Fatalf("simulate summary:\n%s", out)
	}
	for _, name := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"} {
		if !strings.Contains(out, "\n"+name) {
			t.Errorf("simulate summary has no line for %s:\n%s", name, out)
		}
	}
	again := filepath.Join(dir, "again")
	run(t, append(simArgs, "--out", again)...)
	if a, b := hashDir(t, logs), hashDir(t, again); a != b {
		t.Fatalf("the same flags wrote different files:\n%s\n%s", a, b)
	}

	model := filepath.Join(dir, "m.bsm")
	out = run(t, "train", "--logs", logs, "--out", model, "--max-epochs", "1", "--seed", "3", "--quiet")
	if !strings.Contains(out, "wrote "+model) || !strings.Contains(out, "threshold") {
		t.Fatalf("train report:\n%s", out)
	}

	out = run(t, "evaluate", "--model", model, "--logs", logs, "--json")
	var rep struct {
		DSPs map[string]struct {
			Rows, Bids    int64
			BidRate       float64  `json:"bid_rate"`
			AUC           *float64 `json:"auc"`
			Recall        *float64 `json:"recall"`
			FilteredShare *float64 `json:"filtered_share"`
		} `json:"dsps"`
		Overall json.RawMessage `json:"overall"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("evaluate --json: %v\n%s", err, out)
	}
	if len(rep.DSPs) != 6 || len(rep.Overall) == 0 {
		t.Fatalf("evaluate --json has %d DSPs, overall %s", len(rep.DSPs), rep.Overall)
	}
	for name, d := range rep.DSPs {
		if d.Rows == 0 || d.Bids == 0 || d.AUC == nil || *d.AUC < 0.5 || d.Recall == nil || d.FilteredShare == nil {
			t.Errorf("%s: %+v", name, d)
		}
	}
	for _, key := range []string{`"oracle_filtered_share"`, `"oracle_efficiency"`, `"fs_at_target"`, `"threshold"`} {
		if !strings.Contains(out, key) {
			t.Errorf("evaluate --json lacks %s", key)
		}
	}
}

// startDSPSim runs `bidsieve dsp-sim args` until ctx ends, its log to stderr, and returns
// the base URL its first line announces and the channel of what it returned.
func startDSPSim(ctx context.Context, t *testing.T, stderr io.Writer, args ...string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runDSPSim(ctx, args, pw, stderr)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("dsp-sim printed %q: %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	m := regexp.MustCompile(`listening on (http://\S+):`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("dsp-sim's first line %q gives no address", line)
	}
	return m[1], done
}

// TestDSPSimAndLoadtest starts `bidsieve dsp-sim`, sends it open-loop load with `bidsieve
// loadtest`, reads its /stats, and stops it: nothing is left behind.
func TestDSPSimAndLoadtest(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startDSPSim(ctx, t, io.Discard, "--profiles", exampleProfiles, "--listen", "127.0.0.1:0", "--seed", "2")

	var stdout, stderr bytes.Buffer
	err := runLoadtest(ctx, []string{"--target", base + "/bid/echo", "--profiles", exampleProfiles,
		"--qps", "200", "--duration", "1s", "--seed", "4", "--json"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("loadtest --json: %v\n%s", err, stdout.String())
	}

	resp, err := http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		DSPs map[string]map[string]any `json:"dsps"`
	}
	err = json.NewDecoder(resp.Body).Decode(&stats)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("/stats: %v", err)
	}
	echo, ok := stats.DSPs["echo"]
	if !ok {
		t.Fatalf("/stats has no echo: %v", stats)
	}
	// 200 requests scheduled in one second; a loaded race-detector run may lose a few to
	// the client's deadline, none to the simulator.
	if n, _ := echo["requests"].(float64); n < 150 || n > 200 {
		t.Fatalf("echo received %v requests of 200 sent; stats %v, loadtest %s", echo["requests"], echo, stdout.String())
	}
	if n, _ := stats.DSPs["alpha"]["requests"].(float64); n != 0 {
		t.Fatalf("alpha received %v requests, none were sent to it", n)
	}

	cancel()
	waitStop(t, done, "dsp-sim")
}

// run runs a command in-process and returns its stdout; a non-zero exit fails the test.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := mainErr(args, &stdout, &stderr); code != 0 {
		t.Fatalf("bidsieve %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// hashDir returns "name sha256" lines for the files of dir, sorted by name.
func hashDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s %x", e.Name(), sha256.Sum256(b)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
