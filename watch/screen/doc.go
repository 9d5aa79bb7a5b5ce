// Package screen draws watch's snapshots as a terminal screen in the
// manner of top(1): the findings first, each in a sentence, then the
// sockets by state, the oldest CLOSE-WAIT sockets with the process that
// holds them, the listeners' accept queues against their backlog, the
// TIME-WAIT sockets per remote endpoint against the ephemeral port
// range, the latest resets and the kernel's counters.
package screen
