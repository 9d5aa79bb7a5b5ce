package seqnum

import "testing"

// The expectations are RFC 9293's (section 3.4) and RFC 1982's serial
// number arithmetic: a is before b when b - a, modulo 2^32, is in
// [1, 2^31).
func TestCompare(t *testing.T) {
	tests := []struct {
		a, b       Value
		less, more bool
		sub        int32
		dist, size uint32
	}{
		{1, 2, true, false, -1, 1, 1},
		{0xffffffff, 0, true, false, -1, 1, 1},
		{0, 0xffffffff, false, true, 1, 1, 0xffffffff},
		{0x7fffffff, 0, false, true, 0x7fffffff, 0x7fffffff, 0x80000001},
		{0x80000000, 0, true, false, -0x80000000, 0x80000000, 0x80000000},
		{5, 5, false, false, 0, 0, 0},
		{0xfffffff0, 0x10, true, false, -0x20, 0x20, 0x20},
		{0xfffffffe, 1, true, false, -3, 3, 3},
	}
	for _, tt := range tests {
		if got := tt.a.LessThan(tt.b); got != tt.less {
			t.Errorf("%#x.LessThan(%#x) = %v", tt.a, tt.b, got)
		}
		if got := tt.a.LessThanEq(tt.b); got != (tt.less || tt.a == tt.b) {
			t.Errorf("%#x.LessThanEq(%#x) = %v", tt.a, tt.b, got)
		}
		if got := tt.a.GreaterThan(tt.b); got != tt.more {
			t.Errorf("%#x.GreaterThan(%#x) = %v", tt.a, tt.b, got)
		}
		if got := tt.a.GreaterThanEq(tt.b); got != (tt.more || tt.a == tt.b) {
			t.Errorf("%#x.GreaterThanEq(%#x) = %v", tt.a, tt.b, got)
		}
		if got := tt.a.Sub(tt.b); got != tt.sub {
			t.Errorf("%#x.Sub(%#x) = %d, want %d", tt.a, tt.b, got, tt.sub)
		}
		if got := tt.a.Distance(tt.b); got != tt.dist {
			t.Errorf("%#x.Distance(%#x) = %d, want %d", tt.a, tt.b, got, tt.dist)
		}
		if got := tt.a.Size(tt.b); got != tt.size {
			t.Errorf("%#x.Size(%#x) = %d, want %d", tt.a, tt.b, got, tt.size)
		}
		want := tt.b
		if tt.more {
			want = tt.a
		}
		if got := Max(tt.a, tt.b); got != want {
			t.Errorf("Max(%#x, %#x) = %#x, want %#x", tt.a, tt.b, got, want)
		}
	}
}
