package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests name zones; do not depend on the machine's

	"github.com/ziad/cpra"
)

// scheduleYAML is a file using every field of retries, repeats,
// dependencies, flap detection and maintenance, in block style (the fast
// parser's subset), with a top-level maintenance list after the monitors.
const scheduleYAML = `monitors:
  - name: api
    labels:
      team: core
    depends_on: [db, dns]
    repeat_interval: 1h
    flap:
      high: 50
      low: 25%
    maintenance:
      - start: "2025-06-01 02:00"
        duration: 2h
        repeat: weekly
        weekdays: [Mon, wednesday]
        time_zone: Europe/Berlin
        until: 2025-12-31T00:00:00Z
      - start: 2025-06-01T00:00:00+02:00
        duration: 30m
        repeat: DAILY
    pulse_check:
      type: tcp
      interval: 1m
      retry_interval: 10s
      max_failures: 3
      failure_window: 5
      config:
        address: "127.0.0.1:1"
  - name: db
    depends_on: dns
    labels:
      team: data
    pulse_check:
      type: tcp
      config:
        address: "127.0.0.1:2"
  - name: dns
    pulse_check:
      type: tcp
      config:
        address: "127.0.0.1:3"
maintenance:
  - selector:
      team: core
    windows:
      - start: "2025-06-07 22:00"
        duration: 4h
        repeat: weekly
        weekdays: sat
        time_zone: America/New_York
`

// scheduleJSON is scheduleYAML in JSON, with the maintenance list first.
const scheduleJSON = `{
  "maintenance": [
    {"selector": {"team": "core"}, "windows": [
      {"start": "2025-06-07 22:00", "duration": "4h", "repeat": "weekly", "weekdays": "sat", "time_zone": "America/New_York"}
    ]}
  ],
  "monitors": [
    {
      "name": "api",
      "labels": {"team": "core"},
      "depends_on": ["db", "dns"],
      "repeat_interval": "1h",
      "flap": {"high": 50, "low": "25%"},
      "maintenance": [
        {"start": "2025-06-01 02:00", "duration": "2h", "repeat": "weekly", "weekdays": ["Mon", "wednesday"],
         "time_zone": "Europe/Berlin", "until": "2025-12-31T00:00:00Z"},
        {"start": "2025-06-01T00:00:00+02:00", "duration": "30m", "repeat": "DAILY"}
      ],
      "pulse_check": {"type": "tcp", "interval": "1m", "retry_interval": "10s", "max_failures": 3, "failure_window": 5,
        "config": {"address": "127.0.0.1:1"}}
    },
    {"name": "db", "depends_on": "dns", "labels": {"team": "data"},
     "pulse_check": {"type": "tcp", "config": {"address": "127.0.0.1:2"}}},
    {"name": "dns", "pulse_check": {"type": "tcp", "config": {"address": "127.0.0.1:3"}}}
  ]
}`

// describe writes the schedule fields of a file's monitors and
// maintenances as text, zones by name, so that loads can be compared.
func describe(f *File) string {
	var b strings.Builder
	win := func(w cpra.MaintenanceWindow) {
		fmt.Fprintf(&b, "    %s +%v %v %v in %s", w.Start.UTC().Format(time.RFC3339), w.Duration, w.Repeat, w.Weekdays, w.Location)
		if !w.Until.IsZero() {
			fmt.Fprintf(&b, " until %s", w.Until.UTC().Format(time.RFC3339))
		}
		b.WriteByte('\n')
	}
	for _, m := range f.Monitors {
		var parents []string
		for _, r := range m.DependsOn {
			if !r.ID.IsZero() {
				parents = append(parents, r.ID.String())
			}
			parents = append(parents, r.Name)
		}
		fmt.Fprintf(&b, "%s: every %v retry %v window %d of %d repeat %v flap %v/%v depends %v labels %v\n",
			m.Name, m.Interval, m.RetryInterval, m.FailureThreshold, m.FailureWindow, m.RepeatInterval, m.Flap.High, m.Flap.Low, parents, m.Labels)
		for _, w := range m.Maintenance {
			win(w)
		}
	}
	for _, mt := range f.Maintenance {
		fmt.Fprintf(&b, "maintenance of %v\n", mt.Selector)
		for _, w := range mt.Windows {
			win(w)
		}
	}
	return b.String()
}

