package schema

import (
	"sort"
	"strings"
)

// Flag describes a command, as the flags of Redis's COMMAND INFO do.
type Flag uint32

// The command flags. Write and ReadOnly decide the path a command takes: a
// Write command is logged and applied by the committer; a ReadOnly one is a
// query on the current image.
const (
	// Write commands may change the data set; they are logged.
	Write Flag = 1 << iota
	// ReadOnly commands never change the data set.
	ReadOnly
	// Fast commands run in O(1) or O(log n).
	Fast
	// Admin commands are for operators (SHUTDOWN, CONFIG, ...).
	Admin
	// Connection commands act on the client connection or the server and are
	// answered by the protocol layer, never by the engine (PING, AUTH, CLIENT).
	Connection
	// Internal commands are submitted by the server itself (the expiry
	// reactor); clients cannot call them.
	Internal
	// DenyOOM commands may grow memory use.
	DenyOOM
	// NoScript, Loading, Stale mirror Redis's flags of the same names.
	NoScript
	// Loading commands are allowed while the server loads its data.
	Loading
	// Stale commands are allowed on a replica with stale data.
	Stale
	// NoAuth commands are allowed before AUTH.
	NoAuth
	// Random commands may answer differently on the same data.
	Random
)

var flagNames = []struct {
	f    Flag
	name string
}{
	{Write, "write"}, {ReadOnly, "readonly"}, {DenyOOM, "denyoom"}, {Admin, "admin"},
	{NoScript, "noscript"}, {Loading, "loading"}, {Stale, "stale"}, {Fast, "fast"},
	{NoAuth, "no_auth"}, {Random, "random"},
}

// Names returns the Redis spelling of the flags set in f, in COMMAND INFO order.
func (f Flag) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// Command is one entry of the catalog.
type Command struct {
	// ID is the command's position in the catalog, stable within one build;
	// the engine indexes its handler tables with it.
	ID int
	// Name is the lower-case command name.
	Name string
	// Arity follows Redis: N > 0 means exactly N arguments including the
	// name, -N means at least N.
	Arity int
	// Flags say how the command behaves.
	Flags Flag
	// FirstKey, LastKey and Step locate the keys as COMMAND INFO does:
	// LastKey -1 means the last argument; 0,0,0 means no keys.
	FirstKey, LastKey, Step int
	// Group is Redis's documentation group: "string", "generic", "server",
	// "connection", ...
	Group string
	// Summary is a one-line description for COMMAND DOCS.
	Summary string
	// Since is the Redis version that introduced the command.
	Since string
	// Check is the command's syntax check beyond arity. It sees the whole
	// argument vector (name first) and never the data set. Nil means none.
	Check func(argv [][]byte) error
}

// Is reports whether every flag in f is set on c.
func (c *Command) Is(f Flag) bool { return c.Flags&f == f }

// Validate checks arity and syntax; the error is a Redis-style error reply.
func (c *Command) Validate(argv [][]byte) error {
	if (c.Arity > 0 && len(argv) != c.Arity) || (c.Arity < 0 && len(argv) < -c.Arity) {
		return WrongArity(c.Name)
	}
	if c.Check != nil {
		return c.Check(argv)
	}
	return nil
}

// KeyPositions returns the argument positions of the keys of argv.
func (c *Command) KeyPositions(argv [][]byte) []int {
	if c.FirstKey <= 0 || c.FirstKey >= len(argv) {
		return nil
	}
	last := c.LastKey
	if last < 0 {
		last = len(argv) + last
	}
	if last >= len(argv) {
		last = len(argv) - 1
	}
	step := c.Step
	if step <= 0 {
		step = 1
	}
	var pos []int
	for i := c.FirstKey; i <= last; i += step {
		pos = append(pos, i)
	}
	return pos
}

var (
	catalog []*Command
	byName  = map[string]*Command{}
)

// Register adds commands to the catalog. It is called from init functions of
// this package only; a duplicate name panics.
func register(cmds ...*Command) {
	for _, c := range cmds {
		c.Name = strings.ToLower(c.Name)
		if _, dup := byName[c.Name]; dup {
			panic("schema: duplicate command " + c.Name)
		}
		c.ID = len(catalog)
		catalog = append(catalog, c)
		byName[c.Name] = c
	}
}

// Lookup finds a command by name, case-insensitively, without allocating for
// names already in lower case. It returns nil for an unknown name.
func Lookup(name []byte) *Command {
	if c, ok := byName[string(name)]; ok {
		return c
	}
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return byName[string(buf[:len(name)])]
}

// All returns every command of the catalog, sorted by name.
func All() []*Command {
	out := append([]*Command(nil), catalog...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Count is the number of commands in the catalog; IDs run from 0 to Count()-1.
func Count() int { return len(catalog) }
