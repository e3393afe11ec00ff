package maint

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func maintZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// maintWalk follows w from from to to with NextChange and lists where ActiveAt
// changes, as "+" (enter) or "-" (leave) and the local time in loc.
func maintWalk(t *testing.T, w *Window, from, to time.Time, loc *time.Location) []string {
	t.Helper()
	var out []string
	cur, active := from, w.ActiveAt(from)
	for steps := 0; ; steps++ {
		if steps > 10000 {
			t.Fatal("walk does not end")
		}
		next, ok := w.NextChange(cur)
		if !ok || next.After(to) {
			return out
		}
		if !next.After(cur) {
			t.Fatalf("NextChange(%v) = %v, not after it", cur, next)
		}
		if a := w.ActiveAt(next); a != active {
			sign := "-"
			if a {
				sign = "+"
			}
			out = append(out, sign+next.In(loc).Format("2006-01-02 15:04 MST"))
			active = a
		}
		cur = next
	}
}

func TestWindowOnce(t *testing.T) {
	start := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Minute)
	w := &Window{Start: start, Duration: 90 * time.Minute}
	for _, tc := range []struct {
		name   string
		at     time.Time
		active bool
		next   time.Time // zero: none
	}{
		{"long before", start.AddDate(-1, 0, 0), false, start},
		{"just before", start.Add(-1), false, start},
		{"at start", start, true, end},
		{"inside", start.Add(time.Hour), true, end},
		{"last instant", end.Add(-1), true, end},
		{"at end", end, false, time.Time{}},
		{"after", end.AddDate(1, 0, 0), false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := w.ActiveAt(tc.at); got != tc.active {
				t.Errorf("ActiveAt = %v, want %v", got, tc.active)
			}
			next, ok := w.NextChange(tc.at)
			if ok != !tc.next.IsZero() || !next.Equal(tc.next) {
				t.Errorf("NextChange = %v, %v; want %v", next, ok, tc.next)
			}
		})
	}
}

func TestWindowDailyDST(t *testing.T) {
	berlin := maintZone(t, "Europe/Berlin")
	utc := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2025, mo, d, h, mi, 0, 0, time.UTC) }
	w := &Window{
		Start:    time.Date(2025, 3, 25, 2, 0, 0, 0, berlin),
		Duration: time.Hour,
		Repeat:   Daily,
	}
	for _, tc := range []struct {
		name       string
		start, end time.Time // the occurrence, in UTC
	}{
		{"first", utc(3, 25, 1, 0), utc(3, 25, 2, 0)},
		{"winter time", utc(3, 29, 1, 0), utc(3, 29, 2, 0)},
		// 02:00 does not exist on 30 March; time.Date makes it 03:00 CEST.
		{"spring forward", utc(3, 30, 1, 0), utc(3, 30, 2, 0)},
		{"summer time", utc(3, 31, 0, 0), utc(3, 31, 1, 0)},
		{"months later", utc(7, 14, 0, 0), utc(7, 14, 1, 0)},
		// 02:00 happens twice on 26 October; time.Date picks the second.
		{"fall back", utc(10, 26, 1, 0), utc(10, 26, 2, 0)},
		{"winter again", utc(10, 27, 1, 0), utc(10, 27, 2, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				at   time.Time
				want bool
			}{
				{tc.start.Add(-1), false},
				{tc.start, true},
				{tc.end.Add(-1), true},
				{tc.end, false},
			} {
				if got := w.ActiveAt(c.at); got != c.want {
					t.Errorf("ActiveAt(%v) = %v, want %v", c.at.In(berlin), got, c.want)
				}
			}
			if next, ok := w.NextChange(tc.start.Add(-time.Minute)); !ok || !next.Equal(tc.start) {
				t.Errorf("NextChange before = %v, %v; want %v", next, ok, tc.start)
			}
			if next, ok := w.NextChange(tc.start); !ok || !next.Equal(tc.end) {
				t.Errorf("NextChange inside = %v, %v; want %v", next, ok, tc.end)
			}
		})
	}

	// Duration is elapsed time: on the change day a 01:30 window of two
	// hours ends at 04:30 by the clock.
	w = &Window{Start: time.Date(2025, 3, 28, 1, 30, 0, 0, berlin), Duration: 2 * time.Hour, Repeat: Daily}
	got := maintWalk(t, w, time.Date(2025, 3, 28, 0, 0, 0, 0, berlin), time.Date(2025, 4, 1, 0, 0, 0, 0, berlin), berlin)
	want := []string{
		"+2025-03-28 01:30 CET", "-2025-03-28 03:30 CET",
		"+2025-03-29 01:30 CET", "-2025-03-29 03:30 CET",
		"+2025-03-30 01:30 CET", "-2025-03-30 04:30 CEST",
		"+2025-03-31 01:30 CEST", "-2025-03-31 03:30 CEST",
	}
	if !slices.Equal(got, want) {
		t.Errorf("walk:\n got %q\nwant %q", got, want)
	}
}