const scheduleWant = `api: every 1m0s retry 10s window 3 of 5 repeat 1h0m0s flap 50/25 depends [db dns] labels map[team:core]
    2025-06-01T00:00:00Z +2h0m0s Weekly [Monday Wednesday] in Europe/Berlin until 2025-12-31T00:00:00Z
    2025-05-31T22:00:00Z +30m0s Daily [] in UTC
db: every 0s retry 0s window 0 of 0 repeat 0s flap 0/0 depends [dns] labels map[team:data]
dns: every 0s retry 0s window 0 of 0 repeat 0s flap 0/0 depends [] labels map[]
maintenance of map[team:core]
    2025-06-08T02:00:00Z +4h0m0s Weekly [Saturday] in America/New_York
`

func TestScheduleFields(t *testing.T) {
	f := mustLoad(t, scheduleYAML)
	if got := describe(f); got != scheduleWant {
		t.Errorf("got\n%s\nwant\n%s", got, scheduleWant)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %v", f.Warnings)
	}
	// The local start is read in the window's zone, which the recurrence
	// keeps.
	w := f.Monitors[0].Maintenance[0]
	if got := w.Start.In(w.Location).Format("2006-01-02 15:04 MST"); got != "2025-06-01 02:00 CEST" {
		t.Errorf("start %s, want 2025-06-01 02:00 CEST", got)
	}
}

// TestScheduleFormatsAgree loads the same monitors from block YAML (the
// fast parser), from JSON, from flow-style YAML (the YAML library, item by
// item) and from a document with anchors (the whole-document path): they
// must build the same monitors and maintenances, with the same digests
// across the streaming paths.
func TestScheduleFormatsAgree(t *testing.T) {
	block := mustLoad(t, scheduleYAML)
	js := mustLoad(t, scheduleJSON)
	// The maintenance list before the monitors, in block YAML.
	top, rest, _ := strings.Cut(scheduleYAML, "maintenance:\n  - selector:")
	first := mustLoad(t, "maintenance:\n  - selector:"+rest+top)
	flow := mustLoad(t, `monitors:
  - {name: api, labels: {team: core}, depends_on: [db, dns], repeat_interval: 1h, flap: {high: 50, low: 25%},
     maintenance: [{start: "2025-06-01 02:00", duration: 2h, repeat: weekly, weekdays: [Mon, wednesday], time_zone: Europe/Berlin, until: 2025-12-31T00:00:00Z},
                   {start: 2025-06-01T00:00:00+02:00, duration: 30m, repeat: DAILY}],
     pulse_check: {type: tcp, interval: 1m, retry_interval: 10s, max_failures: 3, failure_window: 5, config: {address: "127.0.0.1:1"}}}
  - name: db
    depends_on: dns
    labels: {team: data}
    pulse_check: {type: tcp, config: {address: "127.0.0.1:2"}}
  - name: dns
    pulse_check: {type: tcp, config: {address: "127.0.0.1:3"}}
maintenance: [{selector: {team: core}, windows: [{start: "2025-06-07 22:00", duration: 4h, repeat: weekly, weekdays: sat, time_zone: America/New_York}]}]
`)
	whole := mustLoad(t, strings.Replace(scheduleYAML, "    labels:\n      team: core\n", "    labels: &core\n      team: core\n", 1)+
		"  - selector: *core\n    windows: [{start: \"2025-06-07 22:00\", duration: 4h, repeat: weekly, weekdays: sat, time_zone: America/New_York}]\n")
	for name, f := range map[string]*File{"json": js, "maintenance first": first, "flow": flow} {
		if got := describe(f); got != scheduleWant {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, scheduleWant)
		}
		if !reflect.DeepEqual(f.Digests, block.Digests) {
			t.Errorf("%s: digests %x, want %x as in block YAML", name, f.Digests, block.Digests)
		}
	}
	// The anchored document has a second maintenance, the same as the
	// first.
	_, second, _ := strings.Cut(scheduleWant, "\nmaintenance of ")
	if got, want := describe(whole), scheduleWant+"maintenance of "+second; got != want {
		t.Errorf("whole document: got\n%s\nwant\n%s", got, want)
	}
}

