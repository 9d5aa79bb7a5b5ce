package lab

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/lab/server"
	"synfin/wire"
)

// Pattern names a teardown, as synfin's analysis names it.
type Pattern string

// The teardown patterns.
const (
	FourSegment  Pattern = "four-segment"
	ThreeSegment Pattern = "three-segment" // ACK piggybacked on the second FIN
	Simultaneous Pattern = "simultaneous-close"
	HalfClose    Pattern = "half-close" // data flowed after the first FIN
	AbortRST     Pattern = "abort-rst"
	Refused      Pattern = "refused"
	None         Pattern = "none" // never established
	Incomplete   Pattern = "incomplete"
)

// Role is an endpoint's part in a connection.
type Role string

// The roles.
const (
	Client   Role = "client"
	Server   Role = "server"
	Listener Role = "listener"
)

// ClientRun is one client connection of a scenario.
type ClientRun struct {
	// Pause before connecting, after the previous client finished.
	Pause time.Duration
	Steps []client.Step
	// SamePort connects from the previous client's local port.
	SamePort   bool
	SynRetries int // TCP_SYNCNT, 0 for the default
	// OldSYN, instead of connecting, sends one SYN with a random sequence
	// number from the client's port through a raw socket, as a duplicate
	// of an earlier connection's SYN delayed in the network would arrive.
	// No socket on the client's side has that connection (IPv4 only).
	OldSYN bool
}

// Fault drops segments of one direction.
type Fault struct {
	From Role // Client: segments to the server port; Server: from it
	Rule fault.Rule
}

// RuleFor is the fault's rule for a server on port.
func (f Fault) RuleFor(port uint16) fault.Rule {
	r := f.Rule
	if f.From == Server {
		r.SrcPort = port
	} else {
		r.DstPort = port
	}
	return r
}

// States is the RFC 9293 state sequence expected for one endpoint.
type States struct {
	Conn   int // 1-based connection number
	Role   Role
	States []string // empty: the endpoint never exists (no transitions)
}

// Segments is an expected count of segments, as tcpdump prints them.
type Segments struct {
	From    Role
	Flags   string // tcpdump's flags, "S.", "F.", "R.", "."
	Count   int
	AtLeast bool
}

// Holder is a socket expected in TIME-WAIT at the end.
type Holder struct {
	Conn int
	Role Role
}

// Expect is what RFC 9293 (and Linux's documented choices where the RFC
// leaves one) says a scenario shows.
type Expect struct {
	Teardown []Pattern // per connection
	Kernel   []States
	TimeWait []Holder
	Segments []Segments
}

// Scenario is one experiment.
type Scenario struct {
	Name        string
	Summary     Text
	Description Text
	IPv6        bool
	Server      *server.Options // nil: nothing listens
	Clients     []ClientRun
	Faults      []Fault
	Expect      Expect
	// Tail keeps the capture running this long after the sockets came
	// to rest, so that it shows what only time shows: a SYN no longer
	// retransmitted, because its sender gave up.
	Tail time.Duration
	// LateCapture keeps only what a capture started just after the
	// run's first FIN (and the bare ACK of it, if that came next on its
	// connection) holds, as tcpdump started late does: the capture then
	// begins mid-connection, after one end closed.
	LateCapture bool
}

// Captured returns the frames of a run that the scenario's capture
// keeps, numbered from 1: all of them, or with LateCapture those after
// the first FIN and its bare ACK.
func (sc *Scenario) Captured(frames []wire.Frame) []wire.Frame {
	if !sc.LateCapture {
		return frames
	}
	var p wire.Packet
	tuple := func(f *wire.Frame) (a, b netip.AddrPort, ok bool) {
		if p.Decode(f.Link, f.Data) != nil || !p.HasTCP {
			return a, b, false
		}
		return netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort), true
	}
	cut := -1
	var src, dst netip.AddrPort
	var finEnd uint32
	for i := range frames {
		a, b, ok := tuple(&frames[i])
		if !ok {
			continue
		}
		if cut < 0 {
			if p.Flags&wire.FIN != 0 {
				cut, src, dst, finEnd = i, a, b, p.Seq+uint32(p.PayloadLen)+1
			}
			continue
		}
		if a == dst && b == src || a == src && b == dst {
			if a == dst && p.Flags == wire.ACK && p.PayloadLen == 0 && p.Ack == finEnd {
				cut = i
			}
			break
		}
	}
	out := slices.Clone(frames[cut+1:])
	for i := range out {
		out[i].Index = i + 1
	}
	return out
}

