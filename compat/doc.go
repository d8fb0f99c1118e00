// Package compat holds the differential compatibility tests of memimg: every
// script in testdata/compat/*.txt (at the repository root) is run against a
// real memimgd and a real redis-server, and every reply must be identical.
//
//	go test ./compat                               # every script
//	go test ./compat -run 'TestCompat/strings'     # one file
//	go test ./compat -run 'TestCompat/keys/rename' # one case of a file
//	go test ./compat -v -run TestCompat/lists      # also list the cases run
//	COMPAT_TRACE=1 go test ./compat -v -run TestCompat/lists # and every reply
//
// The package has no code of its own; its test files are the runner
// (compat_test.go), the script parser (script_test.go), a small RESP2/RESP3
// client with the comparison and the rendering of replies (resp_test.go),
// and tests of the runner against two redis-servers (runner_test.go).
// node_test.go runs a second client ecosystem: a node-redis workload
// (compat/node/mixed.js: every data type, transactions, pub/sub, pipelines,
// RESP2 and RESP3, concurrent counters) against memimgd and redis-server;
// it needs `cd compat/node && npm ci` (CI does it). It
// needs redis-server (apt-get install redis-server); without it the tests are
// skipped, or fail if the environment has CI=true. Both servers listen on
// 127.0.0.1 ports chosen at run time and are stopped by their PIDs.
//
// # Script format
//
// A script is a text file of lines:
//
//	# A comment line.
//	--- set with options                 a new case named "set with options"
//	SET k v EX 100 NX                    a command: words as redis-cli splits them
//	GET "a key with spaces"
//	SET k "tab\there\x00and a NUL"       escapes in double quotes: \" \\ \n \r \t \b \a \xHH
//	SET k 'single quotes: \ is literal'  in single quotes only \' is an escape
//	SET k ""                             an empty argument
//	TTL k # compat:approx-ttl            a directive for this line (see below)
//	# compat:sleep=150ms                 pause the case (expiry tests)
//
// A line "--- NAME" starts a new case. Cases are independent: before each
// one the runner opens new connections (RESP2, database 0) and sends
// FLUSHALL to both servers. Commands before the first "---" form a case
// named "top". Case names become subtest names (spaces become
// underscores), so a case runs alone with -run 'TestCompat/FILE/NAME'.
//
// A word that starts with an unquoted '#' begins a comment that runs to the
// end of the line; '#' inside a word (a#b) or in quotes is literal. A closing
// quote must be followed by a space or the end of the line, and quotes must
// be balanced; a line that breaks these rules is reported as malformed.
//
// Every command line is sent to both servers as a RESP array of bulk
// strings, and the replies are read in full (simple strings, errors,
// integers, bulk strings, arrays and their nulls, and the RESP3 types after
// HELLO 3: null, double, boolean, big number, verbatim string, map, set,
// push, attribute). The replies must be identical: same type, same value,
// same element order, same error text. Commands that answer with several
// replies (SUBSCRIBE a b, UNSUBSCRIBE) are compared reply by reply.
//
// # Directives
//
// The comment of a command line may hold directives, each a word
// "compat:NAME" or "compat:NAME=VALUE":
//
//	compat:ignore-value   compare only the reply's type (and whether it is
//	                      null), not its value: for replies that depend on
//	                      the server (HELLO, CLIENT ID, TIME)
//	compat:unordered      compare the elements of arrays, sets and maps as
//	                      multisets (maps: the key-value pairs), at every
//	                      level: for KEYS, SMEMBERS, HGETALL in RESP3, and
//	                      SCAN 0 COUNT 1000 ([cursor, [keys]])
//	compat:approx-ttl     integers (also inside arrays) may differ by 1: for
//	                      TTL, EXPIRETIME and OBJECT IDLETIME
//	compat:approx=N       integers may differ by N: for PTTL (e.g. approx=50)
//
// Directives combine: "ZRANGE z 0 -1 # compat:unordered compat:approx-ttl".
//
// A comment line that starts with "# compat:sleep=DURATION" (a Go duration
// such as 150ms; at most 5s) pauses the case before its next command. Other
// comment lines are free text; one that starts with another directive is
// reported as malformed (the directive belongs at the end of a command).
// An unknown directive is reported as malformed too.
//
// # Reports
//
// A mismatch is reported as a test error naming the script's file and
// line, the command, and both replies in redis-cli style (bulk strings
// quoted, simple strings bare, "(error) ...", "(integer) N", "(nil)" for a
// null bulk string, "(nil array)" for a null array); the case goes on, so
// one run lists every mismatch. A command memimgd does not know yet (its
// reply starts with "ERR unknown command" while redis-server's does not) is
// reported as "NOT IMPLEMENTED in memimgd", and each file ends with a
// summary of such commands. If a connection fails (memimgd crashed, or a
// reply did not come within 10 s), the rest of the case is skipped; a
// crashed memimgd is started again, on a new data directory, for the next
// case.
//
// Scripts should avoid replies that depend on the clock (TTL values may
// differ by a second: use compat:approx-ttl), on randomness (RANDOMKEY,
// SRANDMEMBER, SPOP), on SCAN cursor values, and on orders Redis does not
// define (SMEMBERS of a big set: use compat:unordered or SCARD/SISMEMBER).
// The two servers get each command a fraction of a millisecond apart, so
// relative times equal to the second compare differently (EXPIRE k 50 GT
// right after EXPIRE k 50 may be 0 on one server and 1 on the other): use
// clearly different values.
//
// The redis-server used is the one on PATH (Debian's 7.0 on the project's
// machines); memimg aims at Redis 7.2's replies, so a script should avoid
// the few texts that changed between 7.0 and 7.2.
package compat