// TestScheduleFastSubset checks that the block-style monitor of
// scheduleYAML is read by the fast parser, into the tree the YAML library
// makes of it, lines included.
func TestScheduleFastSubset(t *testing.T) {
	item, _, _ := strings.Cut(strings.TrimPrefix(scheduleYAML, "monitors:\n"), "  - name: db\n")
	p := blockParser{a: &arena{}}
	fast, err := p.parseItem(item, 2)
	if err != nil {
		t.Fatalf("fast parser: %v", err)
	}
	lib, err := parseItemLib(&arena{}, item, 2)
	if err != nil {
		t.Fatalf("library: %v", err)
	}
	if msg := sameTree(fast, lib, ""); msg != "" {
		t.Error(msg)
	}
	if digest(fast) != digest(lib) {
		t.Error("digests differ")
	}
}

// sameTree compares two trees, lines included, and describes the first
// difference.
func sameTree(a, b *node, path string) string {
	path += "/" + a.key
	if a.kind != b.kind || a.key != b.key || a.val != b.val || a.quoted != b.quoted || a.n != b.n || a.line != b.line || a.keyLine != b.keyLine {
		return fmt.Sprintf("%s: fast %v %q=%q quoted %v lines %d,%d; library %v %q=%q quoted %v lines %d,%d",
			path, a.kind, a.key, a.val, a.quoted, a.line, a.keyLine, b.kind, b.key, b.val, b.quoted, b.line, b.keyLine)
	}
	for x, y := a.first, b.first; x != nil; x, y = x.next, y.next {
		if msg := sameTree(x, y, path); msg != "" {
			return msg
		}
	}
	return ""
}

// TestScheduleDigests changes each new field in turn: the monitor's digest
// must change with it, and only that monitor's.
func TestScheduleDigests(t *testing.T) {
	base := mustLoad(t, scheduleYAML)
	for _, c := range [][2]string{
		{"      retry_interval: 10s\n", "      retry_interval: 20s\n"},
		{"      failure_window: 5\n", "      failure_window: 6\n"},
		{"    repeat_interval: 1h\n", "    repeat_interval: 2h\n"},
		{"    depends_on: [db, dns]\n", "    depends_on: [dns, db]\n"},
		{"    depends_on: [db, dns]\n", "    depends_on: [db]\n"},
		{"      high: 50\n", "      high: 60\n"},
		{"      low: 25%\n", "      low: 20%\n"},
		{"        duration: 2h\n", "        duration: 3h\n"},
		{`      - start: "2025-06-01 02:00"`, `      - start: "2025-06-01 03:00"`},
		{"        repeat: DAILY\n", "        repeat: once\n"},
		{"        weekdays: [Mon, wednesday]\n", "        weekdays: [Mon, thursday]\n"},
		{"        time_zone: Europe/Berlin\n", "        time_zone: Europe/Paris\n"},
		{"        until: 2025-12-31T00:00:00Z\n", "        until: 2026-12-31T00:00:00Z\n"},
	} {
		text := strings.Replace(scheduleYAML, c[0], c[1], 1)
		if text == scheduleYAML {
			t.Fatalf("%q is not in the file", c[0])
		}
		f := mustLoad(t, text)
		if f.Digests[0] == base.Digests[0] {
			t.Errorf("%q -> %q kept the digest", c[0], c[1])
		}
		if f.Digests[1] != base.Digests[1] || f.Digests[2] != base.Digests[2] {
			t.Errorf("%q -> %q changed the digest of another monitor", c[0], c[1])
		}
	}
}