func TestWindowGapDayNewYork(t *testing.T) {
	ny := maintZone(t, "America/New_York")
	w := &Window{Start: time.Date(2025, 3, 7, 2, 30, 0, 0, ny), Duration: time.Hour, Repeat: Daily}
	// 02:30 does not exist on 9 March; the occurrence is moved by the
	// hour skipped, in whichever direction time.Date normalizes it.
	want := time.Date(2025, 3, 9, 2, 30, 0, 0, ny)
	early, late := time.Date(2025, 3, 9, 6, 30, 0, 0, time.UTC), time.Date(2025, 3, 9, 7, 30, 0, 0, time.UTC)
	if !want.Equal(early) && !want.Equal(late) {
		t.Fatalf("time.Date gives %v for the gap", want)
	}
	next, ok := w.NextChange(time.Date(2025, 3, 8, 12, 0, 0, 0, ny))
	if !ok || !next.Equal(want) {
		t.Fatalf("NextChange = %v, %v; want %v", next, ok, want)
	}
	if !w.ActiveAt(want) || !w.ActiveAt(want.Add(time.Hour-1)) || w.ActiveAt(want.Add(time.Hour)) {
		t.Error("occurrence on the gap day is not [start, start+1h)")
	}
	// The day after, the window is back at 02:30 by the clock.
	next, ok = w.NextChange(want.Add(time.Hour))
	if want := time.Date(2025, 3, 10, 2, 30, 0, 0, ny); !ok || !next.Equal(want) {
		t.Errorf("NextChange after the gap day = %v, %v; want %v", next, ok, want)
	}
}

