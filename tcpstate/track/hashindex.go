package track

import "iter"

// hashIndex finds values by their key's hash (hashKey): a Go map of
// uint64 keys, the kind Go looks up fastest, keyed by the hash a segment's
// tracker (or its caller, to pick one) computes anyway. The hash is seeded
// (see TupleHash), so two keys share one by chance alone, one pair in
// 2^64; the later key's value then goes in extra, found by key. It holds
// the live connections and where each snapshot is; only the caller can
// tell whose a value found by hash is.
type hashIndex[V comparable] struct {
	byHash map[uint64]V
	extra  map[key]V
}

func (x *hashIndex[V]) len() int { return len(x.byHash) + len(x.extra) }

// atHash returns the value under hash h, which may be another key's.
func (x *hashIndex[V]) atHash(h uint64) (V, bool) {
	v, ok := x.byHash[h]
	return v, ok
}

// byKey returns k's value if it is among those whose hash another key
// had first.
func (x *hashIndex[V]) byKey(k key) (V, bool) {
	if len(x.extra) == 0 {
		var none V
		return none, false
	}
	v, ok := x.extra[k]
	return v, ok
}

// set makes v the value of k, of hash h: under h when own says that h
// is free or holds k's value, else by key.
func (x *hashIndex[V]) set(k key, h uint64, v V, own bool) {
	if own {
		if x.byHash == nil {
			x.byHash = make(map[uint64]V)
		}
		x.byHash[h] = v
		if len(x.extra) > 0 {
			delete(x.extra, k)
		}
		return
	}
	if x.extra == nil {
		x.extra = make(map[key]V)
	}
	x.extra[k] = v
}

// del removes k's value v, which x holds; h is k's hash.
func (x *hashIndex[V]) del(k key, h uint64, v V) {
	if len(x.extra) == 0 {
		delete(x.byHash, h) // v can only be there
		return
	}
	if cur, ok := x.byHash[h]; ok && cur == v {
		delete(x.byHash, h)
		return
	}
	delete(x.extra, k)
}

// all yields every value, in no order; the index must not change
// meanwhile.
func (x *hashIndex[V]) all() iter.Seq[V] {
	return func(yield func(V) bool) {
		for _, v := range x.byHash {
			if !yield(v) {
				return
			}
		}
		for _, v := range x.extra {
			if !yield(v) {
				return
			}
		}
	}
}
