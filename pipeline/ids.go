package pipeline

// ids holds the IDs of the connections the merge has numbered and not
// yet written, found by the frame of their first segment. Connections
// are numbered in the order of those frames, so the entries are kept in a
// slice in that order, appended at its end; most are written roughly in
// the order they began (after TIME-WAIT or idle), near its front, where a
// search that gallops from the front finds them in a few steps. Written
// ones are dropped from the front, and the rest is compacted once they
// are half: time and memory stay linear in the connections held. A Go
// map did the same in a third more time of the merge (its deletions
// leave tombstones that lengthen every probe), which the merge, one
// goroutine for all the shards, pays in full.
type ids struct {
	e    []idEntry // by frame and so by id, ascending
	head int       // e[:head] are written
	dead int       // written in e[head:]
}

type idEntry struct {
	frame, id uint64 // id 0: written
}

// add numbers the connection that began at frame, which is past every
// frame added before.
func (w *ids) add(frame, id uint64) { w.e = append(w.e, idEntry{frame, id}) }

// find returns the index of frame's entry, or -1.
func (w *ids) find(frame uint64) int {
	lo, hi, step := w.head, w.head, 1
	n := len(w.e)
	// Gallop: e[lo].frame < frame <= e[hi].frame, if it is there.
	for hi < n && w.e[hi].frame < frame {
		lo = hi + 1
		hi += step
		step *= 2
	}
	hi = min(hi, n-1)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if w.e[m].frame < frame {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < n && w.e[lo].frame == frame && w.e[lo].id != 0 {
		return lo
	}
	return -1
}

// get returns the ID of the connection that began at frame (0 if none);
// unless keep, it forgets it.
func (w *ids) get(frame uint64, keep bool) uint64 {
	i := w.find(frame)
	if i < 0 {
		return 0
	}
	id := w.e[i].id
	if keep {
		return id
	}
	w.e[i].id = 0
	w.dead++
	for w.head < len(w.e) && w.e[w.head].id == 0 {
		w.head++
		w.dead--
	}
	if live := len(w.e) - w.head - w.dead; w.head+w.dead > 1024 && w.head+w.dead > live {
		k := 0
		for _, e := range w.e[w.head:] {
			if e.id != 0 {
				w.e[k] = e
				k++
			}
		}
		w.e, w.head, w.dead = w.e[:k], 0, 0
	}
	return id
}
