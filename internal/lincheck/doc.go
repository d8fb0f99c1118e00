// Package lincheck checks that memimgd behaves as a linearizable key-value
// store: concurrent clients run random SET, GET and INCR commands on a few
// keys while servers are killed, restarted and paused, every command's
// invocation and return times are recorded, and the history is checked with
// porcupine (github.com/anishathalye/porcupine).
//
// # The model
//
// The sequential specification is a set of independent registers, one per
// key, each either missing or holding a string:
//
//   - SET k v always succeeds: the register holds v, the reply is OK.
//   - GET k returns the register's value, or nil when the key is missing,
//     and changes nothing.
//   - INCR k treats a missing key as 0, stores and returns the value plus
//     one; on a value that is not a canonical 64-bit integer (or that would
//     overflow) it replies with an error and changes nothing.
//
// Keys are independent, so the model is partitioned by key (porcupine's
// Model.Partition): a history is linearizable if and only if every key's
// sub-history is, and each key is checked on its own, in parallel.
//
// # Operations with an unknown outcome
//
// A client that gets a connection error or a timeout cannot tell whether its
// write took effect: it may have been applied (even later, by a server that
// was paused with the command in its socket buffer) or never. Such an
// operation is recorded with Output.Unknown set and a return time of
// UnknownReturn (the largest int64, "infinity"): it is concurrent with
// everything after its invocation, and the model's Step accepts any outcome
// for it, returning the state after applying it. Porcupine can therefore
// linearize it at any point after its invocation (the write happened
// there), or after every other operation (which no other operation can
// observe: the write never happened). A failed GET has no effect to account
// for and is simply left out of the history, as is any command that was
// certainly never executed (a refused connection, a LOADING reply).
//
// A client whose operation's outcome is unknown continues under a new
// client id (as a Jepsen process does after a crash), so that in porcupine's
// visualization each row holds one sequence of non-overlapping operations.
//
// # Using it
//
// A Workload runs the clients (go-redis with automatic retries disabled: a
// retried INCR could be applied twice) against the address its Addr function
// returns for each operation and returns the recorded history; Check checks
// it. When it is not linearizable, Diagnose tells which keys fail and at
// which operation, and Visualize writes porcupine's HTML visualization of
// those keys, which shows the longest partial linearizations and where they
// fail. A Recorder can also be used directly by other drivers.
//
// # Tests
//
// standalone_test.go runs the workload against a real memimgd (built by
// memimgtest) that is killed with SIGKILL and restarted, and stopped with
// SIGSTOP and continued, for shorter and for longer than the clients'
// timeout. By default it runs for about 3 seconds, suitable for
// `go test ./...`; the long form runs with a flag:
//
//	go test ./internal/lincheck/ -run Standalone -v -lincheck.duration=60s
//
// Other flags: -lincheck.seed (the workload's random seed; 0 picks one, and
// the seed is logged), -lincheck.clients (default 8),
// -lincheck.serverargs (extra memimgd arguments, e.g. "--appendfsync
// everysec") and -lincheck.checktimeout (how long porcupine may search; an
// inconclusive search fails the test only in the long form, since a slow
// CI machine is no bug). The clients move to new keys every 2 seconds
// (Workload.Rotate), so the checker's work grows linearly with the
// duration: a 60s run records about 750,000 operations on 2 cores and
// porcupine checks them in a few seconds. When a history is not
// linearizable, the test reports the failing keys and operations
// (Diagnose), writes the visualization of those keys to an HTML file in
// the system's temporary directory and logs its path and the seed.
package lincheck
