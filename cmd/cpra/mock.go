package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// mockTick is how often the mock fleet's services fail and recover.
var mockTick = time.Second

// runMock serves a simulated fleet until ctx ends.
func runMock(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cpra mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 0, "number of services (required)")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	failRate := fs.Float64("fail-rate", 0.05, "chance per second that a healthy service fails (0 to 1)")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 || *count <= 0 || *failRate < 0 || *failRate > 1 {
		fmt.Fprintln(stderr, "cpra mock: --count N (N > 0) is required, --fail-rate is within [0, 1], and no arguments")
		return 2
	}
	fl := newFleet(*count, *failRate, uint64(time.Now().UnixNano()))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "cpra mock:", err)
		return 1
	}
	stop := serveFleet(ctx, fl, ln, mockTick)
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	<-ctx.Done()
	stop()
	return 0
}

// serveFleet serves fl on ln and steps it every tick until ctx ends or the
// returned function is called, which waits for both to stop.
func serveFleet(ctx context.Context, fl *fleet, ln net.Listener, tick time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	srv := &http.Server{Handler: fl, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	wg.Go(func() { fl.run(ctx, tick) })
	return func() {
		cancel()
		srv.Close()
		wg.Wait()
	}
}
