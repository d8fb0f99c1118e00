package lincheck

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Failure describes a key whose sub-history is not linearizable.
type Failure struct {
	// Key is the key.
	Key string
	// Ops is the number of operations on the key; Linearized the number
	// of them in the longest partial linearization porcupine found.
	Ops, Linearized int
	// State is the key's value after that partial linearization.
	State string
	// Stuck are the operations that are not in the partial linearization,
	// earliest return first (at most three): the first of them had to be
	// linearized before it returned but could not be.
	Stuck []porcupine.Operation
}

// String describes the failure on a few lines.
func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "key %s: %d of %d operations linearized, leaving the value %s; cannot linearize next:",
		f.Key, f.Linearized, f.Ops, f.State)
	for _, op := range f.Stuck {
		fmt.Fprintf(&b, "\n\t%s", DescribeOp(op))
	}
	return b.String()
}

// DescribeOp formats an operation with its client and times (in seconds
// since the recorder started), e.g. `client 3 [1.204511s, 1.204712s] GET k0 → "7"`.
func DescribeOp(op porcupine.Operation) string {
	ret := "∞"
	if op.Return != UnknownReturn {
		ret = time.Duration(op.Return).String()
	}
	s := fmt.Sprintf("client %d [%v, %s] %v → %v", op.ClientId, time.Duration(op.Call), ret, op.Input, op.Output)
	if op.Metadata != nil {
		s += fmt.Sprintf(" (%v)", op.Metadata)
	}
	return s
}

// Diagnose finds the keys whose sub-histories are not linearizable (each
// checked for at most timeout) and describes each failure. It returns the
// porcupine information of those keys only, for Visualize: a visualization
// of the whole history of a long run can be too large to study.
func Diagnose(history []porcupine.Operation, timeout time.Duration) ([]Failure, porcupine.LinearizationInfo) {
	var bad []porcupine.Operation
	for _, part := range partition(history) {
		if porcupine.CheckOperationsTimeout(Model, part, timeout) == porcupine.Illegal {
			bad = append(bad, part...)
		}
	}
	if len(bad) == 0 {
		return nil, porcupine.LinearizationInfo{}
	}
	_, info := porcupine.CheckOperationsVerbose(Model, bad, timeout)
	parts := partition(bad) // the partitions of info, in the same order
	partials := info.PartialLinearizations()
	var failures []Failure
	for i, part := range parts {
		var longest []int
		if i < len(partials) {
			for _, l := range partials[i] {
				if len(l) > len(longest) {
					longest = l
				}
			}
		}
		state := Model.Init()
		in := make(map[int]bool, len(longest))
		for _, id := range longest {
			_, state = step(state, part[id].Input, part[id].Output)
			in[id] = true
		}
		var rest []porcupine.Operation
		for id, op := range part {
			if !in[id] {
				rest = append(rest, op)
			}
		}
		sort.SliceStable(rest, func(a, b int) bool { return rest[a].Return < rest[b].Return })
		f := Failure{
			Key: part[0].Input.(Input).Key, Ops: len(part), Linearized: len(longest),
			State: Model.DescribeState(state), Stuck: rest[:min(3, len(rest))],
		}
		failures = append(failures, f)
	}
	return failures, info
}
