package e2e

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 1234 and stime 566 ticks.
	stat := "4242 (bid (sieve) x) S 1 4242 4242 0 -1 4194560 1626 0 0 0 1234 566 0 0 20 0 9 0 123456 1468006400 3512 18446744073709551615\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 18 * time.Second; got != want {
		t.Errorf("parseStatCPU = %v, want %v (1800 ticks of 10 ms)", got, want)
	}
	for _, bad := range []string{"", "4242 bidsieve S 1", "4242 (bidsieve) S 1 2 3", "4242 (b) S 1 4242 4242 0 -1 4194560 1626 0 0 0 12x 566 0"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

// ProcessCPU of this process grows by about the CPU time a busy loop burns.
func TestProcessCPUSeesWork(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
		x++
	}
	after, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// 300 ms of wall time in a loop: at least 100 ms of CPU even on a crowded machine.
	if d := after - before; d < 100*time.Millisecond || x == 0 {
		t.Errorf("CPU time grew by %v over a 300 ms busy loop, want >= 100ms", d)
	}
	if _, err := ProcessCPU(1 << 30); err == nil || !strings.Contains(err.Error(), "process 1073741824") {
		t.Errorf("ProcessCPU of no process: %v, want an error naming it", err)
	}
}
