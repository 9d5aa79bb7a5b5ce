// Package netns gives each experiment a private network namespace, so the
// kernel state it shows belongs to that experiment alone and nothing it
// does reaches the host's network.
//
// Namespaces are named synfin-<pid>-<random> and bind-mounted where
// ip-netns(8) looks, so `ip netns` lists them and `ip netns exec` can look
// inside. Two experiments never collide, and Sweep removes only leftovers
// whose process is gone. Code runs inside a namespace on a locked OS
// thread, because a network namespace belongs to a thread, not to a
// process; a thread that cannot be switched back is never unlocked, so Go
// discards it instead of reusing it in the wrong namespace.
package netns