// Lookup returns the scenario named name.
func Lookup(name string) (*Scenario, error) {
	for i := range scenarios {
		if scenarios[i].Name == name {
			s := scenarios[i]
			return &s, nil
		}
	}
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("lab: unknown scenario %q (one of %s)", name, strings.Join(names, ", "))
}

// Scenarios returns every scenario, the seed first.
func Scenarios() []Scenario {
	out := make([]Scenario, len(scenarios))
	copy(out, scenarios)
	return out
}

func steps(s string) []client.Step {
	st, err := client.ParseSteps(s)
	if err != nil {
		panic(err)
	}
	return st
}

func rule(r fault.Rule, nth int) fault.Rule { r.Nth = nth; return r }

// RFC 9293 state sequences used below (section 3.3.2, figure 5).
var (
	activeOpen  = []string{"CLOSED", "SYN-SENT", "ESTABLISHED"}
	passiveOpen = []string{"LISTEN", "SYN-RECEIVED", "ESTABLISHED"}
	// Closes first: FIN sent, its ACK, then the peer's FIN.
	activeClose = []string{"FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"}
	// Closes second: FIN received, own FIN, its ACK.
	passiveClose = []string{"CLOSE-WAIT", "LAST-ACK", "CLOSED"}
)

// closes is what RFC 9293 expects of connection n's endpoints when its
// client closes first and the server after it.
func closes(n int) []States {
	return []States{{n, Client, seq(activeOpen, activeClose)}, {n, Server, seq(passiveOpen, passiveClose)}}
}

// closeFirst is what a scenario with one connection expects when the
// client closes first and the server after it: the textbook states on
// both ends, the client in TIME-WAIT, and the given teardown and
// segments.
func closeFirst(p Pattern, segs []Segments) Expect {
	return Expect{Teardown: []Pattern{p}, Kernel: closes(1), TimeWait: []Holder{{1, Client}}, Segments: segs}
}

// seedStates are the seed's: the first connection closes from the
// client, then the server; the second client closes and the server
// holds CLOSE-WAIT.
var seedStates = append(closes(1),
	States{2, Client, seq(activeOpen, activeClose[:2])},
	States{2, Server, seq(passiveOpen, passiveClose[:1])})

// sink is a server that reads until the client's FIN, then waits longer
// than a delayed ACK before closing, so that its FIN is a segment of
// its own.
func sink() *server.Options { return &server.Options{Mode: server.Sink, Wait: serverPause} }

