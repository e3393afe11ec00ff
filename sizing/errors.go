package sizing

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (with errors.Is) by every *[ParamError].
var ErrInvalid = errors.New("sizing: invalid parameter")

// ErrUnreachable is returned by [Workers] when no pool size can meet the SLO
// because the mean service time alone is at least the SLO. The returned
// [Decision] is still usable: see Workers.
var ErrUnreachable = errors.New("sizing: SLO unreachable: mean service time alone is at least the SLO")

// ParamError reports an argument or [Params] field outside its domain.
type ParamError struct {
	Field  string  // the argument or field name, such as "Lambda"
	Value  float64 // the rejected value
	Reason string  // what the value must be
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("sizing: invalid %s = %v: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalid].
func (e *ParamError) Unwrap() error { return ErrInvalid }
