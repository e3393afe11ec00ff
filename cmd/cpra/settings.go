package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ziad/cpra"
)

// settings are the engine settings read from a --config file.
type settings struct {
	// opts configure the engine; they are applied after the command's own,
	// so the file has the last word.
	opts []cpra.Option
	// shutdownTimeout replaces the default shutdownTimeout when not zero.
	shutdownTimeout time.Duration
	// groupBy is the label alerts are grouped by, empty for none.
	groupBy string
}

// Defaults the engine uses for a knob the file sets only half of.
const (
	defaultMaxWorkers    = 1024
	defaultNotifyRetries = 3
	defaultNotifyBackoff = 200 * time.Millisecond
	defaultGroupWait     = 30 * time.Second
)

// settingsKeys lists the keys of a --config file, for the usage text and
// for error messages.
var settingsKeys = []string{"workers", "queue_capacity", "slo", "headroom", "shutdown_timeout", "notify", "capacity", "group_by", "group_wait"}

// loadSettings reads the engine settings of a --config file:
//
//	workers: {min: 4, max: 256}
//	queue_capacity: 65536
//	slo: 100ms
//	headroom: 0.2
//	shutdown_timeout: 30s
//	notify: {timeout: 10s, retries: 3, backoff: 200ms, max_elapsed: 10m}
//	capacity: 100000
//	group_by: team
//	group_wait: 30s
//
// Every key is optional; an unknown key is an error. All problems of the file
// are returned at once, each naming the field and its line.
func loadSettings(path string) (settings, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return settings{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return settings{}, fmt.Errorf("%s: %w", path, err)
	}
	p := &settingsParser{file: path}
	s := p.parse(&doc)
	if len(p.errs) > 0 {
		return settings{}, errors.Join(p.errs...)
	}
	// The engine checks the options once more, as a whole.
	e, err := cpra.New(s.opts...)
	if err != nil {
		return settings{}, fmt.Errorf("%s: %w", path, err)
	}
	e.Shutdown(context.Background()) // never started: this only closes it
	return s, nil
}

type settingsParser struct {
	file string
	errs []error
}

func (p *settingsParser) fail(n *yaml.Node, field, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s: %s (line %d)", p.file, field, fmt.Sprintf(format, args...), n.Line))
}

// mapping calls set for each key of the mapping n, which must use only the
// keys listed, each at most once.
func (p *settingsParser) mapping(n *yaml.Node, field string, keys []string, set func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, field, "want a mapping with keys %s", strings.Join(keys, ", "))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		full := name
		if field != "" {
			full = field + "." + name
		}
		if !slices.Contains(keys, name) {
			p.fail(k, full, "unknown field; known fields are %s", strings.Join(keys, ", "))
			continue
		}
		if line, dup := seen[name]; dup {
			p.fail(k, full, "set twice (first on line %d)", line)
			continue
		}
		seen[name] = k.Line
		set(name, v)
	}
}

func (p *settingsParser) scalar(n *yaml.Node, field string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, field, "want a value")
		return false
	}
	return true
}

