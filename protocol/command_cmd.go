package protocol

import (
	"strings"
	"sync"

	"github.com/memimg/memimg/engine"
	"github.com/memimg/memimg/schema"
)

// The catalog as COMMAND shows it, built once: the catalog does not change
// after start-up.
var (
	catalogOnce sync.Once
	visible     []*schema.Command // sorted by name; no Internal commands
	infoReplies []engine.Reply    // by schema.Command.ID
	docReplies  []engine.Reply    // by schema.Command.ID
)

func buildCatalog() {
	infoReplies = make([]engine.Reply, schema.Count())
	docReplies = make([]engine.Reply, schema.Count())
	for _, cmd := range schema.All() {
		if cmd.Is(schema.Internal) {
			continue
		}
		visible = append(visible, cmd)
		infoReplies[cmd.ID] = commandInfo(cmd)
		docReplies[cmd.ID] = commandDocs(cmd)
	}
}

// lookupVisible finds a command COMMAND may show.
func lookupVisible(name []byte) *schema.Command {
	cmd := schema.Lookup(name)
	if cmd == nil || cmd.Is(schema.Internal) {
		return nil
	}
	return cmd
}

// groupCategory maps a documentation group to its ACL category.
var groupCategory = map[string]string{
	"string": "@string", "generic": "@keyspace", "hash": "@hash", "list": "@list",
	"set": "@set", "sorted-set": "@sortedset", "sorted_set": "@sortedset", "bitmap": "@bitmap",
	"hyperloglog": "@hyperloglog", "geo": "@geo", "stream": "@stream", "pubsub": "@pubsub",
	"transactions": "@transaction", "scripting": "@scripting", "connection": "@connection",
}

// aclCategories derives Redis's ACL categories from the flags and group.
func aclCategories(cmd *schema.Command) []string {
	var cats []string
	if cmd.Is(schema.Write) {
		cats = append(cats, "@write")
	}
	if cmd.Is(schema.ReadOnly) {
		cats = append(cats, "@read")
	}
	if g, ok := groupCategory[cmd.Group]; ok {
		cats = append(cats, g)
	}
	if cmd.Is(schema.Admin) {
		cats = append(cats, "@admin", "@dangerous")
	}
	if cmd.Is(schema.Fast) {
		cats = append(cats, "@fast")
	} else {
		cats = append(cats, "@slow")
	}
	return cats
}

func statusSet(names []string) engine.Reply {
	elems := make([]engine.Reply, len(names))
	for i, n := range names {
		elems[i] = engine.Status(n)
	}
	return engine.Reply{Kind: engine.KindSet, Elems: elems}
}

func bulkMap(kv ...engine.Reply) engine.Reply {
	return engine.Reply{Kind: engine.KindMap, Elems: kv}
}

// commandInfo is one entry of COMMAND / COMMAND INFO in Redis 7's form of
// ten elements: name, arity, flags, first key, last key, step, ACL
// categories, tips, key specifications, subcommands.
func commandInfo(cmd *schema.Command) engine.Reply {
	var tips []engine.Reply
	if cmd.Is(schema.Random) {
		tips = append(tips, engine.Bulk("nondeterministic_output"))
	}
	var specs []engine.Reply
	if cmd.FirstKey > 0 {
		flags := []string{"RO", "ACCESS"}
		if cmd.Is(schema.Write) {
			flags = []string{"RW", "UPDATE"}
		}
		last := int64(cmd.LastKey)
		if last >= 0 {
			last -= int64(cmd.FirstKey)
		}
		step := int64(cmd.Step)
		if step <= 0 {
			step = 1
		}
		specs = append(specs, bulkMap(
			engine.Bulk("flags"), statusSet(flags),
			engine.Bulk("begin_search"), bulkMap(
				engine.Bulk("type"), engine.Bulk("index"),
				engine.Bulk("spec"), bulkMap(engine.Bulk("index"), engine.Int(int64(cmd.FirstKey)))),
			engine.Bulk("find_keys"), bulkMap(
				engine.Bulk("type"), engine.Bulk("range"),
				engine.Bulk("spec"), bulkMap(
					engine.Bulk("lastkey"), engine.Int(last),
					engine.Bulk("keystep"), engine.Int(step),
					engine.Bulk("limit"), engine.Int(0))),
		))
	}
	return engine.Array(
		engine.Bulk(cmd.Name),
		engine.Int(int64(cmd.Arity)),
		statusSet(cmd.Flags.Names()),
		engine.Int(int64(cmd.FirstKey)),
		engine.Int(int64(cmd.LastKey)),
		engine.Int(int64(cmd.Step)),
		statusSet(aclCategories(cmd)),
		engine.Array(tips...),
		engine.Array(specs...),
		engine.Array(),
	)
}

