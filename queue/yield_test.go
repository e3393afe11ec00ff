package queue

import "runtime"

func yield() { runtime.Gosched() }
