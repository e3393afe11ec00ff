package alerts

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/ziad/cpra/alert"
)

// lane parses a lane's waiting alerts: words such as "R1" (code, episode),
// "r1" a reminder, "G1" a green, "X1" the gray of a removal, "X" a gray
// outside any episode, "S1"/"E1" a flap-start and a green flap-end.
func parse(t *testing.T, s string) []Pending {
	var q []Pending
	reps := 0
	for _, w := range strings.Fields(s) {
		var a Pending
		switch w[0] {
		case 'Y':
			a.Code = alert.Yellow
		case 'C':
			a.Code = alert.Cyan
		case 'R':
			a.Code = alert.Red
		case 'r':
			a.Code, a.Repeat = alert.Red, uint16(reps+1)
			reps++
		case 'G':
			a.Code, a.Ends = alert.Green, true
		case 'S':
			a.Code, a.Flap = alert.Yellow, alert.FlapStart
		case 'E':
			a.Code, a.Flap, a.Ends = alert.Green, alert.FlapEnd, true
		case 'X':
			a.Code = alert.Gray
			a.Ends = len(w) > 1
		default:
			t.Fatalf("bad word %q", w)
		}
		if len(w) > 1 {
			a.Start = int64(w[1]-'0') * 1000
		}
		q = append(q, a)
	}
	return q
}

func show(q []Pending) string {
	var out []string
	for _, a := range q {
		c := map[alert.Code]string{alert.Yellow: "Y", alert.Cyan: "C", alert.Red: "R", alert.Green: "G", alert.Gray: "X"}[a.Code]
		switch {
		case a.Flap == alert.FlapStart:
			c = "S"
		case a.Flap == alert.FlapEnd:
			c = "E"
		case a.Code == alert.Red && a.Repeat > 0:
			c = "r"
		}
		if a.Start != 0 {
			c += string(rune('0' + a.Start/1000))
		}
		if a.Skipped > 0 {
			c += "+" + string(rune('0'+a.Skipped))
		}
		out = append(out, c)
	}
	return strings.Join(out, " ")
}

func TestCollapse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		sent     int64 // the episode of the last alert sent
		want     string
	}{
		{"nothing to fold", "Y1 R1 G1", 0, "Y1 R1 G1"},
		{"reminders keep the last", "R1 r1 r1 r1", 1000, "R1 r1"},
		{"cyans keep the last", "Y1 C1 C1 C1 G1", 1000, "Y1 C1 G1"},
		{"ping-pong episodes fold into one", "R1 G1 R2 G2 R3 G3 R4", 0, "R1+2 G1+2 R4"},
		{"the first red leads the summary", "Y1 G1 Y2 R2 G2 Y3", 0, "R1+1 G1+1 Y3"},
		{"an episode partly sent is kept", "G1 R2 G2 R3 G3", 1000, "G1 R2+1 G2+1"},
		{"grays between folded episodes go", "R1 G1 X R2 G2 X", 0, "R1+1 G1+1 X"},
		{"a flap spell summary ends in a flap-end", "S1 E1 S2 E2", 0, "S1+1 E1+1"},
		{"a red summary ends in a plain green", "R1 G1 S2 E2", 0, "R1+1 G1+1"},
		{"the latest open episode is never touched", "R1 G1 R2 G2 Y3 C3 R3", 0, "R1+1 G1+1 Y3 C3 R3"},
		{"a removal gray ends a block", "R1 G1 R2 X2", 0, "R1+1 X1+1"},
	} {
		q := parse(t, tc.in)
		got := show(foldEpisodes(foldRuns(q), tc.sent))
		if got != tc.want {
			t.Errorf("%s: %q folds to %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestCollapseCounts(t *testing.T) {
	var ctr Counters
	p := &Path{cfg: Config{PerMonitor: 4, Memory: 1 << 20}, ctr: &ctr}
	l := &lane{}
	for _, a := range parse(t, "R1 G1 R2 G2 R3 G3 R4 G4 R5") {
		p.push(l, a)
	}
	p.collapse(l)
	if got := show(l.q); got != "R1+3 G1+3 R5" {
		t.Fatalf("lane %q", got)
	}
	if p.queued != 3 || p.bytes != 3*waitCost || ctr.Collapsed.Load() != 6 {
		t.Errorf("queued %d, bytes %d, collapsed %d; want 3, %d, 6", p.queued, p.bytes, ctr.Collapsed.Load(), 3*waitCost)
	}
}

// A waiting alert is small: 48 bytes in a lane.
func TestPendingSize(t *testing.T) {
	if n := unsafe.Sizeof(Pending{}); n > 48 {
		t.Errorf("a waiting alert is %d bytes, want at most 48", n)
	}
}
