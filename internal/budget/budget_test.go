package budget

import (
	"errors"
	"testing"
)

// TestUnstartGivesBackTheAttempt: an attempt taken back (it never ran)
// no longer counts against the fleet's share or its group's.
func TestUnstartGivesBackTheAttempt(t *testing.T) {
	errBudget := errors.New("budget")
	b := New(Config{Share: 0.01, Window: 60_000, GroupLabel: "team", GroupShare: 0.01, GroupWindow: 60_000, Err: errBudget})
	web := map[string]string{"team": "web"}
	other := map[string]string{}
	b.Count(web, 1)
	if err := b.Admit(1000, 0, 10, web); err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	b.Started(1000, web)
	if err := b.Admit(2000, 0, 10, web); !errors.Is(err, errBudget) {
		t.Fatalf("second attempt within the window: %v, want the budget's refusal", err)
	}
	b.Unstart(1000, other) // not its group: the fleet's share only
	if err := b.Admit(2000, 0, 10, other); err != nil {
		t.Fatalf("after the fleet's attempt was taken back: %v", err)
	}
	if err := b.Admit(2000, 0, 10, web); !errors.Is(err, errBudget) {
		t.Fatalf("the group's attempt is still counted: %v, want the group's refusal", err)
	}
	b.Started(1500, web)
	b.Unstart(1500, web)
	b.Unstart(1000, web)
	if err := b.Admit(2000, 0, 10, web); err != nil {
		t.Fatalf("after both were taken back: %v", err)
	}
	b.Unstart(1000, web) // nothing left to take back: no change, no panic
	fleet, groups := b.Windows()
	if len(fleet) != 0 || len(groups["web"]) != 0 {
		t.Fatalf("windows left: %v %v", fleet, groups)
	}
}
