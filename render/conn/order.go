package conn

import (
	"io"
	"maps"
	"slices"
)

// Order writes the rows of connections (table rows or JSON lines) in the
// order of their ids, which a tracker gives in the order of their first
// packets: start order, where a tracker hands them out as they finish.
//
// It holds a row only until the rows of every lower id are written, so
// it keeps the rows of the connections that finished while one begun
// before them was still open: with a connection open from the first
// packet to the last, every row, in the bytes of its text.
type Order struct {
	w    io.Writer
	sort bool
	next uint64            // the id written next
	held map[uint64][]byte // rows waiting for a lower id's
}

// NewOrder writes to w: in id order if sort is set, else each row at once.
func NewOrder(w io.Writer, sort bool) *Order {
	return &Order{w: w, sort: sort, next: 1, held: map[uint64][]byte{}}
}

// Write writes the row(s) of connection id, or holds a copy until their
// turn. Ids start at 1 and each comes once.
func (o *Order) Write(id uint64, row []byte) error {
	if !o.sort {
		_, err := o.w.Write(row)
		return err
	}
	if id != o.next {
		o.held[id] = append([]byte(nil), row...)
		return nil
	}
	for {
		if _, err := o.w.Write(row); err != nil {
			return err
		}
		o.next++
		var ok bool
		if row, ok = o.held[o.next]; !ok {
			return nil
		}
		delete(o.held, o.next)
	}
}

// Flush writes the rows still held, in id order, at the end of the input.
func (o *Order) Flush() error {
	ids := slices.Sorted(maps.Keys(o.held))
	for _, id := range ids {
		if _, err := o.w.Write(o.held[id]); err != nil {
			return err
		}
		delete(o.held, id)
	}
	return nil
}
