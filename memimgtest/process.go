package memimgtest

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// process is what Server (memimgd) and Redis (redis-server) share: a server
// process started by a test, its address, and the go-redis clients handed
// out for it. Its fields are promoted to both.
type process struct {
	// Addr is the address the server listens on, "127.0.0.1:PORT".
	Addr string
	// Port is Addr's port.
	Port int
	// Dir is the server's data or working directory.
	Dir string
	// Cmd is the running process; PID its id.
	Cmd *exec.Cmd
	PID int

	t       testing.TB
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
	clients []*redis.Client
}

// Running reports whether the process is still running.
func (p *process) Running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Options returns go-redis options for the server (RESP3, short timeouts).
func (p *process) Options() *redis.Options {
	return &redis.Options{
		Addr:         p.Addr,
		Protocol:     3,
		DialTimeout:  5 * time.Second,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		MaxRetries:   -1,
	}
}

// Client returns a go-redis client for the server, closed when the test
// ends, the server restarts or it is stopped.
func (p *process) Client() *redis.Client {
	c := redis.NewClient(p.Options())
	p.clients = append(p.clients, c)
	return c
}

func (p *process) closeClients() {
	for _, c := range p.clients {
		c.Close()
	}
	p.clients = nil
}

// Kill kills the server with SIGKILL (by PID) and waits for it to exit.
func (p *process) Kill() {
	p.t.Helper()
	p.closeClients()
	p.kill()
}

func (p *process) kill() {
	if !p.Running() {
		return
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	<-p.done
}