// commandDocs is the documentation map of COMMAND DOCS.
func commandDocs(cmd *schema.Command) engine.Reply {
	return bulkMap(
		engine.Bulk("summary"), engine.Bulk(cmd.Summary),
		engine.Bulk("since"), engine.Bulk(cmd.Since),
		engine.Bulk("group"), engine.Bulk(cmd.Group),
		engine.Bulk("arguments"), engine.Array(),
	)
}

func cmdCommand(c *client, argv [][]byte) {
	catalogOnce.Do(buildCatalog)
	if len(argv) == 1 {
		elems := make([]engine.Reply, len(visible))
		for i, cmd := range visible {
			elems[i] = infoReplies[cmd.ID]
		}
		c.reply(engine.Array(elems...))
		return
	}
	sub := strings.ToLower(string(argv[1]))
	switch sub {
	case "count":
		if len(argv) != 2 {
			c.reply(subArity("command", sub))
			return
		}
		c.reply(engine.Int(int64(len(visible))))
	case "info":
		if len(argv) == 2 {
			elems := make([]engine.Reply, len(visible))
			for i, cmd := range visible {
				elems[i] = infoReplies[cmd.ID]
			}
			c.reply(engine.Array(elems...))
			return
		}
		elems := make([]engine.Reply, 0, len(argv)-2)
		for _, name := range argv[2:] {
			if cmd := lookupVisible(name); cmd != nil {
				elems = append(elems, infoReplies[cmd.ID])
			} else {
				elems = append(elems, engine.Null)
			}
		}
		c.reply(engine.Array(elems...))
	case "docs":
		var elems []engine.Reply
		if len(argv) == 2 {
			for _, cmd := range visible {
				elems = append(elems, engine.Bulk(cmd.Name), docReplies[cmd.ID])
			}
		} else {
			for _, name := range argv[2:] {
				if cmd := lookupVisible(name); cmd != nil {
					elems = append(elems, engine.Bulk(cmd.Name), docReplies[cmd.ID])
				}
			}
		}
		c.reply(bulkMap(elems...))
	case "list":
		commandList(c, argv)
	case "getkeys":
		if len(argv) < 3 {
			c.reply(subArity("command", sub))
			return
		}
		args := argv[2:]
		cmd := lookupVisible(args[0])
		switch {
		case cmd == nil:
			c.reply(engine.Errorf("ERR Invalid command specified"))
		case (cmd.Arity > 0 && len(args) != cmd.Arity) || len(args) < -cmd.Arity:
			c.reply(engine.Errorf("ERR Invalid number of arguments specified for command"))
		default:
			pos := cmd.KeyPositions(args)
			if len(pos) == 0 {
				c.reply(engine.Errorf("ERR The command has no key arguments"))
				return
			}
			keys := make([]engine.Reply, len(pos))
			for i, p := range pos {
				keys[i] = engine.BulkBytes(args[p])
			}
			c.reply(engine.Array(keys...))
		}
	case "help":
		help(c,
			"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"(no subcommand)", "    Return details about all commands.",
			"COUNT", "    Return the total number of commands in this server.",
			"LIST", "    Return a list of all commands in this server.",
			"INFO [<command-name> ...]", "    Return details about the given commands, or all of them.",
			"DOCS [<command-name> ...]", "    Return documentation details about the given commands, or all of them.",
			"GETKEYS <full-command>", "    Return the keys from a full command.",
			"HELP", "    Print this help.")
	default:
		c.reply(subcommandError("command", argv[1]))
	}
}

// commandList is COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN p].
func commandList(c *client, argv [][]byte) {
	keep := func(*schema.Command) bool { return true }
	switch {
	case len(argv) == 2:
	case len(argv) == 5 && schema.EqualFold(argv[2], "filterby"):
		arg := string(argv[4])
		switch strings.ToLower(string(argv[3])) {
		case "module":
			keep = func(*schema.Command) bool { return false }
		case "aclcat":
			cat := "@" + strings.ToLower(strings.TrimPrefix(arg, "@"))
			keep = func(cmd *schema.Command) bool {
				for _, x := range aclCategories(cmd) {
					if x == cat {
						return true
					}
				}
				return false
			}
		case "pattern":
			keep = func(cmd *schema.Command) bool { return globMatch(arg, cmd.Name, true) }
		default:
			c.reply(errSyntax)
			return
		}
	default:
		c.reply(errSyntax)
		return
	}
	var elems []engine.Reply
	for _, cmd := range visible {
		if keep(cmd) {
			elems = append(elems, engine.Bulk(cmd.Name))
		}
	}
	c.reply(engine.Array(elems...))
}