func TestWindowDailyUntil(t *testing.T) {
	day := func(d, h, mi int) time.Time { return time.Date(2025, 1, d, h, mi, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name  string
		until time.Time
		walk  []string
	}{
		{"last start at Until", day(3, 10, 0), []string{
			"+2025-01-01 10:00 UTC", "-2025-01-01 11:00 UTC",
			"+2025-01-02 10:00 UTC", "-2025-01-02 11:00 UTC",
			"+2025-01-03 10:00 UTC", "-2025-01-03 11:00 UTC",
		}},
		{"Until inside an occurrence", day(2, 10, 30), []string{
			"+2025-01-01 10:00 UTC", "-2025-01-01 11:00 UTC",
			"+2025-01-02 10:00 UTC", "-2025-01-02 11:00 UTC",
		}},
		{"Until just before a start", day(3, 9, 59), []string{
			"+2025-01-01 10:00 UTC", "-2025-01-01 11:00 UTC",
			"+2025-01-02 10:00 UTC", "-2025-01-02 11:00 UTC",
		}},
		{"Until at Start", day(1, 10, 0), []string{
			"+2025-01-01 10:00 UTC", "-2025-01-01 11:00 UTC",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Window{Start: day(1, 10, 0), Duration: time.Hour, Repeat: Daily, Until: tc.until}
			got := maintWalk(t, w, day(1, 0, 0), day(31, 0, 0), time.UTC)
			if !slices.Equal(got, tc.walk) {
				t.Errorf("walk:\n got %q\nwant %q", got, tc.walk)
			}
			if _, ok := w.NextChange(day(5, 0, 0)); ok {
				t.Error("NextChange after the last occurrence reports a change")
			}
			if w.ActiveAt(day(4, 10, 30)) {
				t.Error("active on a day after Until")
			}
		})
	}
}

func TestWindowWeekly(t *testing.T) {
	berlin := maintZone(t, "Europe/Berlin")
	at := func(d, h, mi int) time.Time { return time.Date(2025, 3, d, h, mi, 0, 0, berlin) }
	monWedFri := []time.Weekday{time.Monday, time.Wednesday, time.Friday}
	for _, tc := range []struct {
		name string
		w    Window
		walk []string
	}{
		{
			// Start is a Saturday, which is not listed: the first
			// occurrence is the Monday after.
			"Mon/Wed/Fri", Window{Start: at(1, 9, 0), Duration: time.Hour, Repeat: Weekly, Weekdays: monWedFri},
			[]string{
				"+2025-03-03 09:00 CET", "-2025-03-03 10:00 CET",
				"+2025-03-05 09:00 CET", "-2025-03-05 10:00 CET",
				"+2025-03-07 09:00 CET", "-2025-03-07 10:00 CET",
				"+2025-03-10 09:00 CET", "-2025-03-10 10:00 CET",
			},
		},
		{
			"default weekday", Window{Start: at(4, 9, 0), Duration: time.Hour, Repeat: Weekly},
			[]string{
				"+2025-03-04 09:00 CET", "-2025-03-04 10:00 CET",
				"+2025-03-11 09:00 CET", "-2025-03-11 10:00 CET",
			},
		},
		{
			// Saturday and Sunday nights; Sunday's runs into Monday.
			"across the week boundary", Window{Start: at(1, 23, 0), Duration: 3 * time.Hour, Repeat: Weekly,
				Weekdays: []time.Weekday{time.Sunday, time.Saturday}},
			[]string{
				"+2025-03-01 23:00 CET", "-2025-03-02 02:00 CET",
				"+2025-03-02 23:00 CET", "-2025-03-03 02:00 CET",
				"+2025-03-08 23:00 CET", "-2025-03-09 02:00 CET",
				"+2025-03-09 23:00 CET", "-2025-03-10 02:00 CET",
			},
		},
		{
			// Eight days every Saturday: each occurrence runs into the next.
			"longer than the week", Window{Start: at(1, 12, 0), Duration: 8 * 24 * time.Hour, Repeat: Weekly},
			[]string{"+2025-03-01 12:00 CET"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if field, err := tc.w.Check(); err != nil {
				t.Fatalf("check: %s: %v", field, err)
			}
			got := maintWalk(t, &tc.w, at(1, 0, 0), at(12, 0, 0), berlin)
			if !slices.Equal(got, tc.walk) {
				t.Errorf("walk:\n got %q\nwant %q", got, tc.walk)
			}
		})
	}
}

func TestWindowWalkMonth(t *testing.T) {
	berlin := maintZone(t, "Europe/Berlin")
	w := &Window{
		Start:    time.Date(2025, 2, 1, 22, 0, 0, 0, berlin),
		Duration: 4 * time.Hour,
		Repeat:   Weekly,
		Weekdays: []time.Weekday{time.Friday, time.Monday, time.Wednesday},
	}
	want := []string{"-2025-03-01 02:00 CET"} // from Friday 28 February
	for _, d := range []int{3, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28, 31} {
		on := time.Date(2025, 3, d, 22, 0, 0, 0, berlin)
		want = append(want, "+"+on.Format("2006-01-02 15:04 MST"),
			"-"+time.Date(2025, 3, d+1, 2, 0, 0, 0, berlin).Format("2006-01-02 15:04 MST"))
	}
	got := maintWalk(t, w, time.Date(2025, 3, 1, 0, 0, 0, 0, berlin), time.Date(2025, 4, 1, 12, 0, 0, 0, berlin), berlin)
	if !slices.Equal(got, want) {
		t.Errorf("walk:\n got %q\nwant %q", got, want)
	}
	if !strings.HasSuffix(want[len(want)-1], "CEST") {
		t.Errorf("the month does not reach summer time: %q", want[len(want)-1])
	}
}

func TestWindowOverlap(t *testing.T) {
	berlin := maintZone(t, "Europe/Berlin")
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, berlin)
	w := &Window{Start: start, Duration: 30 * time.Hour, Repeat: Daily}
	if w.ActiveAt(start.Add(-1)) {
		t.Error("active before Start")
	}
	for at := start; at.Before(start.AddDate(0, 2, 0)); at = at.Add(7 * time.Minute) {
		if !w.ActiveAt(at) {
			t.Fatalf("inactive at %v", at)
		}
	}
	// With the window always active, each change to consider is the next
	// start, at 10:00 by the clock.
	at := start
	for i := 1; i <= 60; i++ {
		next, ok := w.NextChange(at)
		if want := time.Date(2025, 3, 1+i, 10, 0, 0, 0, berlin); !ok || !next.Equal(want) {
			t.Fatalf("NextChange(%v) = %v, %v; want %v", at, next, ok, want)
		}
		at = next
	}
	got := maintWalk(t, w, start.Add(-time.Hour), start.AddDate(0, 2, 0), berlin)
	if want := []string{"+2025-03-01 10:00 CET"}; !slices.Equal(got, want) {
		t.Errorf("walk = %q, want %q", got, want)
	}

	// With Until, the last occurrence still runs its 30 hours.
	w.Until = start.AddDate(0, 0, 2)
	got = maintWalk(t, w, start.Add(-time.Hour), start.AddDate(0, 1, 0), berlin)
	if want := []string{"+2025-03-01 10:00 CET", "-2025-03-04 16:00 CET"}; !slices.Equal(got, want) {
		t.Errorf("walk with Until = %q, want %q", got, want)
	}
}

