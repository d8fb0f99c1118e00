package replication

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

// The StableStore keys hashicorp/raft uses (raft.go); Bootstrap writes the
// first one as raft.BootstrapCluster does.
var keyCurrentTerm = []byte("CurrentTerm")

// Bootstrap makes this node the first voter of a new cluster whose
// configuration is conf, keeping its log. It is raft.BootstrapCluster for a
// node that may already hold a standalone log: raft.BootstrapCluster refuses
// any node with log entries, while a standalone memimgd's log is its whole
// database.
//
// The standalone records (term 0) stay where they are; a LogConfiguration
// entry with term 1 is appended after them, then the current term is set to
// 1. Raft then starts with a log whose first N entries carry term 0: they
// are the same on every node that receives them, so the log matching
// property holds, and once the first leader commits an entry of its own term
// they are committed and applied on every member like any other entry. An
// empty log is bootstrapped exactly as raft.BootstrapCluster would (the
// configuration at index 1, term 1).
//
// It returns raft.ErrCantBootstrap if the node already has Raft state: a
// current term, or a last log entry with a term other than 0. A crash
// between the two writes is finished by calling Bootstrap again with the
// same configuration.
func Bootstrap(logs *LogStore, stable *StableStore, conf raft.Configuration) error {
	if err := checkBootstrapConfiguration(conf); err != nil {
		return err
	}
	term, err := stable.GetUint64(keyCurrentTerm)
	if err != nil && !errors.Is(err, ErrKeyNotFound) {
		return fmt.Errorf("replication: bootstrap: read the current term: %w", err)
	}
	if term > 0 {
		return raft.ErrCantBootstrap
	}
	data := raft.EncodeConfiguration(conf)
	last, _ := logs.LastIndex()
	appendConf := true
	if last > 0 {
		var l raft.Log
		if err := logs.GetLog(last, &l); err != nil {
			return fmt.Errorf("replication: bootstrap: read the last log entry: %w", err)
		}
		switch {
		case l.Term == 0:
		case l.Term == 1 && l.Type == raft.LogConfiguration && string(l.Data) == string(data):
			appendConf = false // a crash after the append: finish the job
		default:
			return raft.ErrCantBootstrap
		}
	}
	if appendConf {
		entry := &raft.Log{Index: last + 1, Term: 1, Type: raft.LogConfiguration, Data: data}
		if err := logs.StoreLog(entry); err != nil {
			return fmt.Errorf("replication: bootstrap: append the configuration: %w", err)
		}
	}
	if err := stable.SetUint64(keyCurrentTerm, 1); err != nil {
		return fmt.Errorf("replication: bootstrap: save the current term: %w", err)
	}
	return nil
}

// checkBootstrapConfiguration checks what raft's unexported
// checkConfiguration checks: unique IDs and addresses, at least one voter.
func checkBootstrapConfiguration(conf raft.Configuration) error {
	ids := map[raft.ServerID]bool{}
	addrs := map[raft.ServerAddress]bool{}
	voters := 0
	for _, s := range conf.Servers {
		if s.ID == "" || s.Address == "" {
			return fmt.Errorf("replication: bootstrap: server %q at %q: empty ID or address", s.ID, s.Address)
		}
		if ids[s.ID] || addrs[s.Address] {
			return fmt.Errorf("replication: bootstrap: server %q at %q appears twice", s.ID, s.Address)
		}
		ids[s.ID], addrs[s.Address] = true, true
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	if voters == 0 {
		return errors.New("replication: bootstrap: the configuration has no voter")
	}
	return nil
}
