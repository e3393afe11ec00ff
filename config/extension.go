package config

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ziad/cpra/intervene"
)

// InterventionType is an intervention type that a package outside this one
// adds to the loader with [RegisterIntervention]: a remediator whose
// dependencies the core module does not carry, such as a Kubernetes client.
type InterventionType struct {
	// Name is what intervention.type says to choose it, such as
	// "k8s_scale". Names are matched without regard to case.
	Name string
	// Aliases are other names for it ("k8s-scale").
	Aliases []string
	// Fields are the keys its intervention.config takes, besides timeout,
	// which every type takes. Other keys are reported as unknown fields,
	// with a suggestion when one of these is near, before Build is called.
	Fields []string
	// Build makes the remediator of one intervention.config block. It
	// reports each problem with [Block.Fail] (any number of them) and then
	// returns nil; what it returns when a problem was reported is dropped.
	// Monitors whose blocks are identical share the remediator of one call.
	// It is called from several goroutines at once.
	Build func(b *Block) intervene.Remediator
}

// builtinInterventions are the names of the types this package builds
// itself, in the order the error for an unknown type lists them.
var builtinInterventions = []string{"script", "http", "docker_restart", "docker_update", "docker_scale"}

// builtinAliases are every spelling the built-in types answer to.
var builtinAliases = []string{"script", "exec", "command", "http", "webhook",
	"docker_restart", "docker", "docker-restart", "docker_update", "docker-update", "docker_scale", "docker-scale"}

var registry struct {
	sync.RWMutex
	types map[string]*InterventionType // by lower-case name and alias
	names []string                     // main names, in registration order
}

// RegisterIntervention adds an intervention type to every loader of this
// package ([Load], [LoadFile], [Syncer]), from then on. Call it from an
// init function or before loading. It panics when the type has no name or
// no Build, or a name or alias that is taken, by a built-in type or by a
// type registered before: two packages may not claim one name.
func RegisterIntervention(t InterventionType) {
	if t.Name == "" || t.Build == nil {
		panic("config.RegisterIntervention: want a Name and a Build")
	}
	t.Aliases = slices.Clone(t.Aliases)
	t.Fields = slices.Clone(t.Fields)
	registry.Lock()
	defer registry.Unlock()
	if registry.types == nil {
		registry.types = make(map[string]*InterventionType)
	}
	for _, n := range append([]string{t.Name}, t.Aliases...) {
		k := strings.ToLower(n)
		if k == "" || slices.Contains(builtinAliases, k) || registry.types[k] != nil {
			panic(fmt.Sprintf("config.RegisterIntervention: intervention type name %q is taken", n))
		}
	}
	for _, n := range append([]string{t.Name}, t.Aliases...) {
		registry.types[strings.ToLower(n)] = &t
	}
	registry.names = append(registry.names, t.Name)
}

// registered returns the registered type named name, if any.
func registered(name string) (*InterventionType, bool) {
	registry.RLock()
	defer registry.RUnlock()
	t, ok := registry.types[strings.ToLower(name)]
	return t, ok
}

// interventionTypes lists the type names, built-in first, for errors.
func interventionTypes() string {
	registry.RLock()
	defer registry.RUnlock()
	return strings.Join(append(slices.Clone(builtinInterventions), registry.names...), ", ")
}

// extRemedy builds a registered type's remediator from its config block.
func (it *item) extRemedy(t *InterventionType, cfg *node, path string) intervene.Remediator {
	before := len(it.out.errs)
	known := append(slices.Clone(t.Fields), "timeout")
	for c := cfg.first; c != nil; c = c.next {
		if !slices.Contains(known, c.key) {
			it.unknown(c, path, known)
		}
	}
	b := &Block{it: it, n: cfg, path: path, before: before}
	r := t.Build(b)
	if len(it.out.errs) > before {
		return nil
	}
	if r == nil {
		it.failf(cfg, path, "the %s intervention built no remediator", t.Name)
	}
	return r
}

// Block is the intervention.config block of a registered intervention type
// ([InterventionType]), as its Build reads it. Each reader reports a value
// of the wrong kind itself, at the field and its line, and returns false;
// an absent key returns the zero value and false without a report (use
// [Block.Has] to require one). A Block is valid only during the Build call
// it is given to.
type Block struct {
	it     *item
	n      *node
	path   string
	before int // problems of the monitor reported before the block
}

// Has reports whether the block has key.
func (b *Block) Has(key string) bool { return b.n.get(key) != nil }

// Line returns the line of key in the file, or that of the block when it
// has no such key: for messages such as "conflicts with add (line 12)".
func (b *Block) Line(key string) int {
	if c := b.n.get(key); c != nil {
		return lineOf(c)
	}
	return lineOf(b.n)
}

// String returns the string at key (a null value is "").
func (b *Block) String(key string) (string, bool) {
	c := b.n.get(key)
	if c == nil {
		return "", false
	}
	s, ok := b.it.str(c, b.path)
	return strings.Clone(s), ok
}

// Int returns the integer at key.
func (b *Block) Int(key string) (int, bool) {
	c := b.n.get(key)
	if c == nil {
		return 0, false
	}
	return b.it.integer(c, b.path)
}

// Bool returns the boolean (true or false) at key.
func (b *Block) Bool(key string) (bool, bool) {
	c := b.n.get(key)
	if c == nil {
		return false, false
	}
	return b.it.boolean(c, b.path)
}

// Duration returns the non-negative duration ("30s", "5m") at key.
func (b *Block) Duration(key string) (time.Duration, bool) {
	c := b.n.get(key)
	if c == nil {
		return 0, false
	}
	return b.it.duration(c, b.path)
}

// Fail reports a problem with key: at its line when the block has it (a
// wrong value), else at the block's (a missing field). The error's Field is
// intervention.config.<key>; with key "" it is the block as a whole. An
// error wrapping [intervene.ErrConfig] is shown without that package's
// prefix, and still wraps it.
func (b *Block) Fail(key string, err error) {
	at := b.n.get(key)
	if at == nil {
		at = b.n
	}
	b.it.fail(at, join(b.path, key), cause(err, intervene.ErrConfig))
}

// Failf is [Block.Fail] with a message formatted as by [fmt.Errorf].
func (b *Block) Failf(key, format string, args ...any) {
	b.Fail(key, fmt.Errorf(format, args...))
}

// Failed reports whether a problem of this block has been reported, by its
// readers, by Fail, or as an unknown field.
func (b *Block) Failed() bool { return len(b.it.out.errs) > b.before }
