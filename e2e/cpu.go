package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: the kernel reports them in
// USER_HZ ticks, 100 a second on every Linux architecture Go supports (the same constant
// prometheus/procfs uses; sysconf(_SC_CLK_TCK) needs cgo).
const userHZ = 100

// ProcessCPU returns the CPU time a running process has used so far, user plus system,
// all its threads together, from /proc/PID/stat (Linux only). The resolution is 10 ms.
func ProcessCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of process %d: %w", pid, err)
	}
	d, err := parseStatCPU(data)
	if err != nil {
		return 0, fmt.Errorf("cpu time of process %d: %w", pid, err)
	}
	return d, nil
}

// parseStatCPU reads utime + stime (fields 14 and 15) from the text of /proc/PID/stat.
// Field 2, the command name in parentheses, may hold spaces and parentheses itself, so
// the fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("no command name in %q", shorten(stat))
	}
	fields := bytes.Fields(stat[end+1:]) // fields 3 onwards
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	var ticks uint64
	for _, f := range fields[11:13] { // utime, stime
		v, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("utime or stime %q: %w", f, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

func shorten(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}
