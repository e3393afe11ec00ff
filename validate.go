package cpra

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/loop"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// Validate reports what [Engine.Add] would refuse in m on its own, without
// an engine: every field but those that depend on the other monitors (a
// name already in use, a dependency that closes a cycle or names a
// removed monitor). The error is a [*MonitorError].
func (m Monitor) Validate() error {
	var sp loop.Spec // on the stack: a validation allocates nothing
	return m.fill(&sp)
}

// specs holds the Specs that Add and Update fill: the engine reads a
// Spec only while the call that gave it runs, so one is used again by the
// next call rather than left to the collector (a load of a million
// monitors made 240 MB of them).
var specs = sync.Pool{New: func() any { return new(loop.Spec) }}

// spec checks m and turns it into what the engine stores, filling in the
// defaults. The caller gives the Spec back with putSpec once the engine
// has taken the call.
func (m *Monitor) spec() (*loop.Spec, error) {
	sp := specs.Get().(*loop.Spec)
	if err := m.fill(sp); err != nil {
		putSpec(sp)
		return nil, err
	}
	return sp, nil
}

// putSpec gives sp back, emptied, so that it holds on to no checker,
// notifier or labels of the monitor it was filled with.
func putSpec(sp *loop.Spec) {
	*sp = loop.Spec{}
	specs.Put(sp)
}

// fill is spec into sp.
func (m *Monitor) fill(sp *loop.Spec) error {
	bad := func(field string, err error) error {
		return &MonitorError{Monitor: m.Name, Field: field, Err: err}
	}
	if m.Name == "" {
		return bad("Name", errors.New("empty"))
	}
	if m.Check == nil {
		return bad("Check", errors.New("nil"))
	}
	iv, to := m.Interval, m.Timeout
	switch {
	case iv < 0:
		return bad("Interval", fmt.Errorf("negative (%v)", iv))
	case iv == 0:
		iv = DefaultInterval
	case iv < MinInterval:
		return bad("Interval", fmt.Errorf("%v is below the minimum %v", iv, MinInterval))
	case iv > MaxInterval:
		return bad("Interval", fmt.Errorf("%v is above the maximum %v", iv, MaxInterval))
	}
	switch {
	case to < 0:
		return bad("Timeout", fmt.Errorf("negative (%v)", to))
	case to == 0:
		to = min(DefaultTimeout, iv)
	case to > MaxInterval:
		return bad("Timeout", fmt.Errorf("%v is above the maximum %v", to, MaxInterval))
	}
	count := func(field string, v, def int) (uint16, error) {
		switch {
		case v < 0:
			return 0, &MonitorError{Monitor: m.Name, Field: field, Err: fmt.Errorf("negative (%d)", v)}
		case v == 0:
			return uint16(def), nil
		case v > maxCount:
			return 0, &MonitorError{Monitor: m.Name, Field: field, Err: fmt.Errorf("%d is above the maximum %d", v, maxCount)}
		}
		return uint16(v), nil
	}
	ft, err := count("FailureThreshold", m.FailureThreshold, DefaultFailureThreshold)
	if err != nil {
		return err
	}
	st, err := count("SuccessThreshold", m.SuccessThreshold, DefaultSuccessThreshold)
	if err != nil {
		return err
	}
	mr, err := count("MaxRemediations", m.MaxRemediations, 1)
	if err != nil {
		return err
	}
	if err := checkPolicy(m.Name, &m.Policy); err != nil {
		return err
	}
	switch ri := m.RetryInterval; {
	case ri < 0 || (ri > 0 && ri < MinInterval):
		return bad("RetryInterval", fmt.Errorf("%v is below the minimum %v", ri, MinInterval))
	case ri > iv:
		return bad("RetryInterval", fmt.Errorf("%v is longer than the interval %v", ri, iv))
	}
	switch rp := m.RepeatInterval; {
	case rp < 0 || (rp > 0 && rp < MinInterval):
		return bad("RepeatInterval", fmt.Errorf("%v is below the minimum %v", rp, MinInterval))
	case rp > MaxInterval:
		return bad("RepeatInterval", fmt.Errorf("%v is above the maximum %v", rp, MaxInterval))
	}
	if w := m.FailureWindow; w < 0 || w > 64 || (w > 0 && w < int(ft)) {
		return bad("FailureWindow", fmt.Errorf("%d: want 0, or from FailureThreshold (%d) to 64", w, ft))
	}
	if m.Quorum < 0 || m.Quorum > 255 {
		return bad("Quorum", fmt.Errorf("%d: want 0 to 255 locations", m.Quorum))
	}
	rules := episode.Settings{
		Quorum:        uint8(m.Quorum),
		Retry:         m.RetryInterval.Milliseconds(),
		Repeat:        m.RepeatInterval.Milliseconds(),
		FailThreshold: ft,
		SuccThreshold: st,
		FailureWindow: uint8(m.FailureWindow),
	}
	if f := m.Flap; f.High != 0 || f.Low != 0 {
		switch {
		case !(f.High > 0 && f.High <= 100):
			return bad("Flap.High", fmt.Errorf("%v: want a percentage above 0, up to 100", f.High))
		case !(f.Low >= 0 && f.Low < f.High):
			return bad("Flap.Low", fmt.Errorf("%v: want a percentage from 0 to below High (%v)", f.Low, f.High))
		}
		low := f.Low
		if low == 0 {
			low = f.High / 2
		}
		// Sums are percentages times 19 (see episode.FlapSum).
		rules.FlapHigh = uint16(math.Ceil(f.High * 19))
		rules.FlapLow = max(uint16(math.Ceil(low*19)), 1)
	}
	if m.Remediate != nil {
		p := &m.Policy
		rules.MaxAttempts = mr
		if p.MaxAttempts > 0 {
			rules.MaxAttempts = uint16(min(p.MaxAttempts, maxCount))
		}
		rules.Verify = uint16(min(p.Verify, maxCount))
		rules.Backoff = p.Backoff.Milliseconds()
		rules.MaxBackoff = p.MaxBackoff.Milliseconds()
		rules.Jitter = p.Jitter
		rules.Cooldown = p.Cooldown.Milliseconds()
		rules.DryRun = p.DryRun
	}
	for i := range m.DependsOn {
		r := m.DependsOn[i]
		switch {
		case !r.ID.IsZero() && r.Name != "":
			return bad(fmt.Sprintf("DependsOn[%d]", i), fmt.Errorf("both ID %v and name %q: set one", r.ID, r.Name))
		case r.ID.IsZero() && r.Name == "":
			return bad(fmt.Sprintf("DependsOn[%d]", i), errors.New("empty: set an ID or a name"))
		case r.Name == m.Name:
			return bad(fmt.Sprintf("DependsOn[%d]", i), errors.New("a monitor cannot depend on itself"))
		}
	}
	wins, field, err := windows(m.Maintenance)
	if err != nil {
		return bad("Maintenance"+field, err)
	}
	*sp = loop.Spec{
		Name:        m.Name,
		Check:       compactCheck(m.Check),
		Interval:    iv,
		Timeout:     to,
		Rules:       rules,
		Remediate:   m.Remediate,
		FixTimeout:  cmp.Or(m.Policy.Timeout, to),
		Limit:       m.Policy.Limit,
		Window:      m.Policy.Window,
		Notify:      m.Notify,
		Labels:      m.Labels,
		Maintenance: wins,
	}
	for _, r := range m.DependsOn {
		sp.DependsOn = append(sp.DependsOn, loop.Ref{ID: r.ID.e, Name: r.Name})
	}
	return nil
}

