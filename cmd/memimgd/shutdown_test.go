package main

import (
	"testing"

	"github.com/memimg/memimg/memimgtest"
)

// TestShutdownSaveModes: SHUTDOWN SAVE snapshots even without save points,
// SHUTDOWN NOSAVE does not snapshot even with them, and plain SHUTDOWN
// snapshots only with save points — as in Redis. No mode loses a write:
// the log has them all.
func TestShutdownSaveModes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memimgd")
	}
	cases := []struct {
		name     string
		save     string   // --save
		shutdown []string // the SHUTDOWN command
		snapshot bool     // a snapshot exists after the restart
	}{
		{"SHUTDOWN SAVE without save points", "", []string{"shutdown", "save"}, true},
		{"SHUTDOWN NOSAVE with save points", "3600 1", []string{"shutdown", "nosave"}, false},
		{"SHUTDOWN with save points", "3600 1", []string{"shutdown"}, true},
		{"SHUTDOWN without save points", "", []string{"shutdown"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := memimgtest.Start(t, memimgtest.WithArgs("--save", tc.save))
			rdb := srv.Client()
			if err := rdb.Set(ctxT(t), "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			args := make([]any, len(tc.shutdown))
			for i, a := range tc.shutdown {
				args[i] = a
			}
			_ = rdb.Do(ctxT(t), args...).Err() // the connection closes
			if code := srv.Wait(); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			srv.Restart()
			rdb = srv.Client()
			if v := rdb.Get(ctxT(t), "k").Val(); v != "v" {
				t.Fatalf("GET k = %q after restart", v)
			}
			idx := infoField(t, rdb, "memimg_snapshot_index")
			if got := idx != "0"; got != tc.snapshot {
				t.Fatalf("snapshot index after restart %s: snapshot taken = %v, want %v", idx, got, tc.snapshot)
			}
		})
	}
}
