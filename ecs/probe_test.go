package ecs

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/ziad/cpra/pulse"
)

// Checkers of every shape an interface value can hold.
type (
	valueCheck struct {
		err  error
		tag  string
		more [4]int64
	}
	ptrCheck   struct{ err error }
	emptyCheck struct{}
	intCheck   int
)

func (c valueCheck) Check(context.Context) error { return c.err }
func (c *ptrCheck) Check(context.Context) error  { return c.err }
func (emptyCheck) Check(context.Context) error   { return errors.New("empty") }
func (c intCheck) Check(context.Context) error {
	return fmt.Errorf("int %d", int(c))
}

// A monitor keeps only its check's value; with the Kind of the checker
// it was created with, the store gives back a checker that behaves as
// the one given, whatever its type, and the values the store holds stay
// alive for as long as their monitors do.
func TestProbeKeepsItsCheck(t *testing.T) {
	s := NewStore(0, 8)
	cases := []struct {
		name  string
		check pulse.Checker
		want  string
	}{
		{"value", valueCheck{err: errors.New("value"), tag: "boxed"}, "value"},
		{"pointer", &ptrCheck{err: errors.New("pointer")}, "pointer"},
		{"empty", emptyCheck{}, "empty"},
		{"int", intCheck(1234567), "int 1234567"},
		{"func", pulse.CheckerFunc(func(context.Context) error { return errors.New("func") }), "func"},
	}
	seen := make(map[Kind]string)
	kinds := make([]Kind, len(cases))
	ents := make([]Entity, len(cases))
	for i, c := range cases {
		k := KindOf(c.check)
		if prev, ok := seen[k]; ok {
			t.Fatalf("%s and %s have the same Kind", prev, c.name)
		}
		seen[k], kinds[i] = c.name, k
		e, ok := s.Create(c.name, c.check, Schedule{Due: 1}, Health{}, Optional{})
		if !ok {
			t.Fatalf("Create %s failed", c.name)
		}
		ents[i] = e
	}
	if KindOf(valueCheck{}) != KindOf(valueCheck{tag: "other"}) {
		t.Error("two values of one type have different Kinds")
	}
	if KindOf(nil) != (Kind{}) {
		t.Error("the nil checker's Kind is not the zero Kind")
	}
	// Only the store refers to the boxed values now.
	for i := range cases {
		cases[i].check = nil
	}
	runtime.GC()
	runtime.GC()
	for i, c := range cases {
		k := kinds[i]
		got := s.Probes.Get(ents[i]).Checker(k)
		if KindOf(got) != k {
			t.Errorf("%s: the checker given back has another Kind", c.name)
		}
		if err := got.Check(context.Background()); err == nil || err.Error() != c.want {
			t.Errorf("%s: Check() = %v, want %q", c.name, err, c.want)
		}
	}
	if v, ok := s.Probes.Get(ents[0]).Checker(KindOf(valueCheck{})).(valueCheck); !ok || v.tag != "boxed" {
		t.Errorf("the value checker came back as %#v, want its tag", v)
	}
}
