package protocol

import (
	"runtime"
	"runtime/debug"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// cmdMemory answers MEMORY PURGE and MEMORY HELP. PURGE runs a full garbage
// collection and returns freed memory to the operating system, as Redis's
// asks jemalloc to purge dirty pages: afterwards used_memory is exact and
// used_memory_rss is what the data set really needs.
func cmdMemory(c *client, argv [][]byte) {
	switch {
	case schema.EqualFold(argv[1], "purge") && len(argv) == 2:
		runtime.GC()
		debug.FreeOSMemory()
		c.reply(engine.OK)
	case schema.EqualFold(argv[1], "help") && len(argv) == 2:
		c.reply(engine.Array(
			engine.Status("MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
			engine.Status("PURGE"),
			engine.Status("    Run a garbage collection and return unused memory to the operating system."),
			engine.Status("HELP"),
			engine.Status("    Print this help."),
		))
	default:
		c.reply(engine.Errorf("ERR unknown subcommand or wrong number of arguments for '" + string(argv[1]) + "'. Try MEMORY HELP."))
	}
}