func TestWindowFarFromStart(t *testing.T) {
	berlin := maintZone(t, "Europe/Berlin")
	// 2020-01-06 is a Monday; 2050-06-01 a Wednesday.
	start := time.Date(2020, 1, 6, 22, 0, 0, 0, berlin)
	at := time.Date(2050, 6, 1, 12, 0, 0, 0, berlin)
	for _, tc := range []struct {
		name     string
		duration time.Duration
		active   bool
		next     time.Time
	}{
		{"short", time.Hour, false, time.Date(2050, 6, 6, 22, 0, 0, 0, berlin)},
		{"three days", 72 * time.Hour, true, time.Date(2050, 6, 2, 22, 0, 0, 0, berlin)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Window{Start: start, Duration: tc.duration, Repeat: Weekly}
			if got := w.ActiveAt(at); got != tc.active {
				t.Errorf("ActiveAt = %v, want %v", got, tc.active)
			}
			if next, ok := w.NextChange(at); !ok || !next.Equal(tc.next) {
				t.Errorf("NextChange = %v, %v; want %v", next, ok, tc.next)
			}
		})
	}
	w := &Window{Start: start, Duration: time.Hour, Repeat: Daily}
	if next, ok := w.NextChange(at); !ok || !next.Equal(time.Date(2050, 6, 1, 22, 0, 0, 0, berlin)) {
		t.Errorf("daily NextChange = %v, %v", next, ok)
	}
}

// maintOccurrences lists the starts of w's occurrences up to horizon the slow
// way, day by day from Start.
func maintOccurrences(w *Window, horizon time.Time) []time.Time {
	if w.Repeat == Once {
		return []time.Time{w.Start}
	}
	loc := w.Location
	if loc == nil {
		loc = w.Start.Location()
	}
	s := w.Start.In(loc)
	days := w.Weekdays
	if w.Repeat == Daily {
		days = []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	} else if len(days) == 0 {
		days = []time.Weekday{s.Weekday()}
	}
	var out []time.Time
	for n := 0; ; n++ {
		noon := time.Date(s.Year(), s.Month(), s.Day()+n, 12, 0, 0, 0, loc)
		st := time.Date(s.Year(), s.Month(), s.Day()+n, s.Hour(), s.Minute(), s.Second(), s.Nanosecond(), loc)
		if n == 0 {
			st = w.Start
		}
		if st.After(horizon) || (!w.Until.IsZero() && st.After(w.Until)) {
			return out
		}
		if slices.Contains(days, noon.Weekday()) && !st.Before(w.Start) {
			out = append(out, st)
		}
	}
}

