package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestHeadline(t *testing.T) {
	flapGroup := groupAlert(2, Yellow)
	flapGroup.Flap = FlapStart
	endGroup := groupAlert(2, Green)
	endGroup.Flap = FlapEnd
	tests := []struct {
		name string
		a    Alert
		want string
	}{
		{"red", redAlert(), "checkout-api is down"},
		{"yellow", withCode(redAlert(), Yellow), "checkout-api is failing"},
		{"green", withCode(redAlert(), Green), "checkout-api is up again"},
		{"cyan", withCode(redAlert(), Cyan), "checkout-api was repaired, verifying"},
		{"gray", withCode(redAlert(), Gray), "checkout-api is paused"},
		{"flap start", flapStart(), "checkout-api is flapping"},
		{"flap end green", flapEnd(Green), "checkout-api stopped flapping (now green)"},
		{"flap end red", flapEnd(Red), "checkout-api stopped flapping (now red)"},
		{"flap end yellow", flapEnd(Yellow), "checkout-api stopped flapping (now yellow)"},
		{"group of 1", groupAlert(1, Red), "1 monitor down (zone=eu-1): api-0001"},
		{"group of 3", groupAlert(3, Red), "3 monitors down (zone=eu-1): api-0001, api-0002, api-0003"},
		{"group of 10", groupAlert(10, Yellow), "10 monitors failing (zone=eu-1): " + apiNames(10)},
		{"group of 11", groupAlert(11, Green), "11 monitors up again (zone=eu-1): " + apiNames(10) + " and 1 more"},
		{"group of 1000", groupAlert(1000, Red), "1000 monitors down (zone=eu-1): " + apiNames(10) + " and 990 more"},
		{"cyan group", groupAlert(2, Cyan), "2 monitors repaired (zone=eu-1): api-0001, api-0002"},
		{"flapping group", flapGroup, "2 monitors flapping (zone=eu-1): api-0001, api-0002"},
		{"group stopped flapping", endGroup, "2 monitors stopped flapping, now green (zone=eu-1): api-0001, api-0002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headline(tt.a); got != tt.want {
				t.Errorf("headline: got %q, want %q", got, tt.want)
			}
			// A receiver that decodes the payload gets the same text.
			b, err := json.Marshal(NewPayload(tt.a))
			if err != nil {
				t.Fatal(err)
			}
			var p Payload
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if got := p.Headline(); got != tt.want {
				t.Errorf("Payload.Headline: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGroupLineFitsBudget(t *testing.T) {
	a := groupAlert(40, Red)
	for i := range a.Group {
		a.Group[i].Monitor = strings.Repeat("x", 30) + a.Group[i].Monitor
	}
	for _, budget := range []int{60, 100, 150, 250, 1000} {
		got := storyOf(a).line(lineNames, budget)
		if !strings.HasPrefix(got, "40 monitors down (zone=eu-1)") {
			t.Errorf("budget %d: got %q, want the count first", budget, got)
		}
		if len(got) > budget {
			t.Errorf("budget %d: got %d bytes: %q", budget, len(got), got)
		}
		if strings.Contains(got, ": ") && !strings.HasSuffix(got, " more") {
			t.Errorf("budget %d: got %q, want the count of the members left out", budget, got)
		}
	}
	// Too little room for any name: the count alone.
	if got := storyOf(a).line(lineNames, 40); got != "40 monitors down (zone=eu-1)" {
		t.Errorf("got %q, want the count alone", got)
	}
}

func TestPayloadFlapAndMembers(t *testing.T) {
	p := NewPayload(flapStart())
	if p.Flap != "flap-start" || p.Members != nil {
		t.Errorf("flap start: got flap %q members %v", p.Flap, p.Members)
	}
	if p := NewPayload(flapEnd(Green)); p.Flap != "flap-end" || p.Code != "green" {
		t.Errorf("flap end: got flap %q code %q", p.Flap, p.Code)
	}
	a := groupAlert(3, Red)
	a.Group[1].Flap = FlapStart
	p = NewPayload(a)
	if p.Monitor != "zone=eu-1" || len(p.Members) != 3 || p.Flap != "" {
		t.Fatalf("group: got monitor %q, %d members, flap %q", p.Monitor, len(p.Members), p.Flap)
	}
	m := p.Members[1]
	want := a.Group[1]
	if m.Monitor != "api-0002" || !m.Time.Equal(want.At) || !m.Since.Equal(want.Since) || m.Error != want.Err.Error() ||
		m.Failures != 3 || m.Attempt != 0 || m.Flap != "flap-start" || m.Labels["zone"] != "eu-1" {
		t.Errorf("got member %+v, want the fields of %+v", m, want)
	}
	if loc := m.Time.Location(); loc != time.UTC {
		t.Errorf("member time in %v, want UTC", loc)
	}
}

func TestAlertIDFlapAndGroup(t *testing.T) {
	// A retry is the same alert value: the same id.
	for _, a := range []Alert{flapStart(), flapEnd(Green), groupAlert(3, Red), groupAlert(1000, Red)} {
		if alertID(a) != alertID(a) {
			t.Errorf("%s: id changes between calls", headline(a))
		}
	}
	ids := map[string]string{}
	add := func(name string, a Alert) {
		t.Helper()
		id := alertID(a)
		if prev, dup := ids[id]; dup {
			t.Errorf("%s and %s share id %s", name, prev, id)
		}
		ids[id] = name
	}
	add("plain yellow", withCode(redAlert(), Yellow))
	add("flap start", flapStart())
	add("plain green", withCode(redAlert(), Green))
	add("flap end green", flapEnd(Green))
	add("group of 3", groupAlert(3, Red))
	add("group of 4", groupAlert(4, Red))
	other := groupAlert(3, Red)
	other.Group[2].Monitor = "web-0003"
	add("group of 3, other member", other)
	later := groupAlert(3, Red)
	later.Group[1].At = later.Group[1].At.Add(time.Second)
	add("group of 3, member raised later", later)
	swapped := groupAlert(3, Red)
	swapped.Group[0].Monitor, swapped.Group[1].Monitor = swapped.Group[1].Monitor, swapped.Group[0].Monitor
	add("group of 3, swapped names", swapped)
}