func TestMaintenanceTopLevel(t *testing.T) {
	const mon = "monitors:\n  - name: a\n    labels: {team: core}\n    pulse_check: {type: tcp, config: {address: \"h:1\"}}\n"
	for name, text := range map[string]string{
		"dash at the key's indentation": mon + "maintenance:\n- selector: {team: core}\n  windows:\n  - {start: 2025-06-01T02:00:00Z, duration: 1h}\n",
		"comments and blank lines":      "# planned work\nmaintenance:\n\n  # the core team's\n  - selector: {team: core}\n\n    windows: [{start: 2025-06-01T02:00:00Z, duration: 1h}]\n# then\n" + mon,
		"flow":                          "maintenance: [{selector: {team: core}, windows: [{start: 2025-06-01T02:00:00Z, duration: 1h}]}]\n" + mon,
		"empty":                         "maintenance: []\n" + mon,
		"null":                          mon + "maintenance:\n",
	} {
		f, err := load(t, text)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := 1
		if name == "empty" || name == "null" {
			want = 0
		}
		if len(f.Maintenance) != want || len(f.Monitors) != 1 {
			t.Errorf("%s: %d maintenances, %d monitors; want %d and 1", name, len(f.Maintenance), len(f.Monitors), want)
		}
	}
	// Lines after a maintenance list stay right.
	_, err := load(t, "maintenance:\n  - selector: {team: core}\n\n    windows:\n      - {start: 2025-06-01T02:00:00Z, duration: 1h}\n\n      - {start: 2025-06-01T02:00:00Z, duration: 1x}\n"+
		"monitors:\n  - name: a\n    pulse_check: {type: tcp, interval: 3x, config: {address: \"h:1\"}}\n")
	want := `maintenance[0].windows[1].duration: "1x" is not a duration (line 7)
monitors[0] "a": pulse_check.interval: "3x" is not a duration (line 10)`
	if got := errorText(err); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Twice is an error, in YAML and in JSON.
	_, err = load(t, "maintenance: []\nmonitors: []\nmaintenance: []\n")
	if got, want := errorText(err), `syntax error: mapping key "maintenance" already defined at line 1 (line 3)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err = load(t, `{"maintenance": [], "monitors": [], "maintenance": null}`)
	if got, want := errorText(err), `syntax error: key "maintenance" already defined at line 1 (line 1)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Broken YAML in the list is a syntax error at its line.
	_, err = load(t, "monitors: []\nmaintenance:\n  - selector: {team: core\n    windows: []\n")
	if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "(line ") {
		t.Errorf("got %v, want a syntax error with a line", err)
	}
}

func TestMaintenanceWarnings(t *testing.T) {
	f := mustLoad(t, `monitors:
  - name: a
    labels: {team: core}
    depends_on: [b, gone]
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: b
    enabled: false
    pulse_check: {type: tcp, config: {address: "h:1"}}
maintenance:
  - selector: {team: nobody}
    windows: [{start: 2025-06-01T02:00:00Z, duration: 1h}]
`)
	want := `monitors[0] "a": depends_on: "b" is disabled: this monitor waits for a monitor of that name to be added (line 4)
monitors[0] "a": depends_on: no monitor "gone" in the file: this monitor waits for a monitor of that name to be added (line 4)
maintenance[0].selector: selects no monitor of the file (line 10)`
	if got := errorText(f.Warnings); got != want {
		t.Errorf("warnings:\n%s\nwant\n%s", got, want)
	}
}

