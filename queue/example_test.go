package queue_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ziad/cpra/queue"
)

func ExampleQueue() {
	q := queue.New[string](8)
	ctx := context.Background()

	var wg sync.WaitGroup
	wg.Go(func() { // a consumer: parks while the queue is empty
		for {
			job, err := q.Get(ctx)
			if err != nil { // queue.ErrClosed once closed and drained
				return
			}
			fmt.Println("ran", job)
		}
	})
	for _, job := range []string{"check db", "check api", "check dns"} {
		if err := q.Put(ctx, job); err != nil {
			fmt.Println(err)
		}
	}
	q.Close()
	wg.Wait()
	s := q.Stats()
	fmt.Println("enqueued", s.Enqueued, "dequeued", s.Dequeued)
	// Output:
	// ran check db
	// ran check api
	// ran check dns
	// enqueued 3 dequeued 3
}

func ExampleQueue_TryPut() {
	q := queue.New[int](2)
	for i := range 3 {
		fmt.Println(i, q.TryPut(i))
	}
	fmt.Println("full:", q.Stats().Full)
	// Output:
	// 0 <nil>
	// 1 <nil>
	// 2 queue: full
	// full: 1
}

func ExamplePriority() {
	p := queue.NewPriority[string](16, 4)
	now := time.Now()
	p.TryPut("routine check")
	p.TryPutUrgent("verify fix", now.Add(2*time.Second))
	p.TryPutUrgent("re-check during incident", now.Add(time.Second))
	for p.Len() > 0 {
		v, _ := p.TryGet()
		fmt.Println(v)
	}
	// Output:
	// re-check during incident
	// verify fix
	// routine check
}

func ExampleAdaptive() {
	q := queue.NewAdaptive[int](4, 64)
	for i := range 40 {
		q.TryPut(i)
	}
	fmt.Println("burst: cap", q.Cap())
	for range 100 { // drain, then keep polling an idle queue
		q.TryGet()
	}
	fmt.Println("idle: cap", q.Cap())
	// Output:
	// burst: cap 64
	// idle: cap 4
}
