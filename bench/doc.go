// Package bench holds CPRA's benchmark suite: the engine's budget figures
// (throughput, memory per monitor, schedule lag, idle CPU), each measured
// beside a baseline that runs the same fleet the way a user would without
// CPRA, so the ratio comes from one run on one machine.
//
// Run it with
//
//	go test -bench . -benchtime=1x -count=5 ./bench/ | tee new.txt
//	benchstat new.txt
//
// With -short only the 10k sizes run (the CI smoke test).
package bench