func TestDependencyCycles(t *testing.T) {
	_, err := load(t, `monitors:
  - name: a
    depends_on: c
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: b
    depends_on: a
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: c
    depends_on: [x, b]
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: x
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: y
    depends_on: z
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: z
    depends_on: [y]
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: off
    enabled: false
    depends_on: [off2]
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: off2
    depends_on: [off]
    pulse_check: {type: tcp, config: {address: "h:1"}}
`)
	// Each cycle is reported once, at the monitor that would close it; a
	// disabled monitor is not added and closes nothing.
	want := `monitors[2] "c": depends_on: dependency cycle: c -> b -> a -> c (line 9)
monitors[5] "z": depends_on: dependency cycle: z -> y -> z (line 17)`
	if got := errorText(err); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestAddToNamesCycles adds a file to an engine that already runs a monitor
// closing a cycle with it: AddTo reports the one refused, naming the cycle,
// and adds the rest.
func TestAddToNamesCycles(t *testing.T) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	outside := mustLoad(t, "monitors:\n  - name: db\n    depends_on: api\n    pulse_check: {type: tcp, config: {address: \"h:1\"}}\n")
	if _, err := outside.AddTo(e); err != nil {
		t.Fatal(err)
	}
	f := mustLoad(t, `monitors:
  - name: web
    pulse_check: {type: tcp, config: {address: "h:1"}}
  - name: api
    depends_on: [web, db]
    pulse_check: {type: tcp, config: {address: "h:1"}}
`)
	ids, err := f.AddTo(e)
	want := `monitors[1] "api": depends_on: dependency cycle: api -> db -> api (line 4)`
	if got := errorText(err); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if ids[0].IsZero() || !ids[1].IsZero() {
		t.Errorf("ids %v: want web added and api refused", ids)
	}
}

// TestAddToMaintenance adds a file whose maintenance window is open now:
// its monitor starts inside it, and the maintenance IDs remove it.
func TestAddToMaintenance(t *testing.T) {
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	text := fmt.Sprintf(`maintenance:
  - selector: {team: core}
    windows: [{start: %[1]s, duration: 2h}]
monitors:
  - name: a
    labels: {team: core}
    pulse_check: {type: tcp, interval: 1h, config: {address: "127.0.0.1:1"}}
  - name: b
    maintenance: [{start: %[1]s, duration: 2h}]
    pulse_check: {type: tcp, interval: 1h, config: {address: "127.0.0.1:1"}}
  - name: c
    pulse_check: {type: tcp, interval: 1h, config: {address: "127.0.0.1:1"}}
`, start)
	f := mustLoad(t, text)
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	ids, err := f.AddTo(e)
	if err != nil {
		t.Fatal(err)
	}
	inside := func() []bool {
		out := make([]bool, len(ids))
		for i, id := range ids {
			st, err := e.Status(id)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = st.Maintenance
		}
		return out
	}
	if got := inside(); !reflect.DeepEqual(got, []bool{true, true, false}) {
		t.Errorf("in maintenance: %v, want a (selected) and b (own window)", got)
	}

	// The separate steps, for a program that removes them later.
	g := mustLoad(t, strings.ReplaceAll(text, "name: ", "name: g-"))
	mids, err := g.AddMaintenanceTo(e)
	if err != nil || len(mids) != 1 || mids[0] == 0 {
		t.Fatalf("AddMaintenanceTo: %v, %v", mids, err)
	}
	if _, err := g.AddMonitorsTo(e); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveMaintenance(mids[0]); err != nil {
		t.Fatal(err)
	}
	// a is still inside the first file's maintenance, which AddTo added.
	if got := inside(); !reflect.DeepEqual(got, []bool{true, true, false}) {
		t.Errorf("after removing the second file's: %v", got)
	}

	// A closed engine refuses everything at once.
	e.Shutdown(context.Background())
	if _, err := f.AddMaintenanceTo(e); !errors.Is(err, cpra.ErrClosed) {
		t.Errorf("closed engine: %v, want ErrClosed", err)
	}
}

// TestAddMaintenanceToRefused reports what the engine refuses with the
// maintenance's place in the file.
func TestAddMaintenanceToRefused(t *testing.T) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	f := &File{Maintenance: []cpra.Maintenance{
		{Selector: map[string]string{"team": "core"}, Windows: []cpra.MaintenanceWindow{{Start: time.Now(), Duration: time.Hour}}},
		{Selector: map[string]string{"team": "core"}},
	}, maintPos: []int32{3, 7}}
	ids, err := f.AddMaintenanceTo(e)
	if got, want := errorText(err), "maintenance[1]: Windows: none (line 7)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if ids[0] == 0 || ids[1] != 0 {
		t.Errorf("ids %v, want the first added", ids)
	}
}
