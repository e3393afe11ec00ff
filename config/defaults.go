package config

import (
	"github.com/ziad/cpra"
)

// The top-level defaults block gives settings to every monitor that does
// not set them itself:
//
//	defaults:
//	  pulse_check: {interval: 1m, timeout: 5s, max_failures: 2}  # the keys of pulseSettings
//	  intervention: {max_attempts: 2, policy: {...}}             # for monitors with an intervention
//	  codes: {...}                                               # for monitors without codes
//	  repeat_interval: 1h
//	  flap: {high: 50}
//
// It must come before the monitors list, which is read as a stream.

var (
	defaultsFields       = []string{"pulse_check", "intervention", "codes", "repeat_interval", "flap"}
	interventionDefaults = []string{"max_attempts", "policy"}
)

// markDefaults marks every node of the defaults block.
func markDefaults(n *node) {
	n.def = true
	for c := n.first; c != nil; c = c.next {
		markDefaults(c)
	}
}

// setDefaults checks the defaults block n (kept, not copied) and makes
// build apply it. Its problems are reported once, named defaults.<key>.
func (b *builder) setDefaults(n *node) []*Error {
	markDefaults(n)
	out := &built{}
	it := &item{b: b, idx: -1, out: out}
	if !it.mapping(n, "") || n.kind == nullNode {
		return out.errs
	}
	var m cpra.Monitor
	for c := n.first; c != nil; c = c.next {
		switch c.key {
		case "pulse_check":
			if !it.mapping(c, c.key) {
				continue
			}
			var failures *node
			for e := c.first; e != nil; e = e.next {
				if !it.pulseSetting(e, c.key, &m, &failures) {
					it.unknown(e, c.key, pulseSettings)
				}
			}
		case "intervention":
			if !it.mapping(c, c.key) {
				continue
			}
			for e := c.first; e != nil; e = e.next {
				switch e.key {
				case "max_attempts":
					if v, ok := it.integer(e, c.key); ok {
						m.MaxRemediations = v
					}
				case "policy":
					it.policy(e, c.key, &m.Policy)
				default:
					it.unknown(e, c.key, interventionDefaults)
				}
			}
		case "codes":
			it.codes(c)
		case "repeat_interval":
			if d, ok := it.span(c, ""); ok {
				m.RepeatInterval = d
			}
		case "flap":
			m.Flap = it.flap(c)
		default:
			it.unknown(c, "", defaultsFields)
		}
	}
	it.check(m, nil, func(field string) (string, *node) {
		if keys, ok := fileKeys[field]; ok {
			return locateKeys(n, keys)
		}
		return field, n
	})
	b.defaults = n
	return out.errs
}

// applyDefaults adds to the monitor n, from a, copies of the entries of
// the defaults block d it does not set itself. The copies share their
// children with d, which nothing changes.
func applyDefaults(a *arena, n, d *node) {
	for dc := d.first; dc != nil; dc = dc.next {
		switch dc.key {
		case "pulse_check":
			if pc := n.get("pulse_check"); pc != nil && pc.kind == mapNode && dc.kind == mapNode {
				for e := dc.first; e != nil; e = e.next {
					switch e.key {
					case "max_failures", "unhealthy_threshold":
						if pc.get("max_failures") == nil && pc.get("unhealthy_threshold") == nil {
							pc.add(copyNode(a, e))
						}
					default:
						if pc.get(e.key) == nil {
							pc.add(copyNode(a, e))
						}
					}
				}
			}
		case "intervention":
			iv := n.get("intervention")
			if iv == nil || iv.kind != mapNode || dc.kind != mapNode {
				continue
			}
			for e := dc.first; e != nil; e = e.next {
				own := iv.get(e.key)
				switch {
				case own == nil:
					iv.add(copyNode(a, e))
				case e.key == "policy" && own.kind == mapNode && e.kind == mapNode:
					for p := e.first; p != nil; p = p.next {
						if own.get(p.key) == nil {
							own.add(copyNode(a, p))
						}
					}
				}
			}
		case "codes", "repeat_interval", "flap":
			if own := n.get(dc.key); own == nil {
				n.add(copyNode(a, dc))
			} else if own.kind == nullNode && dc.key == "codes" {
				// codes: with nothing is no codes.
				next := own.next
				*own = *dc
				own.next = next
			}
		}
	}
}

// copyNode returns a copy of n from a, outside any list.
func copyNode(a *arena, n *node) *node {
	c := a.alloc()
	*c = *n
	c.next = nil
	return c
}
