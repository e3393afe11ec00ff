package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// The demo fleet: small and fast, so that every code shows within seconds.
const (
	demoServices = 200
	demoFailRate = 0.02
	demoTick     = 500 * time.Millisecond
	demoInterval = 200 * time.Millisecond
	// demoPools is the number of values of the services' pool label, by
	// which a --config file's group_by may group their alerts.
	demoPools = 10
)

// runDemo runs an in-process fleet of loopback HTTP services, some of which
// fail and recover, and monitors it with remediation, printing every alert.
func runDemo(ctx context.Context, o options, stdout io.Writer, log *slog.Logger) int {
	if o.demoDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.demoDuration)
		defer cancel()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Error("demo", "err", err)
		return 1
	}
	fl := newFleet(demoServices, demoFailRate, uint64(time.Now().UnixNano()))
	stopFleet := serveFleet(context.WithoutCancel(ctx), fl, ln, demoTick)
	defer stopFleet()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	e, err := cpra.New(o.engineOptions(cpra.WithLogger(log), cpra.WithNotifier(alertLines(stdout, o.logFormat, o.stdoutTTY, o.colour, true)))...)
	if err != nil {
		log.Error("engine", "err", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	pools := make([]map[string]string, demoPools)
	for i := range pools {
		pools[i] = map[string]string{"pool": fmt.Sprint(i)}
	}
	for i := range demoServices {
		url := fmt.Sprintf("%s/svc/%d", base, i)
		check, err := pulse.HTTP(url)
		if err == nil {
			var fix *intervene.HTTPRemediator
			fix, err = intervene.HTTP(http.MethodPost, url+"/restart", intervene.WithHTTPClient(client))
			if err == nil {
				_, err = e.Add(cpra.Monitor{
					Name:             fmt.Sprintf("svc-%d", i),
					Check:            check,
					Interval:         demoInterval,
					Timeout:          demoInterval,
					FailureThreshold: 2,
					SuccessThreshold: 2,
					Remediate:        fix,
					MaxRemediations:  2,
					Labels:           pools[i%demoPools],
				})
			}
		}
		if err != nil {
			log.Error("demo monitor", "err", err)
			e.Shutdown(context.Background())
			return 1
		}
	}
	if o.logFormat == formatJSON {
		// Standard output holds only alerts, one JSON object each.
		log.Info("demo", "services", demoServices, "url", base, "fail_rate", demoFailRate, "tick", demoTick)
		return serve(ctx, o, e, log, nil)
	}
	fmt.Fprintf(stdout, "cpra demo: %d services on %s; about %.0f%% fail every %v, some beyond repair for a while.\n"+
		"Codes: yellow = first failure, cyan = restarted and being verified, red = down and not repaired, green = healthy again.\n",
		demoServices, base, demoFailRate*100, demoTick)
	return serve(ctx, o, e, log, nil)
}

// printer writes each alert as one short line: its time, code, monitor,
// attempt and error.
type printer struct {
	mu     sync.Mutex
	w      io.Writer
	colour bool // colour the code (w is a terminal)
	short  bool // the time of day only (w is a terminal); the full time otherwise
}

func (p *printer) Notify(_ context.Context, a alert.Alert) error {
	at := a.At.Format("2006-01-02T15:04:05.000Z07:00")
	if p.short {
		at = a.At.Format("15:04:05.000")
	}
	line := fmt.Sprintf("%s %s %-8s", at, colourCode(a.Code.String(), 6, p.colour), a.Monitor)
	if len(a.Group) > 0 {
		// A group (see group_by): its monitors, then the first one's details.
		const shown = 5
		line += fmt.Sprintf(" %d monitors:", len(a.Group))
		for i, m := range a.Group {
			if i == shown {
				line += " ..."
				break
			}
			line += " " + m.Monitor
		}
	}
	if a.Flap != 0 {
		line += " " + a.Flap.String()
	}
	if a.Repeat > 0 {
		line += fmt.Sprintf(" reminder %d", a.Repeat)
	}
	if a.Attempt > 0 {
		line += fmt.Sprintf(" attempt %d", a.Attempt)
	}
	if a.Err != nil {
		line += " " + a.Err.Error()
	}
	line = strings.TrimRight(line, " ")
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := fmt.Fprintln(p.w, line)
	return err
}
