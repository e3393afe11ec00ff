package alert

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// Multi returns a [Notifier] that sends each alert to every one of ns at
// once and waits for all of them. Each is called even when another fails;
// the result joins their errors ([errors.Join]), so [Retryable] reports true
// when any failure is retryable. Retrying a Multi sends the alert again to
// those that succeeded, so keep receivers that dislike duplicates in a
// Multi of their own or make them idempotent (as [PagerDuty] is). A panic
// in one of ns is recovered and reported as its error: a [*DeliveryError]
// whose text is one line, "panic: " and the value, and whose cause keeps
// the stack (it has a method Stack() []byte). Nil notifiers are skipped.
func Multi(ns ...Notifier) Notifier {
	list := make([]Notifier, 0, len(ns))
	for _, n := range ns {
		if n != nil {
			list = append(list, n)
		}
	}
	return multi(list)
}

type multi []Notifier

func (m multi) Notify(ctx context.Context, a Alert) error {
	switch len(m) {
	case 0:
		return nil
	case 1:
		return safeNotify(ctx, m[0], a)
	}
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, n := range m {
		wg.Go(func() { errs[i] = safeNotify(ctx, n, a) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// String lists the members.
func (m multi) String() string { return fmt.Sprintf("alert.Multi%v", []Notifier(m)) }

// safeNotify calls n and turns a panic into an error.
func safeNotify(ctx context.Context, n Notifier, a Alert) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &DeliveryError{Notifier: fmt.Sprintf("%T", n), Err: &panicError{value: r, stack: debug.Stack()}}
		}
	}()
	return n.Notify(ctx, a)
}

// panicError is a panic recovered by [Multi]. Its text is one line, as it
// goes into alerts and logs; the stack is kept for whoever asks.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// Stack returns the stack of the goroutine that panicked.
func (e *panicError) Stack() []byte { return e.stack }

// Unwrap returns the panic value when it is an error.
func (e *panicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

var _ Notifier = multi(nil)