func (p *settingsParser) int(n *yaml.Node, field string, least int) (int, bool) {
	if !p.scalar(n, field) {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || n.Tag != "!!int" {
		p.fail(n, field, "%q is not an integer", n.Value)
		return 0, false
	}
	if v < least {
		p.fail(n, field, "%d is less than %d", v, least)
		return 0, false
	}
	return v, true
}

func (p *settingsParser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	if !p.scalar(n, field) {
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.fail(n, field, "%q is not a duration such as 500ms or 2m", n.Value)
		return 0, false
	}
	if d <= 0 {
		p.fail(n, field, "%v is not positive", d)
		return 0, false
	}
	return d, true
}

func (p *settingsParser) float(n *yaml.Node, field string) (float64, bool) {
	if !p.scalar(n, field) {
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || (n.Tag != "!!float" && n.Tag != "!!int") || math.IsNaN(v) || math.IsInf(v, 0) {
		p.fail(n, field, "%q is not a number", n.Value)
		return 0, false
	}
	if v < 0 {
		p.fail(n, field, "%v is negative", v)
		return 0, false
	}
	return v, true
}

func (p *settingsParser) parse(doc *yaml.Node) settings {
	var s settings
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return s // an empty file changes nothing
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return s
	}
	var (
		minW, maxW          int
		workersNode         *yaml.Node
		retries             = -1
		backoff             time.Duration
		retriesSet, backSet bool
		groupWait           time.Duration
		groupWaitNode       *yaml.Node
	)
	p.mapping(root, "", settingsKeys, func(key string, v *yaml.Node) {
		switch key {
		case "workers":
			workersNode = v
			p.mapping(v, key, []string{"min", "max"}, func(k string, v *yaml.Node) {
				n, ok := p.int(v, key+"."+k, 1)
				if !ok {
					return
				}
				if k == "min" {
					minW = n
				} else {
					maxW = n
				}
			})
		case "queue_capacity":
			if n, ok := p.int(v, key, 1); ok {
				s.opts = append(s.opts, cpra.WithQueueCapacity(n))
			}
		case "capacity":
			if n, ok := p.int(v, key, 0); ok {
				s.opts = append(s.opts, cpra.WithCapacity(n))
			}
		case "slo":
			if d, ok := p.duration(v, key); ok {
				s.opts = append(s.opts, cpra.WithSLO(d))
			}
		case "headroom":
			if h, ok := p.float(v, key); ok {
				s.opts = append(s.opts, cpra.WithHeadroom(h))
			}
		case "shutdown_timeout":
			if d, ok := p.duration(v, key); ok {
				s.opts = append(s.opts, cpra.WithShutdownTimeout(d))
				s.shutdownTimeout = d
			}
		case "group_by":
			if p.scalar(v, key) {
				if v.Value == "" {
					p.fail(v, key, "empty: give the label whose value groups alerts")
				} else {
					s.groupBy = v.Value
				}
			}
		case "group_wait":
			groupWaitNode = v
			if d, ok := p.duration(v, key); ok {
				if d > time.Hour {
					p.fail(v, key, "%v is above the maximum 1h", d)
				} else {
					groupWait = d
				}
			}
		case "notify":
			p.mapping(v, key, []string{"timeout", "retries", "backoff", "max_elapsed"}, func(k string, v *yaml.Node) {
				field := key + "." + k
				switch k {
				case "timeout":
					if d, ok := p.duration(v, field); ok {
						s.opts = append(s.opts, cpra.WithNotifyTimeout(d))
					}
				case "retries":
					retries, retriesSet = p.int(v, field, 0)
				case "backoff":
					backoff, backSet = p.duration(v, field)
				case "max_elapsed":
					if d, ok := p.duration(v, field); ok {
						s.opts = append(s.opts, cpra.WithNotifyMaxElapsed(d))
					}
				}
			})
		}
	})
	if minW > 0 || maxW > 0 {
		switch {
		case maxW == 0:
			maxW = max(defaultMaxWorkers, minW)
		case minW == 0:
			minW = min(runtime.GOMAXPROCS(0), maxW)
		}
		if minW > maxW {
			p.fail(workersNode, "workers", "min %d is more than max %d", minW, maxW)
		} else {
			s.opts = append(s.opts, cpra.WithWorkers(minW, maxW))
		}
	}
	switch {
	case s.groupBy != "":
		if groupWait == 0 {
			groupWait = defaultGroupWait
		}
		s.opts = append(s.opts, cpra.WithGrouping(s.groupBy, groupWait))
	case groupWaitNode != nil && groupWait > 0:
		p.fail(groupWaitNode, "group_wait", "needs group_by, the label to group alerts by")
	}
	if retriesSet || backSet {
		if !retriesSet {
			retries = defaultNotifyRetries
		}
		if !backSet {
			backoff = defaultNotifyBackoff
		}
		s.opts = append(s.opts, cpra.WithNotifyRetries(retries, backoff))
	}
	return s
}
