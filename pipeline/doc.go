// Package pipeline spreads the work of reading a capture over several
// goroutines and puts the results back in the order one goroutine would
// have produced them, so that the output is the same, byte for byte, for
// any number of jobs.
//
// The reading goroutine reads and filters frames (input.Each) and copies
// them into batches, which it hands to the workers in one go; batches and
// the buffers of lines are recycled, so the steady state allocates
// nothing per frame. Two uses:
//
//   - Print: each batch goes to one of several printers; the batches'
//     lines are written in the order the batches were read. For output
//     in which each frame's lines depend on that frame alone (read -S).
//   - TrackConns: every batch goes to every shard, a track.Tracker
//     that follows the connections whose 4-tuple hashes to it and only
//     advances its clock with the other frames. The shards render the
//     connections they hand out with the caller's encoder and key each
//     line by where one tracker would have handed it out; one goroutine
//     merges the lines in key order and numbers the connections 1, 2, ...
//     in the order they began. The merge finds the IDs of the
//     connections not yet written in blocks ordered by their first frame
//     (see ids): time linear in their number, which an open-addressing
//     table with deletion one by one was not (a million SYNs never
//     answered took minutes).
//
// How many jobs is the caller's choice (synfin's --jobs), never the
// machine's load: the same command runs the same code.
package pipeline
