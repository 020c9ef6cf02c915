package bus

import (
	"context"
	"fmt"
	"runtime/debug"
)

// PanicError is the error Recover makes of a panic.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Recover turns a panic in the handler into a *PanicError carrying the
// stack, so that one bad message does not crash the process; the consumer
// then treats it like any other handler error.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) (err error) {
			defer func() {
				if v := recover(); v != nil {
					err = &PanicError{Value: v, Stack: debug.Stack()}
				}
			}()
			return next(ctx, msg)
		}
	}
}
