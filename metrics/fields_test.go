package metrics

import (
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ziad/cpra"
)

// render is everything the collector sends for s, as text.
func render(t *testing.T, c *collector, s *cpra.Stats) string {
	t.Helper()
	ch := make(chan prometheus.Metric, 256)
	c.collect(s, ch)
	close(ch)
	var b strings.Builder
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		b.WriteString(m.Desc().String())
		b.WriteString(pb.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// leaves calls fn with the path and value of every settable scalar field
// under v, growing each slice to one element first.
func leaves(t *testing.T, v reflect.Value, path string, fn func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			leaves(t, v.Field(i), path+"."+v.Type().Field(i).Name, fn)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		leaves(t, v.Index(0), path+"[0]", fn)
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64, reflect.Bool:
		fn(path, v)
	default:
		t.Fatalf("%s: a %v field, which this test does not know how to set", path, v.Kind())
	}
}

// TestEveryStatsFieldIsExported sets each field of cpra.Stats alone and
// checks that the collector's output changes: a field added to Stats
// without its series fails here.
func TestEveryStatsFieldIsExported(t *testing.T) {
	c := NewCollector(nil).(*collector)
	var base cpra.Stats
	leaves(t, reflect.ValueOf(&base).Elem(), "Stats", func(string, reflect.Value) {})
	zero := render(t, c, &base)
	n := 0
	leaves(t, reflect.ValueOf(&base).Elem(), "Stats", func(path string, _ reflect.Value) {
		n++
		s := base
		s.CheckLatency.Buckets = []cpra.LatencyBucket{{}}
		var field reflect.Value
		leaves(t, reflect.ValueOf(&s).Elem(), "Stats", func(p string, v reflect.Value) {
			if p == path {
				field = v
			}
		})
		switch field.Kind() {
		case reflect.Int, reflect.Int64:
			field.SetInt(7_000_000_000)
		case reflect.Uint64:
			field.SetUint(7)
		case reflect.Float64:
			field.SetFloat(7.5)
		case reflect.Bool:
			field.SetBool(true)
		}
		if render(t, c, &s) == zero {
			t.Errorf("%s changes no series", path)
		}
	})
	if n < 40 {
		t.Errorf("walked %d fields of Stats, want all of them", n)
	}
}
