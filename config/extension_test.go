package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ziad/cpra/intervene"
)

// registerForTest registers t for the test's duration.
func registerForTest(tb testing.TB, t InterventionType) {
	tb.Helper()
	RegisterIntervention(t)
	tb.Cleanup(func() {
		registry.Lock()
		defer registry.Unlock()
		for k, v := range registry.types {
			if v.Name == t.Name {
				delete(registry.types, k)
			}
		}
		registry.names = registry.names[:len(registry.names)-1]
	})
}

// pokeRemedy is what the test type builds: its settings, printed.
type pokeRemedy struct{ desc string }

func (p pokeRemedy) Remediate(ctx context.Context, _ intervene.Incident) error { return nil }
func (p pokeRemedy) String() string                                            { return p.desc }

// pokeType reads every kind of field through a Block.
var pokeType = InterventionType{
	Name:    "poke",
	Aliases: []string{"Poke-Alias"},
	Fields:  []string{"target", "count", "wait", "loud", "mode"},
	Build: func(b *Block) intervene.Remediator {
		if !b.Has("target") {
			b.Failf("target", "missing")
		}
		target, _ := b.String("target")
		count, _ := b.Int("count")
		wait, _ := b.Duration("wait")
		loud, _ := b.Bool("loud")
		if mode, ok := b.String("mode"); ok && mode != "soft" {
			b.Fail("mode", fmt.Errorf("%w: %q is not a mode, line of count %d", intervene.ErrConfig, mode, b.Line("count")))
		}
		if b.Failed() {
			return nil
		}
		if target == "nothing" {
			return nil // no report: the loader says it
		}
		return pokeRemedy{fmt.Sprintf("poke %s count=%d wait=%v loud=%v", target, count, wait, loud)}
	},
}

func TestRegisteredIntervention(t *testing.T) {
	registerForTest(t, pokeType)
	f := mustLoad(t, `monitors:
  - name: a
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention:
      type: poke
      config: {target: db, count: 3, wait: 2s, loud: true, mode: soft, timeout: 9s}
  - name: b
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention: {type: POKE-ALIAS, max_attempts: 2, config: {target: cache}}
`)
	for i, want := range []string{"poke db count=3 wait=2s loud=true", "poke cache count=0 wait=0s loud=false"} {
		if got := fmt.Sprint(f.Monitors[i].Remediate); got != want {
			t.Errorf("monitor %d: got %s, want %s", i, got, want)
		}
	}
	if got := f.Monitors[0].Policy.Timeout; got != 9*time.Second {
		t.Errorf("got timeout %v, want 9s (config.timeout, which every type takes)", got)
	}
	if got := f.Monitors[1].MaxRemediations; got != 2 {
		t.Errorf("got max attempts %d, want 2", got)
	}
}

func TestRegisteredInterventionErrors(t *testing.T) {
	registerForTest(t, pokeType)
	head := "monitors:\n  - name: m\n    pulse_check: {type: tcp, config: {address: \"h:1\"}}\n    intervention:\n      type: poke\n      config:\n"
	tests := []struct {
		name, body string
		want       []string
	}{
		{"missing", "        count: 1\n", []string{`monitors[0] "m": intervention.config.target: missing (line 6)`}},
		{"unknown field", "        target: x\n        cuont: 1\n", []string{`monitors[0] "m": intervention.config.cuont: unknown field (did you mean "count"?) (line 8)`}},
		{"wrong kinds", "        target: [x]\n        count: many\n        wait: soon\n        loud: maybe\n", []string{
			`monitors[0] "m": intervention.config.target: want a string, found a sequence (line 7)`,
			`monitors[0] "m": intervention.config.count: "many" is not an integer (line 8)`,
			`monitors[0] "m": intervention.config.wait: "soon" is not a duration (line 9)`,
			`monitors[0] "m": intervention.config.loud: "maybe" is not a boolean (true or false) (line 10)`,
		}},
		{"constructor error", "        count: 4\n        target: x\n        mode: hard\n", []string{`monitors[0] "m": intervention.config.mode: "hard" is not a mode, line of count 7 (line 9)`}},
		{"nothing built", "        target: nothing\n", []string{`monitors[0] "m": intervention.config: the poke intervention built no remediator (line 6)`}},
		{"unknown type lists it", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := head + tt.body
			if tt.want == nil {
				text = strings.Replace(head, "type: poke", "type: pokee", 1) + "        target: x\n"
				tt.want = []string{`monitors[0] "m": intervention.type: "pokee" is not an intervention type (script, http, docker_restart, docker_update, docker_scale, poke) (line 5)`}
			}
			_, err := load(t, text)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want Errors", err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	t.Run("constructor error unwraps", func(t *testing.T) {
		_, err := load(t, head+"        target: x\n        mode: hard\n")
		if !errors.Is(err, intervene.ErrConfig) {
			t.Errorf("got %v, want it to wrap intervene.ErrConfig", err)
		}
	})
}

func TestRegisterInterventionPanics(t *testing.T) {
	registerForTest(t, pokeType)
	build := func(*Block) intervene.Remediator { return nil }
	for name, typ := range map[string]InterventionType{
		"no name":          {Build: build},
		"no build":         {Name: "x"},
		"built-in name":    {Name: "docker_scale", Build: build},
		"built-in alias":   {Name: "y", Aliases: []string{"WEBHOOK"}, Build: build},
		"registered name":  {Name: "POKE", Build: build},
		"registered alias": {Name: "z", Aliases: []string{"poke-alias"}, Build: build},
		"empty alias":      {Name: "w", Aliases: []string{""}, Build: build},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: got no panic, want one", name)
				}
			}()
			RegisterIntervention(typ)
		}()
	}
	if _, ok := registered("w"); ok {
		t.Errorf("a refused type was registered")
	}
}
