package sizing

import "math"

// Damper smooths a stream of pool sizes, such as successive
// [Decision.Workers] values computed every period, so that a pool follows a
// change in load without a sawtooth: it grows at once (by at most MaxStep per
// period), but shrinks only after the target has stayed below the current
// size, outside a dead band, for DownAfter periods in a row.
//
// The zero value grows and shrinks to the target at once. A Damper is not safe
// for concurrent use.
type Damper struct {
	// MaxStep bounds one change as a share of the current size: 0.5 lets a
	// pool of 10 go to 15 or 5 in one period. At least one worker is always
	// allowed; 0 means no bound.
	MaxStep float64
	// Deadband is the share of the current size by which the target must be
	// lower before a shrink is considered: with 0.1 a pool of 100 ignores
	// targets from 90 to 99.
	Deadband float64
	// DownAfter is the number of consecutive periods the target must stay
	// below the dead band before the pool shrinks; 0 or 1 shrinks at once.
	DownAfter int

	cur   int
	below int
}

// Current returns the last size returned by Next, 0 before the first call.
func (d *Damper) Current() int { return d.cur }

// Reset makes the next call to Next return its target unchanged.
func (d *Damper) Reset() { d.cur, d.below = 0, 0 }

// Next returns the pool size to use this period given the target size.
// The first call returns target. Targets below 1 are taken as 1.
func (d *Damper) Next(target int) int {
	target = max(target, 1)
	if d.cur == 0 {
		d.cur = target
		return d.cur
	}
	switch {
	case target > d.cur:
		d.below = 0
		d.cur += min(target-d.cur, d.step())
	case float64(target) < float64(d.cur)*(1-d.Deadband):
		d.below++
		if d.below >= d.DownAfter {
			d.cur -= min(d.cur-target, d.step())
		}
	default:
		d.below = 0
	}
	return d.cur
}

func (d *Damper) step() int {
	if d.MaxStep <= 0 {
		return math.MaxInt
	}
	return max(1, int(float64(d.cur)*d.MaxStep))
}
