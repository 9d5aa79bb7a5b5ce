package pcapfile_test

import (
	"fmt"
	"io"
	"os"
	"time"

	"synfin/pcapfile"
	"synfin/wire"
)

// Example reads a capture frame by frame. The frames come out of the
// reader's buffer: decode or copy one before the next call to Next.
func Example() {
	file, err := os.Open("testdata/handshake.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer file.Close()
	r, err := pcapfile.NewReader(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, link type %d, snapshot length %d\n", r.Format(), r.LinkType(), r.Snaplen())
	var f wire.Frame
	for {
		err := r.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil { // a *pcapfile.DamageError says where the file is damaged
			fmt.Println(err)
			return
		}
		var p wire.Packet
		if p.Decode(f.Link, f.Data) != nil {
			continue
		}
		fmt.Printf("%d %s %v > %v [%v] %d bytes\n", f.Index,
			time.Unix(0, f.Time).UTC().Format("15:04:05.000"), p.SrcPort, p.DstPort, p.Flags, f.WireLen)
	}
	// Output:
	// pcap, link type 101, snapshot length 262144
	// 1 12:00:00.000 40000 > 80 [S] 44 bytes
	// 2 12:00:00.010 80 > 40000 [SA] 44 bytes
	// 3 12:00:00.020 40000 > 80 [A] 40 bytes
	// 4 12:00:00.030 40000 > 80 [PA] 140 bytes
	// 5 12:00:00.040 80 > 40000 [A] 40 bytes
	// 6 12:00:00.050 40000 > 80 [FA] 40 bytes
	// 7 12:00:00.060 80 > 40000 [FA] 40 bytes
	// 8 12:00:00.070 40000 > 80 [A] 40 bytes
}
