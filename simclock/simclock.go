// Package simclock is the simulated clock of `bidsieve serve --clock` and `bidsieve dsp-sim
// --clock`: time that starts at a chosen instant and runs a chosen number of times faster
// than the wall clock, so that days of traffic pass in minutes for tests, benchmarks and
// `make loop`. Only what the traffic is about follows it (features, bid-log timestamps, the
// simulator's hour_utc terms); deadlines, timeouts and rate limits keep the real clock.
package simclock

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxSpeed bounds the speed-up: 86,400 is a simulated day per real second.
const MaxSpeed = 86400

// Clock is simulated time: Start at the real instant it was made, then Speed simulated
// seconds per real second. It is safe for concurrent use.
type Clock struct {
	start time.Time // simulated time at origin
	speed float64
	real  time.Time // the real instant of start (carries the monotonic reading)
	wall  func() time.Time
}

// Parse reads a --clock spec: START or START,SPEEDx. START is an RFC 3339 time
// (2024-03-01T06:00:00Z), a date (2024-03-01, midnight UTC) or "now"; SPEED is a positive
// number up to MaxSpeed, with or without its trailing x (1440x: a simulated day per real
// minute); 1 when absent. wall is the real clock (time.Now when nil).
func Parse(spec string, wall func() time.Time) (*Clock, error) {
	if wall == nil {
		wall = time.Now
	}
	startS, speedS, hasSpeed := strings.Cut(strings.TrimSpace(spec), ",")
	now := wall()
	var start time.Time
	switch startS = strings.TrimSpace(startS); {
	case startS == "":
		return nil, fmt.Errorf("clock %q: want START or START,SPEEDx (2024-03-01,1440x)", spec)
	case startS == "now":
		start = now
	default:
		var err error
		if start, err = time.Parse(time.RFC3339, startS); err != nil {
			if start, err = time.Parse(time.DateOnly, startS); err != nil {
				return nil, fmt.Errorf("clock %q: start %q is neither RFC 3339 (2024-03-01T06:00:00Z), a date (2024-03-01) nor now", spec, startS)
			}
		}
	}
	speed := 1.0
	if hasSpeed {
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(speedS), "x"), 64)
		if err != nil || !(v > 0) || v > MaxSpeed {
			return nil, fmt.Errorf("clock %q: speed %q must be a number in (0, %d], like 1440x", spec, speedS, MaxSpeed)
		}
		speed = v
	}
	return &Clock{start: start.UTC(), speed: speed, real: now, wall: wall}, nil
}

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	elapsed := c.wall().Sub(c.real)
	return c.start.Add(time.Duration(float64(elapsed) * c.speed))
}

// Speed returns how many simulated seconds pass per real second.
func (c *Clock) Speed() float64 { return c.speed }

// String describes the clock for logs: its start and speed.
func (c *Clock) String() string {
	return c.start.Format(time.RFC3339) + " at " + strconv.FormatFloat(c.speed, 'g', -1, 64) + "x"
}