func seq(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Linux delays the ACK of a FIN received in ESTABLISHED (it enters
// "pingpong" mode expecting the application to answer): a server that
// waits longer than that before closing makes the close four segments.
const serverPause = 300 * time.Millisecond

var scenarios = []Scenario{
	{
		Name: "seed",
		Summary: Text{"The blog post's experiment: a server that never closes, two clients that connect and exit",
			"原文的实验：服务器从不主动关闭，两个客户端连接后退出"},
		Description: Text{
			"The server listens on 127.0.0.1:9988 with backlog 10 and accepts in a loop without reading or closing. The first client connects and exits, so it sends FIN; the server's kernel acknowledges it and the socket waits in CLOSE-WAIT. When the second client connects, the server drops its reference to the first connection (as the Python server does by rebinding its variable), so the first connection is closed with a FIN, answered from FIN-WAIT-2: the first client ends in TIME-WAIT. The second client exits too: it waits in FIN-WAIT-2 while the server holds CLOSE-WAIT, which is what the post's last two lines show.",
			"服务器在 127.0.0.1:9988 上监听（backlog 为 10），循环 accept，既不读也不关闭。第一个客户端连接后退出，发出 FIN；服务器内核确认后该连接停在 CLOSE-WAIT。第二个客户端连接时，服务器丢掉对第一个连接的引用（Python 代码重新绑定变量即如此），于是第一个连接以 FIN 关闭，客户端在 FIN-WAIT-2 中应答，最终进入 TIME-WAIT。第二个客户端也退出：它停在 FIN-WAIT-2，而服务器一直处于 CLOSE-WAIT，这正是原文最后两行抓包所示。",
		},
		Server:  &server.Options{Mode: server.Hold, ClosePrevious: true},
		Clients: []ClientRun{{}, {Pause: serverPause, Steps: steps("wait 100ms")}},
		Expect: Expect{
			Teardown: []Pattern{FourSegment, Incomplete},
			Kernel:   seedStates,
			TimeWait: []Holder{{1, Client}},
			Segments: []Segments{{Client, "S", 2, false}, {Server, "S.", 2, false}, {Client, "F.", 2, false}, {Server, "F.", 1, false}},
		},
	},
	{
		Name: "seed-as-posted",
		Summary: Text{"The blog post's capture as it was: tcpdump started after the first client had exited",
			"原文抓包的原样：tcpdump 在第一个客户端退出之后才启动"},
		Description: Text{
			"The seed's experiment with the capture started late, as the post's was: the first client has connected and exited, so its FIN and the server's ACK of it are over when the capture begins. A second later the second client connects; the server drops the first connection and closes it, so the capture holds the second handshake and, of the first connection, only the server's FIN and the client's ACK: the post's seven segments. Those two cannot tell who closed first. synfin gives both readings, ranked by what the packets show (the server's FIN echoes a time stamp of the client's a second old), and the kernel's states say which was right.",
			"原文实验，但抓包像原文那样晚启动：第一个客户端已经连接并退出，它的 FIN 以及服务器对它的 ACK 在抓包开始时都已过去。一秒后第二个客户端连接；服务器丢掉第一个连接并将其关闭，于是抓包里有第二次握手，而第一个连接只剩服务器的 FIN 和客户端的 ACK：正是原文的七个报文段。仅凭这两个报文段无法判断谁先关闭。synfin 给出两种解读，并按报文能说明的东西排序（服务器的 FIN 回显的是客户端一秒前的时间戳），内核的状态则说明哪一种是对的。",
		},
		Server:      &server.Options{Mode: server.Hold, ClosePrevious: true},
		Clients:     []ClientRun{{}, {Pause: time.Second, Steps: steps("wait 100ms")}},
		LateCapture: true,
		Expect: Expect{
			Teardown: []Pattern{Incomplete, Incomplete}, Kernel: seedStates, TimeWait: []Holder{{1, Client}},
			Segments: []Segments{{Client, "S", 1, false}, {Server, "S.", 1, false}, {Client, "F.", 1, false}, {Server, "F.", 1, false}},
		},
	},
	{
		Name:    "client-closes-first",
		Summary: Text{"The client closes first: the textbook four-segment close", "客户端先关闭：教科书上的四次挥手"},
		Description: Text{
			"The client connects and closes at once. Its FIN takes it to FIN-WAIT-1; the server's ACK to FIN-WAIT-2. The server reads the end of the stream, waits longer than its delayed ACK, then closes: its FIN is a segment of its own, the client answers from FIN-WAIT-2 and keeps the connection in TIME-WAIT, the server goes from LAST-ACK to CLOSED.",
			"客户端连接后立即关闭。它的 FIN 使其进入 FIN-WAIT-1，服务器的 ACK 使其进入 FIN-WAIT-2。服务器读到流结束后，等待超过延迟确认的时间再关闭：它的 FIN 单独成段，客户端在 FIN-WAIT-2 中应答并进入 TIME-WAIT，服务器从 LAST-ACK 进入 CLOSED。",
		},
		Server:  sink(),
		Clients: []ClientRun{{}},
		Expect:  closeFirst(FourSegment, []Segments{{Client, "F.", 1, false}, {Server, "F.", 1, false}, {Server, ".", 1, true}}),
	},
	{
		Name:    "three-segment-close",
		Summary: Text{"The server closes first and the client's FIN carries the ACK", "服务器先关闭，客户端的 FIN 捎带 ACK：三次挥手"},
		Description: Text{
			"The server sends a 16-byte greeting 200 ms after accepting and closes, while the client waits to read. The client's kernel acknowledges the data at once but delays the ACK of the FIN (by 40 ms); the client reads the end of the stream and closes within the delay, so its FIN carries the ACK and the close takes three segments, as in the blog post's explanation. The server, which closed first, keeps TIME-WAIT.",
			"服务器 accept 200 毫秒后发送 16 字节的问候并关闭，此时客户端正等待读取。客户端内核立即确认数据，但延迟（40 毫秒）确认 FIN；客户端读到流结束后在延迟时间内关闭，于是它的 FIN 捎带了 ACK，挥手只用三个报文段，正如原文的解释。先关闭的服务器进入 TIME-WAIT。",
		},
		// Linux times a delayed ACK from the receiver's ACK timeout, which
		// starts at zero and becomes 40 ms (TCP_ATO_MIN) with the first
		// data received. Without the greeting the FIN's ACK would leave at
		// the next clock tick (at most 4 ms at HZ=250), often before the
		// client could answer; with it the client has 40 ms. The pause lets
		// the client be waiting in its read when the data comes.
		Server:  &server.Options{Mode: server.Send, Bytes: 16, Wait: 200 * time.Millisecond},
		Clients: []ClientRun{{Steps: steps("read, close")}},
		Expect: Expect{
			Teardown: []Pattern{ThreeSegment},
			Kernel: []States{
				{1, Client, seq(activeOpen, passiveClose)},
				// The FIN-ACK is processed ACK first (RFC 9293
				// 3.10.7.4, fifth check), so FIN-WAIT-2 comes before
				// TIME-WAIT even within one segment.
				{1, Server, seq(passiveOpen, activeClose)},
			},
			TimeWait: []Holder{{1, Server}},
			// The client's bare ACKs: the handshake's and the greeting's.
			Segments: []Segments{{Server, "P.", 1, false}, {Server, "F.", 1, false}, {Client, "F.", 1, false}, {Client, ".", 2, false}},
		},
	},
	{
		Name:    "simultaneous-close",
		Summary: Text{"Both ends send FIN before receiving the other's", "双方都在收到对方的 FIN 之前发出 FIN：同时关闭"},
		Description: Text{
			"The client closes first but its FIN is lost; the server closes 50 ms later, so both FINs are outstanding at once. The client receives a FIN that does not acknowledge its own and goes to CLOSING; the server receives the ACK of its FIN and goes to FIN-WAIT-2. When the client retransmits its FIN, the server enters TIME-WAIT and its ACK takes the client from CLOSING to TIME-WAIT: both ends keep TIME-WAIT.",
			"客户端先关闭，但它的 FIN 丢失了；服务器在 50 毫秒后关闭，于是两个 FIN 同时在途。客户端收到一个没有确认自己 FIN 的 FIN，进入 CLOSING；服务器收到对自己 FIN 的 ACK，进入 FIN-WAIT-2。客户端重传 FIN 后，服务器进入 TIME-WAIT，其 ACK 使客户端从 CLOSING 进入 TIME-WAIT：两端都处于 TIME-WAIT。",
		},
		Server:  &server.Options{Mode: server.Close, Wait: 50 * time.Millisecond},
		Clients: []ClientRun{{}},
		Faults:  []Fault{{Client, rule(fault.FIN, 1)}},
		Expect: Expect{
			Teardown: []Pattern{Simultaneous},
			Kernel: []States{
				{1, Client, seq(activeOpen, []string{"FIN-WAIT-1", "CLOSING", "TIME-WAIT"})},
				{1, Server, seq(passiveOpen, activeClose)},
			},
			TimeWait: []Holder{{1, Client}, {1, Server}},
			Segments: []Segments{{Client, "F.", 2, false}, {Server, "F.", 1, false}},
		},
	},
	{
		Name:    "half-close",
		Summary: Text{"The client shuts down its sending side and keeps reading", "客户端关闭发送方向后继续接收：半关闭"},
		Description: Text{
			"The client calls shutdown for writing at once: a FIN, after which it can still receive. The server, in CLOSE-WAIT, sends 1000 bytes 300 ms later and then closes. Data flows after the first FIN, which is what half-close means; the client receives it in FIN-WAIT-2 and keeps TIME-WAIT.",
			"客户端立即对写方向调用 shutdown：发出 FIN，但仍可接收。处于 CLOSE-WAIT 的服务器在 300 毫秒后发送 1000 字节，然后关闭。第一个 FIN 之后仍有数据流动，这就是半关闭；客户端在 FIN-WAIT-2 中接收数据，最后进入 TIME-WAIT。",
		},
		Server:  &server.Options{Mode: server.Send, Bytes: 1000, Wait: serverPause},
		Clients: []ClientRun{{Steps: steps("shutdown, read, close")}},
		Expect:  closeFirst(HalfClose, []Segments{{Client, "F.", 1, false}, {Server, "P.", 1, true}}),
	},
	{
		Name:    "abort-rst",
		Summary: Text{"The client aborts the connection: RST, no TIME-WAIT", "客户端中止连接：RST，没有 TIME-WAIT"},
		Description: Text{
			"The client sets SO_LINGER to zero and closes: the kernel discards the connection and sends RST instead of FIN. Both ends go straight from ESTABLISHED to CLOSED and neither keeps TIME-WAIT.",
			"客户端把 SO_LINGER 设为 0 后关闭：内核丢弃连接，发出 RST 而不是 FIN。两端都从 ESTABLISHED 直接进入 CLOSED，谁也没有 TIME-WAIT。",
		},
		Server:  &server.Options{Mode: server.Sink},
		Clients: []ClientRun{{Steps: steps("wait 50ms, abort")}},
		Expect: Expect{
			Teardown: []Pattern{AbortRST},
			Kernel: []States{
				{1, Client, seq(activeOpen, []string{"CLOSED"})},
				{1, Server, seq(passiveOpen, []string{"CLOSED"})},
			},
			Segments: []Segments{{Client, "R.", 1, false}},
		},
	},
	{
		Name:    "unread-data-rst",
		Summary: Text{"The server closes with unread data: the kernel sends RST", "服务器关闭时仍有未读数据：内核发送 RST"},
		Description: Text{
			"The client sends 100 bytes and waits for an answer. The server closes without reading them; data that the application will never read makes the kernel reset the connection instead of closing it (RFC 2525, 2.17). The client's read fails with a reset.",
			"客户端发送 100 字节后等待回复。服务器不读这些数据就关闭；应用再也读不到的数据使内核重置连接而不是正常关闭（RFC 2525 第 2.17 节）。客户端的读取因连接被重置而失败。",
		},
		Server:  &server.Options{Mode: server.CloseUnread},
		Clients: []ClientRun{{Steps: steps("send 100, read")}},
		Expect: Expect{
			Teardown: []Pattern{AbortRST},
			Kernel: []States{
				{1, Client, seq(activeOpen, []string{"CLOSED"})},
				{1, Server, seq(passiveOpen, []string{"CLOSED"})},
			},
			Segments: []Segments{{Client, "P.", 1, false}, {Server, "R.", 1, false}},
		},
	},
	{
		Name:    "refused",
		Summary: Text{"Nothing listens: the SYN is answered with RST", "没有监听：SYN 被 RST 拒绝"},
		Description: Text{
			"No socket listens on the port. The kernel answers the SYN with RST and ACK, the client's connect fails with 'connection refused' and its socket goes from SYN-SENT back to CLOSED. The port has no socket, so it has no states.",
			"该端口上没有监听的套接字。内核用 RST+ACK 回应 SYN，客户端的 connect 以“connection refused”失败，其套接字从 SYN-SENT 回到 CLOSED。端口上没有套接字，因此没有任何状态。",
		},
		Clients: []ClientRun{{}},
		Expect: Expect{
			Teardown: []Pattern{Refused},
			Kernel: []States{
				{1, Client, []string{"CLOSED", "SYN-SENT", "CLOSED"}},
				{1, Server, nil},
			},
			Segments: []Segments{{Client, "S", 1, false}, {Server, "R.", 1, false}},
		},
	},
	{
		Name:    "syn-retransmit",
		Summary: Text{"The first SYN-ACK is lost: the handshake takes about a second", "第一个 SYN-ACK 丢失：握手耗时约一秒"},
		Description: Text{
			"The server's first SYN-ACK is dropped. After the initial retransmission timeout of one second (RFC 6298) the SYN or the SYN-ACK is sent again, and the handshake completes; this is the classic 'connect takes one second'. The rest of the connection is a normal four-segment close.",
			"服务器的第一个 SYN-ACK 被丢弃。经过一秒的初始重传超时（RFC 6298），SYN 或 SYN-ACK 被重传，握手完成；这就是典型的“connect 要一秒”。连接的其余部分是正常的四次挥手。",
		},
		Server:  sink(),
		Clients: []ClientRun{{}},
		Faults:  []Fault{{Server, rule(fault.SYNACK, 1)}},
		Expect:  closeFirst(FourSegment, []Segments{{Server, "S.", 2, true}}),
	},
	{
		Name:    "syn-timeout",
		Summary: Text{"Every SYN is lost: connect times out", "所有 SYN 都丢失：connect 超时"},
		Description: Text{
			"Every SYN to the port is dropped. The client retransmits it after one second, and gives up after about three (TCP_SYNCNT 1; Linux spaces its first SYN retransmissions linearly, tcp_syn_linear_timeouts): SYN-SENT back to CLOSED with 'connection timed out'. The server never learns of the attempt.",
			"发往该端口的所有 SYN 都被丢弃。客户端一秒后重传 SYN，约三秒后放弃（TCP_SYNCNT 为 1；Linux 最初几次 SYN 重传按线性间隔，见 tcp_syn_linear_timeouts）：从 SYN-SENT 回到 CLOSED，报“connection timed out”。服务器对此一无所知。",
		},
		Server:  &server.Options{Mode: server.Sink},
		Clients: []ClientRun{{SynRetries: 1}},
		Faults:  []Fault{{Client, rule(fault.SYN, 0)}},
		// Past the latest time the next SYN could have been due (two
		// and a half times the last interval after the last SYN, about
		// 1.5 s after the client gave up), so that the packets show it
		// gave up.
		Tail: 2 * time.Second,
		Expect: Expect{
			Teardown: []Pattern{None},
			Kernel: []States{
				{1, Client, []string{"CLOSED", "SYN-SENT", "CLOSED"}},
				{1, Server, nil},
			},
			Segments: []Segments{{Client, "S", 2, true}, {Server, "S.", 0, false}},
		},
	},
	{
		Name:    "last-ack-lost",
		Summary: Text{"The last ACK is lost: the FIN is retransmitted and answered from TIME-WAIT", "最后一个 ACK 丢失：FIN 被重传，由 TIME-WAIT 应答"},
		Description: Text{
			"The client closes first; its last ACK, the one for the server's FIN, is dropped. The server stays in LAST-ACK, retransmits its FIN after the retransmission timeout, and the client, already in TIME-WAIT, acknowledges it again. This is the first reason TIME-WAIT exists.",
			"客户端先关闭；它的最后一个 ACK（对服务器 FIN 的确认）被丢弃。服务器停留在 LAST-ACK，超时后重传 FIN，已处于 TIME-WAIT 的客户端再次确认。这正是 TIME-WAIT 存在的第一个理由。",
		},
		Server:  sink(),
		Clients: []ClientRun{{}},
		// The client's bare ACKs: the handshake's third segment, then
		// the ACK of the server's FIN.
		Faults: []Fault{{Client, rule(fault.ACK, 2)}},
		Expect: closeFirst(FourSegment, []Segments{{Server, "F.", 2, false}, {Client, ".", 3, false}}),
	},
	{
		Name:    "time-wait-reuse",
		Summary: Text{"A new connection from the same port while the old one is in TIME-WAIT", "旧连接处于 TIME-WAIT 时，从同一端口发起新连接"},
		Description: Text{
			"The client closes first and keeps TIME-WAIT for its port. A second client binds the same port and connects to the same server: Linux lets an explicit connect take over a TIME-WAIT socket whose connection used timestamps, so the new connection's segments cannot be confused with the old one's (RFC 6191's idea). The second connection then closes like the first.",
			"客户端先关闭，其端口处于 TIME-WAIT。第二个客户端绑定同一端口并连接同一服务器：对于使用了时间戳的连接，Linux 允许显式 connect 接管 TIME-WAIT 套接字，因为新旧连接的报文段不会混淆（RFC 6191 的思路）。第二个连接随后像第一个一样关闭。",
		},
		Server:  sink(),
		Clients: []ClientRun{{}, {Pause: 2 * serverPause, SamePort: true}},
		Expect: Expect{
			Teardown: []Pattern{FourSegment, FourSegment},
			Kernel:   append(closes(1), closes(2)...),
			TimeWait: []Holder{{2, Client}},
			Segments: []Segments{{Client, "S", 2, false}, {Server, "S.", 2, false}},
		},
	},
	{
		Name:    "old-duplicate-syn",
		Summary: Text{"An old duplicate SYN: the third segment lets the client say no", "旧的重复 SYN：第三个报文段让客户端能够拒绝"},
		Description: Text{
			"A SYN from the client's port with an old sequence number arrives first, as a duplicate of an earlier connection's SYN delayed in the network would (synfin sends it through a raw socket). The server cannot tell it from a new request: it answers with a SYN-ACK and waits in SYN-RECEIVED. The client's kernel has no such connection and answers the SYN-ACK with a reset whose sequence number is the SYN-ACK's acknowledgment, so the server drops the half-open connection and listens again (RFC 9293, figure 8). With a two-segment handshake the server would have opened a connection nobody asked for: the third segment is where the client can say no. Then the client connects from the same port for real, and that connection opens and closes as usual.",
			"一个来自客户端端口、带着旧序号的 SYN 先到达，就像早先某个连接的 SYN 在网络中滞留后姗姗来迟（synfin 通过原始套接字发出它）。服务器无法把它和新的请求区分开：它回应 SYN-ACK，并在 SYN-RECEIVED 中等待。客户端内核没有这条连接，于是用 RST 回应这个 SYN-ACK，RST 的序号就是 SYN-ACK 的确认号；服务器丢弃半开连接，重新监听（RFC 9293 图 8）。如果握手只有两个报文段，服务器就会打开一条没有人请求的连接：第三个报文段正是客户端能说“不”的地方。随后客户端从同一端口真正发起连接，这条连接照常建立和关闭。",
		},
		Server:  sink(),
		Clients: []ClientRun{{OldSYN: true}, {Pause: 100 * time.Millisecond, SamePort: true}},
		Expect: Expect{
			Teardown: []Pattern{None, FourSegment},
			Kernel: append([]States{
				// The old SYN has no socket at either end: the client's
				// kernel has none on its port, and the server's keeps a
				// request, not a socket, until the handshake's ACK.
				{1, Client, nil},
				{1, Server, nil},
			}, closes(2)...),
			TimeWait: []Holder{{2, Client}},
			Segments: []Segments{{Client, "S", 2, false}, {Server, "S.", 2, false}, {Client, "R", 1, false}},
		},
	},
	{
		Name:    "data-exchange",
		Summary: Text{"A request and its answer, then the client closes", "一次请求和应答，然后客户端关闭"},
		Description: Text{
			"The client sends 100 bytes, the server echoes them, the client reads the answer and closes; the server closes after reading the end of the stream. Each data segment is acknowledged, and the close is a four-segment one with the client in TIME-WAIT.",
			"客户端发送 100 字节，服务器原样返回，客户端读到应答后关闭；服务器读到流结束后关闭。每个数据段都被确认，挥手为四次，客户端进入 TIME-WAIT。",
		},
		Server:  &server.Options{Mode: server.Echo, Wait: serverPause},
		Clients: []ClientRun{{Steps: steps("send 100, read 100, close")}},
		Expect:  closeFirst(FourSegment, []Segments{{Client, "P.", 1, false}, {Server, "P.", 1, false}}),
	},
	{
		Name:    "ipv6",
		Summary: Text{"The four-segment close over IPv6 loopback", "基于 IPv6 回环的四次挥手"},
		Description: Text{
			"The client-closes-first experiment on [::1]: the states and segments are the same as over IPv4.",
			"在 [::1] 上进行“客户端先关闭”实验：状态和报文段与 IPv4 相同。",
		},
		IPv6:    true,
		Server:  sink(),
		Clients: []ClientRun{{}},
		Expect:  closeFirst(FourSegment, []Segments{{Client, "F.", 1, false}, {Server, "F.", 1, false}}),
	},
}
