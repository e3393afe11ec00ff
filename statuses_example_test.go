package cpra_test

import (
	"context"
	"fmt"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

func ExampleEngine_Statuses() {
	engine, _ := cpra.New()
	ok := pulse.CheckerFunc(func(context.Context) error { return nil })
	for _, m := range []struct{ name, team string }{{"checkout", "shop"}, {"search", "shop"}, {"ledger", "finance"}} {
		engine.Add(cpra.Monitor{Name: m.name, Check: ok, Labels: map[string]string{"team": m.team}})
	}
	for _, st := range engine.Statuses(cpra.StatusFilter{Labels: map[string]string{"team": "shop"}}) {
		fmt.Println(st.Name, st.Condition())
	}
	id, found := engine.Lookup("ledger")
	st, _ := engine.Status(id)
	fmt.Println(found, st.Name, st.Labels["team"])
	// Output:
	// checkout unknown
	// search unknown
	// true ledger finance
}
