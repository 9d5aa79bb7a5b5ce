package conn

import (
	"bytes"
	"strconv"
)

// RenumberJSON appends line, the AppendJSON lines of a connection written
// under the ID was (and, for a port reuse, the predecessor's ID prevWas),
// with the IDs id and prev in their place. Trackers that each follow part
// of a capture number connections by their first frame; the merge that
// orders their lines gives them the numbers one tracker would.
func RenumberJSON(dst, line []byte, id, was, prev, prevWas uint64) []byte {
	for len(line) > 0 {
		one := line
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			one = line[:i+1]
		}
		line = line[len(one):]
		var rest []byte
		dst, rest = replaceID(dst, one, `,"id":`, was, id)
		if prevWas != 0 {
			dst, rest = replaceID(dst, rest, `"prev_id":`, prevWas, prev)
		}
		dst = append(dst, rest...)
	}
	return dst
}

// replaceID appends line up to the number old after key, and id in its
// place, and returns the rest of line; if key is not there, it appends
// nothing and the rest is all of line.
func replaceID(dst, line []byte, key string, old, id uint64) ([]byte, []byte) {
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return dst, line
	}
	i += len(key)
	var digits [20]byte
	j := i + len(strconv.AppendUint(digits[:0], old, 10))
	dst = append(dst, line[:i]...)
	return strconv.AppendUint(dst, id, 10), line[j:]
}