func checkPolicy(name string, p *intervene.Policy) error {
	bad := func(field, format string, args ...any) error {
		return &MonitorError{Monitor: name, Field: "Policy." + field, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case p.MaxAttempts < 0:
		return bad("MaxAttempts", "negative (%d)", p.MaxAttempts)
	case p.Backoff < 0:
		return bad("Backoff", "negative (%v)", p.Backoff)
	case p.MaxBackoff < 0:
		return bad("MaxBackoff", "negative (%v)", p.MaxBackoff)
	case !(p.Jitter >= 0 && p.Jitter <= 1):
		return bad("Jitter", "%v is not a share from 0 to 1", p.Jitter)
	case p.Verify < 0:
		return bad("Verify", "negative (%d)", p.Verify)
	case p.Cooldown < 0:
		return bad("Cooldown", "negative (%v)", p.Cooldown)
	case p.Limit < 0:
		return bad("Limit", "negative (%d)", p.Limit)
	case p.Limit > 0 && p.Window <= 0:
		return bad("Window", "a Limit needs a positive Window")
	case p.Timeout < 0:
		return bad("Timeout", "negative (%v)", p.Timeout)
	case p.Timeout > MaxInterval:
		return bad("Timeout", "%v is above the maximum %v", p.Timeout, MaxInterval)
	}
	return nil
}

var _ = time.Second

// compactCheck returns the checker the engine keeps for c: the value of a
// *pulse.HTTPChecker, which is one pointer and goes into an interface
// without a heap object of its own (8 bytes a monitor at a million), and
// c itself otherwise. The engine never hands a checker back, and the value
// checks what the pointer does, so the caller sees no difference.
func compactCheck(c pulse.Checker) pulse.Checker {
	if h, ok := c.(*pulse.HTTPChecker); ok && h != nil {
		return *h
	}
	return c
}
