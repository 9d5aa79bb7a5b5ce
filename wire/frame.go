package wire

// Frame is one captured frame as a reader hands it out. Data is owned by
// the reader and valid until its next call.
type Frame struct {
	Index     int      // 1-based position in the input, as tcpdump's -# counts
	Time      int64    // capture time, Unix nanoseconds (normalised)
	Sec       int64    // seconds as recorded in the file
	Frac      uint32   // fraction as recorded: microseconds, or nanoseconds when Nano; may be out of range in damaged files
	Nano      bool     // Frac counts nanoseconds
	CapLen    int      // bytes captured (len(Data))
	WireLen   int      // bytes on the wire
	Link      LinkType // link type of the interface it was captured on
	Interface int      // pcapng interface index
	Data      []byte
	// BigTCP says that an IPv4 total length of 0 stands for the rest of
	// the frame, as tcpdump since 4.99.5 presumes of frames over 64 KiB
	// (BIG TCP), where 4.99.3 prints "bad-len 0". Readers of text set it
	// when that text printed such a frame in full.
	BigTCP bool
}

// Stamp returns the time stamp as recorded: seconds and a fraction in
// microseconds, or nanoseconds when nano. Frames that carry no raw stamp
// (Sec and Frac zero) are derived from Time.
func (f *Frame) Stamp() (sec int64, frac uint32, nano bool) {
	if f.Sec != 0 || f.Frac != 0 {
		return f.Sec, f.Frac, f.Nano
	}
	sec, ns := f.Time/1e9, f.Time%1e9
	if ns < 0 {
		sec, ns = sec-1, ns+1e9
	}
	return sec, uint32(ns), true
}
