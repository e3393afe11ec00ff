package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/statuspage"
)

func ExampleNew() {
	log := statuspage.NewAlertLog(100)
	engine, _ := cpra.New(cpra.WithAlertHook(log.Record))
	for _, name := range []string{"checkout", "search"} {
		engine.Add(cpra.Monitor{Name: name, Check: pulse.CheckerFunc(func(context.Context) error { return nil }),
			Labels: map[string]string{"team": "shop"}})
	}
	page := statuspage.New(engine, statuspage.WithAlertLog(log))
	// Serve it: http.Handle("/status/", http.StripPrefix("/status", page))

	req := httptest.NewRequest("GET", "/monitors?q=team=shop", nil)
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, req)
	var l statuspage.Listing
	json.NewDecoder(rec.Body).Decode(&l)
	for _, m := range l.Monitors {
		fmt.Println(m.Name, m.Condition, m.URL)
	}
	// Output:
	// checkout unknown monitors/checkout
	// search unknown monitors/search
}