// TestWindowMatchesEnumeration compares ActiveAt and NextChange
// with a day-by-day enumeration of the occurrences.
func TestWindowMatchesEnumeration(t *testing.T) {
	berlin := maintZone(t, "Europe/Berlin")
	ny := maintZone(t, "America/New_York")
	from := time.Date(2025, 2, 20, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC)
	windows := []Window{
		{Start: time.Date(2025, 3, 1, 2, 30, 0, 0, berlin), Duration: time.Hour, Repeat: Daily},
		{Start: time.Date(2025, 3, 1, 2, 30, 0, 0, ny), Duration: 45 * time.Minute, Repeat: Daily},
		{Start: time.Date(2025, 3, 1, 23, 0, 0, 0, time.UTC), Duration: 5 * time.Hour, Repeat: Daily, Location: ny},
		{Start: time.Date(2025, 3, 1, 10, 0, 0, 0, berlin), Duration: 30 * time.Hour, Repeat: Daily, Until: time.Date(2025, 3, 20, 0, 0, 0, 0, berlin)},
		{Start: time.Date(2025, 3, 2, 22, 0, 0, 0, berlin), Duration: 4 * time.Hour, Repeat: Weekly,
			Weekdays: []time.Weekday{time.Monday, time.Wednesday, time.Friday}},
		{Start: time.Date(2025, 3, 2, 1, 0, 0, 0, ny), Duration: 50 * time.Hour, Repeat: Weekly,
			Weekdays: []time.Weekday{time.Sunday, time.Tuesday}},
		{Start: time.Date(2025, 2, 25, 12, 0, 0, 0, berlin), Duration: MaxDuration, Repeat: Weekly},
		{Start: time.Date(2025, 2, 27, 12, 0, 0, 0, berlin), Duration: 20 * 24 * time.Hour, Repeat: Weekly,
			Weekdays: []time.Weekday{time.Saturday}, Until: time.Date(2025, 3, 10, 0, 0, 0, 0, berlin)},
		{Start: time.Date(2025, 3, 5, 8, 0, 0, 0, berlin), Duration: 3 * time.Hour},
	}
	for i := range windows {
		w := &windows[i]
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if field, err := w.Check(); err != nil {
				t.Fatalf("check: %s: %v", field, err)
			}
			occ := maintOccurrences(w, to.AddDate(0, 0, 40))
			active := func(at time.Time) bool {
				for _, s := range occ {
					if !at.Before(s) && at.Before(s.Add(w.Duration)) {
						return true
					}
				}
				return false
			}
			// The instant NextChange must return: the next start, or the end
			// of the latest occurrence covering at if that is sooner.
			want := func(at time.Time) (time.Time, bool) {
				var next time.Time
				ok := false
				for _, s := range occ {
					if s.After(at) {
						next, ok = s, true
						break
					}
				}
				for j := len(occ) - 1; j >= 0; j-- {
					if s := occ[j]; !s.After(at) {
						if end := s.Add(w.Duration); end.After(at) && (!ok || end.Before(next)) {
							next, ok = end, true
						}
						break
					}
				}
				return next, ok
			}
			samples := []time.Time{}
			for at := from; at.Before(to); at = at.Add(37 * time.Minute) {
				samples = append(samples, at)
			}
			for _, s := range occ {
				for _, b := range []time.Time{s, s.Add(w.Duration)} {
					if b.Before(to) {
						samples = append(samples, b.Add(-1), b, b.Add(1))
					}
				}
			}
			for _, at := range samples {
				a := active(at)
				if got := w.ActiveAt(at); got != a {
					t.Fatalf("ActiveAt(%v) = %v, want %v", at, got, a)
				}
				wn, wok := want(at)
				got, ok := w.NextChange(at)
				if ok != wok || !got.Equal(wn) {
					t.Fatalf("NextChange(%v) = %v, %v; want %v, %v", at, got, ok, wn, wok)
				}
				// Nothing changes before the instant returned.
				for _, s := range occ {
					for _, b := range []time.Time{s, s.Add(w.Duration)} {
						if b.After(at) && (!ok || b.Before(got)) && active(b) != a {
							t.Fatalf("NextChange(%v) = %v, %v skips a change at %v", at, got, ok, b)
						}
					}
				}
			}
		})
	}
}

