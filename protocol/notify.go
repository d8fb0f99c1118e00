package protocol

import (
	"strconv"

	"github.com/memimg/memimg/engine"
)

// Keyspace notifications: the engine works out the events of every write
// (engine/notify.go) and hands them, batch by batch, to keyspaceEvents,
// which publishes them through the server's pub/sub as Redis does:
//
//	__keyspace@<db>__:<key>    message: the event's name   (class K)
//	__keyevent@<db>__:<event>  message: the key            (class E)
//
// notify-keyspace-events (Config.NotifyKeyspaceEvents, CONFIG SET) chooses
// the classes; "" (the default) turns notifications off, and the engine
// then collects nothing. Like every message, events are not logged and are
// lost by a subscriber that is not connected.

// mustKeyspaceEvents parses a value Config.Validate has accepted.
func mustKeyspaceEvents(v string) uint32 {
	f, err := engine.ParseKeyspaceEvents(v)
	if err != nil {
		panic("protocol: " + err.Error())
	}
	return f
}

// installNotify gives eng the current notify-keyspace-events flags and the
// server's publisher. Nil-safe (an engine still loading).
func (s *Server) installNotify(eng *engine.Engine) {
	if eng == nil {
		return
	}
	f := s.notifyFlags.Load()
	if f == 0 {
		eng.SetKeyspaceEvents(0, nil)
		return
	}
	eng.SetKeyspaceEvents(f, s.keyspaceEvents)
}

// keyspaceEvents publishes the events of one applied batch. It runs on the
// engine's applier and never blocks: publishing only queues messages.
func (s *Server) keyspaceEvents(events []engine.Event) {
	f := s.notifyFlags.Load()
	var ch []byte
	for _, ev := range events {
		if f&engine.NotifyKeyspace != 0 {
			ch = append(ch[:0], "__keyspace@"...)
			ch = strconv.AppendInt(ch, int64(ev.DB), 10)
			ch = append(ch, "__:"...)
			ch = append(ch, ev.Key...)
			s.publish(nil, psChannel, ch, []byte(ev.Event))
		}
		if f&engine.NotifyKeyevent != 0 {
			ch = append(ch[:0], "__keyevent@"...)
			ch = strconv.AppendInt(ch, int64(ev.DB), 10)
			ch = append(ch, "__:"...)
			ch = append(ch, ev.Event...)
			s.publish(nil, psChannel, ch, []byte(ev.Key))
		}
	}
}
