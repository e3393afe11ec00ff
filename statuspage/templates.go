package statuspage

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"
)

// view is what every template gets: the page's data, the way back to the
// root for relative links, and the time the page is rendered at.
type view struct {
	Root string
	Data any
	Now  time.Time
}

// ago writes how long before now t was, shortly ("3m12s ago").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + short(-d)
	}
	return short(d) + " ago"
}

// short writes d to the second, at most two units.
func short(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func labels(m map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + m[k])
	}
	return b.String()
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"ago": ago, "stamp": stamp, "labels": labels,
	"view": func(root string, data any, now time.Time) view { return view{Root: root, Data: data, Now: now} },
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Data.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.5em;margin:0 0 .5em}h1 a{color:inherit;text-decoration:none}
h2{font-size:1.15em;margin:1.5em 0 .5em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}td.err{font-family:monospace;word-break:break-word}
.counts{display:flex;gap:.6em;flex-wrap:wrap;padding:0;list-style:none}
.counts li{padding:.5em 1em;border-radius:.4em;background:#eee}.counts b{font-size:1.4em;display:block}
.down{background:#fde2e1}.failing{background:#fff3cd}.up{background:#e3f5e1}.paused,.maintenance{background:#e8eaf6}
.counts .down,.counts .failing{font-weight:bold}
.cond{font-weight:bold;text-transform:uppercase;font-size:.85em}
form{margin:1em 0}input[type=search]{width:24em;padding:.3em}
nav a{margin-right:1em}.muted{color:#777}td[title]{white-space:nowrap}
</style></head><body>
<h1><a href="{{.Root}}./">{{.Data.Title}}</a></h1>
<form action="{{.Root}}monitors" method="get" role="search">
<input type="search" name="q" placeholder="name or label=value" aria-label="search">
<select name="state" aria-label="state"><option value="">any state</option>
<option>down</option><option>failing</option><option value="down,failing">down or failing</option>
<option>up</option><option>unknown</option><option>paused</option><option>maintenance</option></select>
<button type="submit">Search</button></form>
{{end}}

{{define "foot"}}<p class="muted">Rendered {{stamp .Now}}.</p></body></html>
{{end}}

{{define "rows"}}{{$v := .}}<table id="monitors"><thead><tr><th>Monitor</th><th>State</th><th>Since</th><th>Error</th><th>Attempts</th><th>Last check</th><th>Labels</th></tr></thead><tbody>
{{range .Data}}<tr class="{{.Condition}}" data-monitor="{{.Name}}"><td><a href="{{$v.Root}}{{.URL}}">{{.Name}}</a></td>
<td><span class="cond">{{.Condition}}</span>{{if .SuppressedBy}} <span class="muted">held by {{.SuppressedBy}}</span>{{end}}{{if .Remediating}} <span class="muted">repairing</span>{{end}}</td>
<td title="{{stamp .Since}}">{{if not .Since.IsZero}}{{ago $v.Now .Since}}{{end}}</td>
<td class="err">{{.Error}}</td><td>{{if .Attempts}}{{.Attempts}}{{end}}</td>
<td title="{{stamp .LastCheck}}">{{ago $v.Now .LastCheck}}</td><td class="muted">{{labels .Labels}}</td></tr>
{{end}}</tbody></table>
{{end}}

{{define "alerts"}}{{$v := .}}<table id="alerts"><thead><tr><th>When</th><th>Monitor</th><th>Code</th><th>Error</th></tr></thead><tbody>
{{range .Data}}<tr class="alert {{.Code}}"><td title="{{stamp .At}}">{{ago $v.Now .At}}</td><td><a href="{{$v.Root}}monitors/{{.Monitor}}">{{.Monitor}}</a></td>
<td>{{.Code}}{{if .Flap}} ({{.Flap}}){{end}}{{if .Attempt}} attempt {{.Attempt}}{{end}}{{if .Repeat}} reminder {{.Repeat}}{{end}}</td><td class="err">{{.Error}}</td></tr>
{{else}}<tr><td colspan="4" class="muted">No alerts yet.</td></tr>
{{end}}</tbody></table>
{{end}}

{{define "overview"}}{{template "head" .}}{{$v := .}}{{with .Data}}
<ul class="counts" id="counts">
<li class="down">down<b id="count-down">{{.Counts.Down}}</b></li>
<li class="failing">failing<b id="count-failing">{{.Counts.Failing}}</b></li>
<li class="up">up<b id="count-up">{{.Counts.Up}}</b></li>
<li>unknown<b id="count-unknown">{{.Counts.Unknown}}</b></li>
<li class="paused">paused<b id="count-paused">{{.Counts.Paused}}</b></li>
<li class="maintenance">maintenance<b id="count-maintenance">{{.Counts.Maintenance}}</b></li>
{{if .Counts.Away}}<li class="away">away<b id="count-away">{{.Counts.Away}}</b></li>
{{end}}<li>all<b id="count-monitors">{{.Counts.Monitors}}</b></li>
</ul>
<nav><a href="{{$v.Root}}monitors">All monitors</a><a href="{{$v.Root}}monitors?state=down,failing">Down or failing</a></nav>
<h2>Down or failing</h2>
{{if .Problems}}{{template "rows" (view $v.Root .Problems $v.Now)}}{{if .More}}<p><a id="more" href="{{$v.Root}}{{.More}}">More down or failing monitors…</a></p>{{end}}
{{else}}<p id="all-well">Every monitor is passing.</p>{{end}}
<h2>Recent alerts</h2>
{{template "alerts" (view $v.Root .Alerts $v.Now)}}
{{end}}{{template "foot" .}}{{end}}

{{define "listing"}}{{template "head" .}}{{$v := .}}{{with .Data}}
<h2>Monitors{{if .Query}} matching “{{.Query}}”{{end}}{{if .State}} ({{.State}}){{end}}</h2>
{{if .Monitors}}{{template "rows" (view $v.Root .Monitors $v.Now)}}{{else}}<p id="none">No monitor matches.</p>{{end}}
<nav>{{if .First}}<a id="first" href="{{$v.Root}}{{.First}}">First page</a>{{end}}{{if .Next}}<a id="next" href="{{$v.Root}}{{.Next}}">Next page</a>{{end}}</nav>
{{end}}{{template "foot" .}}{{end}}

{{define "detail"}}{{template "head" .}}{{$v := .}}{{with .Data}}{{with .Monitor}}
<h2 id="monitor">{{.Name}} <span class="cond {{.Condition}}">{{.Condition}}</span></h2>
<table id="facts"><tbody>
<tr><th>State</th><td id="state">{{.Condition}}{{if .Code}} (last code {{.Code}}){{end}}</td></tr>
{{if not .Since.IsZero}}<tr><th>Since</th><td id="since" title="{{stamp .Since}}">{{ago $v.Now .Since}}</td></tr>{{end}}
{{if .Error}}<tr><th>Error</th><td id="error" class="err">{{.Error}}</td></tr>{{end}}
<tr><th>Failures / passes in a row</th><td>{{.Failures}} / {{.Successes}}</td></tr>
<tr><th>Remediation attempts</th><td id="attempts">{{.Attempts}}{{if .Remediating}} (one running){{end}}</td></tr>
{{if .SuppressedBy}}<tr><th>Held by</th><td id="suppressed-by"><a href="{{$v.Root}}monitors/{{.SuppressedBy}}">{{.SuppressedBy}}</a></td></tr>{{end}}
<tr><th>Last check</th><td title="{{stamp .LastCheck}}">{{ago $v.Now .LastCheck}} ({{.LatencyMS}} ms)</td></tr>
<tr><th>Next check</th><td title="{{stamp .NextCheck}}">{{ago $v.Now .NextCheck}}</td></tr>
{{if not .LastRemediation.IsZero}}<tr><th>Last remediation</th><td>{{ago $v.Now .LastRemediation}}{{if .LastRemediationError}}: <span class="err">{{.LastRemediationError}}</span>{{end}}</td></tr>{{end}}
<tr><th>Interval / timeout</th><td>{{.IntervalSeconds}} s / {{.TimeoutSeconds}} s</td></tr>
<tr><th>Labels</th><td>{{labels .Labels}}</td></tr>
</tbody></table>{{end}}
<h2>Recent alerts</h2>
{{template "alerts" (view $v.Root .Alerts $v.Now)}}
{{end}}{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}<p id="error">{{.Data.Error}}</p>{{template "foot" .}}{{end}}
`))
