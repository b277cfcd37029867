package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// bidServer answers every auction with one bid of price CPM from seat.
func bidServer(seat string, price float64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "seatbid": []any{map[string]any{"seat": seat, "bid": []any{map[string]any{"id": "b", "impid": "1", "price": price}}}}})
	}))
}

// `bidsieve loadtest --corpus DIR --ramp ... --json FILE` prints a line per step and the
// answer, and writes the whole ramp as JSON.
func TestLoadtestRampFromCorpus(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := bidServer("alpha", 1.5)
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.json"), []byte(`{"id":"r","imp":[{"id":"1","banner":{}}],"tmax":200}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ramp.json")
	var stdout, stderr bytes.Buffer
	err := runLoadtest(context.Background(), []string{"--target", srv.URL, "--corpus", dir, "--ramp", "50:100:50",
		"--duration", "200ms", "--json", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "holds") || !strings.HasSuffix(lines[1], "holds") ||
		!strings.HasPrefix(lines[2], "highest rate that holds: 100/s, the last step") {
		t.Errorf("output:\n%s", stdout.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Best  float64 `json:"best_qps"`
		Steps []struct {
			Result struct {
				Seats map[string]struct {
					Bids int64 `json:"bids"`
				} `json:"seats"`
			} `json:"result"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(data, &rep); err != nil || rep.Best != 100 || len(rep.Steps) != 2 || rep.Steps[1].Result.Seats["alpha"].Bids != 20 {
		t.Errorf("JSON report %s (%v)", data, err)
	}
}

// `bidsieve loadtest --compare --json` prints both sides as one JSON object.
func TestLoadtestCompareJSON(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a, b := bidServer("alpha", 2), bidServer("beta", 1)
	defer a.Close()
	defer b.Close()
	var stdout, stderr bytes.Buffer
	err := runLoadtest(context.Background(), []string{"--target", a.URL, "--target-b", b.URL, "--compare", "--profiles", exampleProfiles,
		"--qps", "100", "--duration", "200ms", "--json"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, stderr.String())
	}
	var rep struct {
		A, B struct {
			RevenueMicros int64 `json:"revenue_micros"`
		}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
	}
	_ = json.Unmarshal(raw["result_a"], &rep.A)
	_ = json.Unmarshal(raw["result_b"], &rep.B)
	if rep.A.RevenueMicros != 40_000_000 || rep.B.RevenueMicros != 20_000_000 {
		t.Errorf("revenue %d and %d micros, want 40 and 20 CPM:\n%s", rep.A.RevenueMicros, rep.B.RevenueMicros, stdout.String())
	}
}
