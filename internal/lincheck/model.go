package lincheck

import (
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
)

// Kind is the command an operation runs.
type Kind uint8

// The commands of the model.
const (
	Get Kind = iota
	Set
	Incr
)

// String returns the command's name.
func (k Kind) String() string {
	switch k {
	case Get:
		return "GET"
	case Set:
		return "SET"
	case Incr:
		return "INCR"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Input is an operation's command: the porcupine.Operation's Input.
type Input struct {
	Kind  Kind
	Key   string
	Value string // SET's value
}

// String formats the command as it would be typed, e.g. "SET k 5".
func (in Input) String() string {
	if in.Kind == Set {
		return fmt.Sprintf("SET %s %s", in.Key, in.Value)
	}
	return fmt.Sprintf("%s %s", in.Kind, in.Key)
}

// Output is an operation's reply: the porcupine.Operation's Output.
type Output struct {
	// Unknown means the client does not know whether the command took
	// effect (connection error, timeout): the model accepts any reply.
	// The operation's return time must be UnknownReturn.
	Unknown bool
	// Err is an error reply (INCR of a value that is not an integer). Only
	// whether there is an error is compared, not the message.
	Err string
	// Nil is GET's reply for a missing key.
	Nil bool
	// Value is GET's reply for an existing key, and "OK" for SET.
	Value string
	// Int is INCR's reply.
	Int int64
}

// String formats the reply, "?" when it is unknown.
func (out Output) String() string {
	switch {
	case out.Unknown:
		return "?"
	case out.Err != "":
		return "(error) " + out.Err
	case out.Nil:
		return "nil"
	case out.Value != "":
		return strconv.Quote(out.Value)
	}
	return strconv.FormatInt(out.Int, 10)
}

// matches reports whether the observed reply out is the reply the model
// produced (want).
func (want Output) matches(out Output) bool {
	if out.Unknown {
		return true
	}
	if (want.Err != "") != (out.Err != "") {
		return false
	}
	if want.Err != "" {
		return true
	}
	return want.Nil == out.Nil && want.Value == out.Value && want.Int == out.Int
}

// UnknownReturn is the return time of an operation whose outcome is
// unknown: after every other operation of any history.
const UnknownReturn int64 = math.MaxInt64

// register is the model's state for one key.
type register struct {
	exists bool
	value  string
}

// String is the state as the visualization shows it.
func (r register) String() string {
	if !r.exists {
		return "nil"
	}
	return strconv.Quote(r.value)
}

// notInteger is the model's error reply to INCR of a non-integer value.
const notInteger = "ERR value is not an integer or out of range"

// apply runs in on state s and returns the new state and the reply.
func apply(s register, in Input) (register, Output) {
	switch in.Kind {
	case Set:
		return register{exists: true, value: in.Value}, Output{Value: "OK"}
	case Get:
		if !s.exists {
			return s, Output{Nil: true}
		}
		return s, Output{Value: s.value}
	case Incr:
		var n int64
		if s.exists {
			v, err := strconv.ParseInt(s.value, 10, 64)
			// Redis accepts only the canonical form ("+1", "01" and
			// " 1" are not integers).
			if err != nil || strconv.FormatInt(v, 10) != s.value || v == math.MaxInt64 {
				return s, Output{Err: notInteger}
			}
			n = v
		}
		n++
		return register{exists: true, value: strconv.FormatInt(n, 10)}, Output{Int: n}
	}
	panic(fmt.Sprintf("lincheck: unknown command %v", in.Kind))
}

// step is the model's Step: the new state whether or not the reply is
// unknown, and whether the observed reply is the one the model gives.
func step(state, input, output any) (bool, any) {
	next, want := apply(state.(register), input.(Input))
	return want.matches(output.(Output)), next
}

// partition splits a history by key, in a deterministic order.
func partition(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(Input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([][]porcupine.Operation, len(keys))
	for i, k := range keys {
		parts[i] = byKey[k]
	}
	return parts
}

// Model is the porcupine model of a set of Redis string keys under SET, GET
// and INCR, partitioned by key; see the package documentation. Operations
// have Input and Output values of the types Input and Output.
var Model = porcupine.Model{
	Partition: partition,
	Init:      func() any { return register{} },
	Step:      step,
	Equal:     func(a, b any) bool { return a.(register) == b.(register) },
	Hash: func(state any) uint64 {
		r := state.(register)
		if !r.exists {
			return 0
		}
		h := fnv.New64a()
		h.Write([]byte(r.value))
		return h.Sum64() | 1
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%v → %v", input, output)
	},
	DescribeState: func(state any) string { return state.(register).String() },
	DescribeOperationMetadata: func(info any) string {
		if info == nil {
			return ""
		}
		return fmt.Sprint(info)
	},
}

// Check checks that history is linearizable, searching for at most timeout
// (0: no limit). The result is porcupine.Unknown if the search timed out.
// On porcupine.Illegal, Diagnose tells which keys fail and where.
//
// Porcupine checks every key of a history at once, each with a cache that
// grows with the square of the key's operations; Check hands it
// GOMAXPROCS keys at a time, which bounds the memory a long history with
// many keys needs, and stops at the first key that fails.
func Check(history []porcupine.Operation, timeout time.Duration) porcupine.CheckResult {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	parts := partition(history)
	result := porcupine.Ok
	for n := runtime.GOMAXPROCS(0); len(parts) > 0; parts = parts[min(n, len(parts)):] {
		var group []porcupine.Operation
		for _, p := range parts[:min(n, len(parts))] {
			group = append(group, p...)
		}
		left := time.Duration(0)
		if timeout > 0 {
			if left = time.Until(deadline); left <= 0 {
				return porcupine.Unknown
			}
		}
		switch porcupine.CheckOperationsTimeout(Model, group, left) {
		case porcupine.Illegal:
			return porcupine.Illegal
		case porcupine.Unknown:
			result = porcupine.Unknown
		}
	}
	return result
}

// Visualize writes porcupine's HTML visualization of a checked history
// (the information returned by Diagnose, or porcupine.CheckOperationsVerbose
// with Model) to path: the history by client and key, and the longest partial
// linearizations found, with the point where each fails.
func Visualize(path string, info porcupine.LinearizationInfo) error {
	return porcupine.VisualizePath(Model, info, path)
}
