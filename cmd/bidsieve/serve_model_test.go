package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/internal/waittest"
	"github.com/bidsieve/bidsieve/modelfile"
	"github.com/bidsieve/bidsieve/predictor/serving/servingtest"
)

// TestServeShapesReloadsModelsAndLogs runs `bidsieve serve` with a model path whose
// folder does not exist yet, then puts models there, a corrupt one among them, through the
// file watcher and the admin API, and checks each auction's fate and bid-log row.
func TestServeShapesReloadsModelsAndLogs(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var calls atomic.Int64
	dspSrv := noBidDSP(&calls)
	defer dspSrv.Close()

	dir := t.TempDir()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	const token = "serve-model-test-token"
	sum := sha256.Sum256([]byte(token))
	path := writeConfig(t, dir, fmt.Sprintf(`listen: %q
admin_listen: %q
auth: {tokens: [{name: ops, role: admin, sha256: %q}]}
shaping: {mode: filter, exploration_rate: 0}
%sdsps:
  - {name: a, endpoint: %q, timeout: 400ms}
`, addr, adminAddr, hex.EncodeToString(sum[:]), dataKeys(dir), dspSrv.URL+"/bid/a"))
	modelPath := filepath.Join(dir, "models", "current.bsm")

	s := startServe(t, path, "http://"+addr+"/readyz")
	defer s.stop()
	stderr, client, done, cancel := &s.stderr, s.client, s.done, s.cancel
	if !strings.Contains(stderr.String(), "NO MODEL: the model file does not exist") {
		t.Errorf("a missing model is not reported loudly:\n%s", stderr.String())
	}

	auction := func(id string) {
		t.Helper()
		status, err := postAuction(client, addr, id)
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusNoContent {
			t.Fatalf("auction %s: status %d", id, status)
		}
	}
	expectCalls := func(id string, want int64) {
		t.Helper()
		before := calls.Load()
		auction(id)
		if got := calls.Load() - before; got != want {
			t.Errorf("auction %s: the DSP got %d requests, want %d", id, got, want)
		}
	}
	model := func(version string, threshold float64) *modelfile.File {
		return servingtest.File(servingtest.Options{Seed: 1, DSPs: []string{"a"}, Threshold: threshold, Version: version})
	}
	loaded := func(version string) {
		t.Helper()
		waittest.For(t, "model "+version, func() bool { return strings.Contains(stderr.String(), "version="+version) })
	}

	expectCalls("r1", 1) // no model: fail open

	// The model appears in a folder that did not exist: the watcher picks it up. It
	// filters everything (threshold just under 1).
	if err := os.MkdirAll(filepath.Dir(modelPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := modelfile.WriteFile(modelPath, model("v1", 0.999999)); err != nil {
		t.Fatal(err)
	}
	loaded("v1")
	expectCalls("r2", 0)

	// A corrupt file (written in place) is refused; v1 stays.
	if err := os.WriteFile(modelPath, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	waittest.For(t, "the refused reload", func() bool { return strings.Contains(stderr.String(), "model reload failed") })
	expectCalls("r3", 0)
	if status, body := adminPost(t, adminAddr, "/admin/api/model/reload", token); status != http.StatusInternalServerError || !strings.Contains(body, "model reload failed") {
		t.Errorf("admin reload of a corrupt file: %d %s", status, body)
	}

	// v2 sends everything; the admin API's reload (or the watcher, whichever comes first)
	// puts it in force.
	if err := modelfile.WriteFile(modelPath, model("v2", 1e-9)); err != nil {
		t.Fatal(err)
	}
	if status, body := adminPost(t, adminAddr, "/admin/api/model/reload", token); status != http.StatusOK || !strings.Contains(body, `"version":"v2"`) {
		t.Errorf("admin reload: %d %s", status, body)
	}
	expectCalls("r4", 1)

	metrics := get(t, client, "http://"+addr+"/metrics")
	for _, want := range []string{`bidsieve_model_info{version="v2"} 1`, `bidsieve_dsp_decisions_total{decision="filtered",dsp="a"} 2`,
		`bidsieve_fail_open_total{reason="no_model"} 1`, `bidsieve_model_reloads_total{result="error"}`, "bidsieve_predictor_duration_seconds_bucket"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if status, body := adminGet(t, adminAddr, "/admin/api/dsps", token); status != http.StatusOK || !strings.Contains(body, `"offered":4`) || !strings.Contains(body, `"filtered":2`) {
		t.Errorf("admin DSP figures: %d %s", status, body)
	}

	cancel()
	waitStop(t, done, "serve")

	// The graceful stop published the bid log: one row per auction, with its decision and
	// the model it was made with.
	r, err := bidlog.OpenDir(filepath.Join(dir, "bidlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]bidlog.Row, 16)
	n, err := r.Read(buf)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, row := range buf[:n] {
		got[row.RequestID] = row.Decision + "/" + row.ModelVersion + "/" + row.Outcome
	}
	want := map[string]string{"r1": "fail_open//nobid", "r2": "filtered/v1/not_sent", "r3": "filtered/v1/not_sent", "r4": "sent/v2/nobid"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bid log %v, want %v", got, want)
	}
}

func get(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func adminPost(t *testing.T, addr, path, token string) (int, string) {
	return adminDo(t, "POST", addr, path, token, "")
}
func adminGet(t *testing.T, addr, path, token string) (int, string) {
	return adminDo(t, "GET", addr, path, token, "")
}

// adminDo calls the admin API with a bearer token and, when body is not empty, a JSON body;
// it returns the status and the answer.
func adminDo(t *testing.T, method, addr, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// noBidDSP is a fake DSP that reads each request and answers 204 (no bid), counting its
// calls in calls unless calls is nil. The caller closes it (before goleak's check).
func noBidDSP(calls *atomic.Int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
}

// writeConfig writes cfg as dir/bidsieve.yaml, the file `serve --config` reads, and
// returns its path.
func writeConfig(t *testing.T, dir, cfg string) string {
	t.Helper()
	path := filepath.Join(dir, "bidsieve.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// postAuction sends serve at addr a one-banner auction from the USA with the id id, reads
// the answer to its end and returns its status.
func postAuction(client *http.Client, addr, id string) (int, error) {
	return statusOf(client.Post("http://"+addr+"/openrtb2/auction", "application/json",
		strings.NewReader(`{"id":"`+id+`","imp":[{"id":"1","banner":{"w":300,"h":250}}],"device":{"geo":{"country":"USA"}}}`)))
}
