package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// readThenShutdown reads until the peer's FIN and then sends this end's
// FIN at once (shutdown for writing), returning the bytes read. Linux
// delays the ACK of a FIN by 40 ms at most (and only until the next clock
// tick if no data came before it), and a FIN sent within that carries the
// ACK (a three-segment close); a goroutine that the runtime's poller wakes
// on a loaded machine can take longer. So the wait is a blocking poll(2)
// on a thread of its own, raised to real-time priority when allowed, and
// the FIN leaves from that thread as soon as the end of the stream is
// read.
func readThenShutdown(ctx context.Context, c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The thread's priority is changed, so it is never handed back to
		// the runtime: returning while locked ends the thread.
		runtime.LockOSThread()
		raisePriority()
		var r result
		cerr := rc.Control(func(fd uintptr) { r.n, r.err = pollReadShutdown(ctx, int(fd)) })
		if r.err == nil {
			r.err = cerr
		}
		done <- r
	}()
	r := <-done
	return r.n, r.err
}

// raisePriority asks for SCHED_FIFO, or failing that the highest nice
// value, for the calling thread; without the privilege it does nothing.
func raisePriority() {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
	if unix.SchedSetAttr(0, &attr, 0) == nil {
		return
	}
	unix.Setpriority(unix.PRIO_PROCESS, 0, -20)
}

// pollInterval bounds how long a cancelled context goes unnoticed.
const pollInterval = 50 // milliseconds

func pollReadShutdown(ctx context.Context, fd int) (int, error) {
	buf := make([]byte, 64<<10)
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		n, err := unix.Poll(fds, pollInterval)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return total, fmt.Errorf("poll: %w", err)
		}
		// Drain what is there; the socket is non-blocking.
		for {
			nr, err := unix.Read(fd, buf)
			switch {
			case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			case err != nil:
				return total, err
			case nr == 0:
				// The peer's FIN: answer with this end's at once.
				if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil {
					return total, fmt.Errorf("shutdown: %w", err)
				}
				return total, nil
			default:
				total += nr
				continue
			}
			break
		}
	}
}
