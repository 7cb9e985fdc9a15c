package faults

import (
	"errors"
	"slices"
	"strings"
)

// ParamError is an error of ParseSpec or Validate about one parameter, so
// that a door can point at it (a scenario file names the field and its
// line). Its text is the error's as before.
type ParamError struct {
	Key string // the parameter as given to ParseSpec ("reason_code"), or its name ("reason-code")
	Why string // what is wrong, without the kind and key ("not a duration (…)")
	Err error  // the whole error
}

func (e *ParamError) Error() string { return e.Err.Error() }
func (e *ParamError) Unwrap() error { return e.Err }

// paramError wraps err as being about key.
func paramError(key, why string, err error) error {
	return &ParamError{Key: key, Why: why, Err: err}
}

// validateError is a Validate error of kind k: a message that starts with
// one of the kind's parameter names ("status 99 is not …", "jitter must
// not be negative") is about that parameter.
func validateError(k Kind, info kindInfo, msg string) error {
	err := errors.New(string(k) + ": " + msg)
	name, _, _ := strings.Cut(msg, " ")
	if name == "for" || slices.Contains(info.params, name) {
		return paramError(name, msg, err)
	}
	return err
}
