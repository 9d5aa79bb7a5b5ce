package offheap

import "unsafe"

// Map maps uint64 keys to uint64 values: an open-addressing table with
// linear probing, outside the Go heap. Keys 0 and 1 are the same key. The
// zero value is empty and ready; it is not safe for concurrent use.
type Map struct {
	mem   []byte
	slots []slot // len is a power of two; hash 0 marks an empty slot
	n     int
}

type slot struct{ h, pos uint64 }

const minSlots = 1 << 10

// Len is the number of keys.
func (x *Map) Len() int { return x.n }

// norm keeps 0 free to mark empty slots.
func norm(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// find returns the index of the slot holding normalised key h, or of the
// empty slot where probing for it stopped (found false). The table must
// have slots.
func (x *Map) find(h uint64) (i uint64, found bool) {
	mask := uint64(len(x.slots) - 1)
	for i = h & mask; ; i = (i + 1) & mask {
		switch x.slots[i].h {
		case h:
			return i, true
		case 0:
			return i, false
		}
	}
}

// Get returns the value of key h.
func (x *Map) Get(h uint64) (uint64, bool) {
	if x.n == 0 {
		return 0, false
	}
	i, ok := x.find(norm(h))
	return x.slots[i].pos, ok
}

// Set sets the value of key h.
func (x *Map) Set(h, pos uint64) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	h = norm(h)
	i, ok := x.find(h)
	if !ok {
		x.n++
	}
	x.slots[i] = slot{h, pos}
}

// Insert sets key h to pos unless it has a value already, which it
// returns: one probe where Get then Set would take two.
func (x *Map) Insert(h, pos uint64) (old uint64, had bool) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	h = norm(h)
	i, ok := x.find(h)
	if ok {
		return x.slots[i].pos, true
	}
	x.slots[i] = slot{h, pos}
	x.n++
	return 0, false
}

// DelIf removes h if its value is pos, and reports whether it did.
func (x *Map) DelIf(h, pos uint64) bool {
	if x.n == 0 {
		return false
	}
	i, ok := x.find(norm(h))
	if !ok || x.slots[i].pos != pos {
		return false
	}
	x.delAt(i)
	return true
}

// Del removes h, shifting back the entries after it that probing would
// otherwise no longer reach.
func (x *Map) Del(h uint64) {
	if x.n == 0 {
		return
	}
	if i, ok := x.find(norm(h)); ok {
		x.delAt(i)
	}
}

// delAt empties slot i, shifting back the entries after it that probing
// would otherwise no longer reach.
func (x *Map) delAt(i uint64) {
	mask := uint64(len(x.slots) - 1)
	x.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := x.slots[j]
		if s.h == 0 {
			break
		}
		// s may fill the hole at i if its home is not in (i, j].
		home := s.h & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = s
			i = j
		}
	}
	x.slots[i] = slot{}
}

func (x *Map) grow() {
	n := max(minSlots, 2*len(x.slots))
	mem := Alloc(n * int(unsafe.Sizeof(slot{})))
	mem = mem[:cap(mem)]
	clear(mem)
	old, oldMem := x.slots, x.mem
	x.mem = mem
	x.slots = unsafe.Slice((*slot)(unsafe.Pointer(unsafe.SliceData(mem))), n)
	x.n = 0
	for _, s := range old {
		if s.h != 0 {
			x.Set(s.h, s.pos)
		}
	}
	if oldMem != nil {
		Free(oldMem)
	}
}

// Each calls fn with every value, in no order.
func (x *Map) Each(fn func(pos uint64)) {
	for _, s := range x.slots {
		if s.h != 0 {
			fn(s.pos)
		}
	}
}

// Free gives the table's memory back and leaves it empty.
func (x *Map) Free() {
	if x.mem != nil {
		Free(x.mem)
	}
	*x = Map{}
}
