// Package bench holds CPRA's benchmark suite: the engine's budget figures
// (throughput, memory per monitor, schedule lag, idle CPU, HTTP checks
// against a bare net/http loop, process memory with 1M HTTP monitors, time
// to deliver an alert storm), each measured beside a baseline that runs the
// same fleet the way a user would without CPRA (a goroutine and ticker per
// monitor, or a time.AfterFunc per monitor), so the ratio comes from one run
// on one machine. The EngineFeatures benchmarks repeat the throughput,
// memory and lag figures with flap detection, failure windows, labels,
// dependencies, grouping and a maintenance on, beside the plain engine.
// EngineRoutedMemory gives every monitor the same notifier, as a config
// file's identical codes do, and EngineUnsharedMemory every monitor a
// notifier and a label map of its own: the engine's tables of shared
// values at their best and at their worst. EngineFailingMemory has one
// monitor in eight failing: what an open episode costs.
//
// Run it with
//
//	go test -run '^$' -bench . -benchtime=1x -count=5 ./bench/ | tee new.txt
//	benchstat new.txt
//
// or let bench/report run it and summarise it (median and spread per
// benchmark and metric, with the Go version, CPU and commit):
//
//	go run ./bench/report -count 5                    # prints a Markdown table
//	go run ./bench/report -count 5 -readme README.md  # replaces the table there
//
// With -short only the 10k sizes run (the CI smoke test, under a minute).
package bench
