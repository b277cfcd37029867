package e2e

import (
	"os"
	"runtime"
	"strings"
	"syscall"
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

// ProcessCPU of this process agrees with the kernel's own account of it, getrusage, over
// 200 ms of CPU burnt in a loop (however crowded the machine).
func TestProcessCPUAgreesWithGetrusage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	p0, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r0 := rusage()
	x := 0
	for deadline := time.Now().Add(30 * time.Second); rusage()-r0 < 200*time.Millisecond && time.Now().Before(deadline); {
		x++
	}
	p1, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r1 := rusage()
	// /proc counts in 10 ms ticks, getrusage more finely: a few ticks apart at most.
	if got, want := p1-p0, r1-r0; want < 200*time.Millisecond || got < want-50*time.Millisecond || got > want+50*time.Millisecond || x == 0 {
		t.Errorf("ProcessCPU grew by %v, getrusage by %v: want them within 50 ms, over at least 200 ms", got, want)
	}
	if _, err := ProcessCPU(1 << 30); err == nil || !strings.Contains(err.Error(), "process 1073741824") {
		t.Errorf("ProcessCPU of no process: %v, want an error naming it", err)
	}
}