func TestWindowCheck(t *testing.T) {
	start := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		w     Window
		field string // "" if valid
		msg   string // part of the error message
	}{
		{"once", Window{Start: start, Duration: time.Hour}, "", ""},
		{"weekly", Window{Start: start, Duration: time.Hour, Repeat: Weekly,
			Weekdays: []time.Weekday{time.Sunday, time.Saturday}, Until: start}, "", ""},
		{"overlapping daily", Window{Start: start, Duration: 30 * time.Hour, Repeat: Daily}, "", ""},
		{"longest", Window{Start: start, Duration: MaxDuration}, "", ""},
		{"zero start", Window{Duration: time.Hour}, "Start", "zero"},
		{"zero duration", Window{Start: start}, "Duration", "0s is not positive"},
		{"negative duration", Window{Start: start, Duration: -time.Minute}, "Duration", "-1m0s"},
		{"too long", Window{Start: start, Duration: MaxDuration + 1, Repeat: Daily},
			"Duration", "above the maximum 744h0m0s"},
		{"bad repeat", Window{Start: start, Duration: time.Hour, Repeat: 3}, "Repeat", "unknown recurrence 3"},
		{"weekdays on daily", Window{Start: start, Duration: time.Hour, Repeat: Daily,
			Weekdays: []time.Weekday{time.Monday}}, "Weekdays", "[Monday] given for a Daily window"},
		{"weekdays on once", Window{Start: start, Duration: time.Hour,
			Weekdays: []time.Weekday{time.Monday}}, "Weekdays", "Once"},
		{"weekday too big", Window{Start: start, Duration: time.Hour, Repeat: Weekly,
			Weekdays: []time.Weekday{time.Monday, 7}}, "Weekdays", "7 is not a weekday"},
		{"negative weekday", Window{Start: start, Duration: time.Hour, Repeat: Weekly,
			Weekdays: []time.Weekday{-1}}, "Weekdays", "-1 is not a weekday"},
		{"duplicate weekday", Window{Start: start, Duration: time.Hour, Repeat: Weekly,
			Weekdays: []time.Weekday{time.Friday, time.Monday, time.Friday}}, "Weekdays", "Friday listed twice"},
		{"until before start", Window{Start: start, Duration: time.Hour, Repeat: Daily,
			Until: start.Add(-time.Second)}, "Until", "2025-06-01 09:59:59 +0000 UTC is before Start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field, err := tc.w.Check()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("check = %s: %v, want valid", field, err)
				}
				return
			}
			if err == nil || field != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("check = %q, %v; want %q and an error containing %q", field, err, tc.field, tc.msg)
			}
		})
	}
}

func TestWindowNoAllocs(t *testing.T) {
	berlin := maintZone(t, "Europe/Berlin")
	w := &Window{Start: time.Date(2020, 1, 6, 22, 0, 0, 0, berlin), Duration: 4 * time.Hour, Repeat: Weekly,
		Weekdays: []time.Weekday{time.Monday, time.Wednesday, time.Friday}}
	at := time.Date(2040, 3, 30, 1, 0, 0, 0, berlin)
	if n := testing.AllocsPerRun(100, func() {
		w.ActiveAt(at)
		w.NextChange(at)
	}); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}

func BenchmarkMaintenanceNextChange(b *testing.B) {
	berlin := maintZone(b, "Europe/Berlin")
	w := &Window{Start: time.Date(2020, 1, 6, 22, 0, 0, 0, berlin), Duration: 4 * time.Hour, Repeat: Weekly,
		Weekdays: []time.Weekday{time.Monday, time.Wednesday, time.Friday}}
	from := time.Date(2040, 1, 1, 0, 0, 0, 0, berlin)
	at := from
	b.ReportAllocs()
	for b.Loop() {
		next, ok := w.NextChange(at)
		if !ok {
			b.Fatal("no next change")
		}
		_ = w.ActiveAt(next)
		at = next
	}
}
