package crowd

import (
	"fmt"
	"io"
	"time"

	"synfin/lab"
	"synfin/lab/fault"
	"synfin/lab/server"
)

// Scenario is an experiment on a population of sockets.
type Scenario struct {
	Name        string
	Summary     lab.Text
	Description lab.Text
	Server      server.Options // Addr is set by Run
	// Sysctls are set in the namespace first, as key (under /proc/sys)
	// and value.
	Sysctls [][2]string
	// Faults drop chosen segments (nftables, in the namespace's input
	// hook: after the capture has seen them).
	Faults []lab.Fault
	// Flood sends this many SYNs, each from an address of its own,
	// through a raw socket before the clients connect.
	Flood int
	// Clients connect one after another, each once the previous one
	// connected (Every 0), or each Every after the previous one
	// started, without waiting for it.
	Clients int
	Every   time.Duration
	Close   bool // each client closes as soon as it is connected
	// Tail is how long the run goes on after the last client started,
	// before the kernel's view is read.
	Tail   time.Duration
	Expect Expect
}

// Expect is what Linux's documented rules make of the population at
// rest (RFC 9293's state names).
type Expect struct {
	// Sockets counts this lab's sockets by role and state, as sock_diag
	// shows them: "client ESTABLISHED", "server CLOSE-WAIT".
	Sockets map[string]int
	// Queue is the listener's accept queue (ss's Recv-Q).
	Queue int
	// AtLeast are counters (nstat's names) that must have risen by at
	// least this much.
	AtLeast map[string]uint64
}

// Lookup returns the scenario named name, or nil.
func Lookup(name string) *Scenario {
	for i := range scenarios {
		if scenarios[i].Name == name {
			s := scenarios[i]
			return &s
		}
	}
	return nil
}

// Scenarios returns every scenario.
func Scenarios() []Scenario { return append([]Scenario(nil), scenarios...) }

// List writes a line per scenario, as lab --list shows them: name,
// summary, and that it runs on the kernel only.
func List(w io.Writer, lang string) {
	for _, sc := range scenarios {
		fmt.Fprintf(w, "%-22s %s (%s)\n", sc.Name, sc.Summary.In(lang), lab.HeadKernelOnly.In(lang))
	}
}

// floodSize is the flood's SYN count: many times the seed's backlog.
const floodSize = 200

var scenarios = []Scenario{
	{
		Name:    "backlog-full",
		Summary: tx("The seed's server stops accepting and 15 clients connect: its backlog of 10 fills", "原文的服务器不再 accept，15 个客户端来连接：backlog 10 被填满"),
		Description: tx(
			"The seed's server listens with backlog 10 but never calls accept(). Fifteen clients connect 20 ms apart. The kernel completes each handshake by itself and queues the connection for an accept that never comes; Linux lets the queue hold backlog + 1 = 11. The eleventh client's final ACK is lost (an nftables rule drops it), so that connection waits as a request in SYN-RECEIVED while the twelfth client's handshake takes the last place. A second later the server retransmits its SYN-ACK to the eleventh client, which acknowledges it again: now the queue is full and the kernel drops that ACK, counting ListenOverflows, although the client believes it is connected. The SYNs of the last three clients find the queue full too: the kernel drops them without a word (ListenOverflows and ListenDrops), so each client retransmits its SYN a second later while it waits in SYN-SENT. The clients that got in see an open connection although no program has it: 'the server looks idle, yet clients time out connecting'.",
			"原文的服务器以 backlog 10 监听，却从不调用 accept()。15 个客户端每隔 20 毫秒依次连接。内核自己完成每次握手，把连接放进队列等待永远不会到来的 accept；Linux 允许队列容纳 backlog + 1 = 11 个。第十一个客户端的最后一个 ACK 丢失了（一条 nftables 规则丢弃它），于是该连接作为请求停在 SYN-RECEIVED，而第十二个客户端的握手占去了最后一个位置。一秒后服务器向第十一个客户端重传 SYN-ACK，客户端再次确认：此时队列已满，内核丢弃这个 ACK 并计入 ListenOverflows，尽管客户端以为自己已经连上。最后三个客户端的 SYN 同样遇到满队列：内核悄悄丢弃它们（ListenOverflows 和 ListenDrops），于是每个客户端一秒后重传 SYN，一直停在 SYN-SENT。已经进入队列的客户端看到的是打开的连接，尽管没有任何程序持有它：这就是“服务器看起来很空闲，客户端却连接超时”。",
		),
		Server: server.Options{Mode: server.Hold, NoAccept: true},
		// The clients' bare ACKs: one a handshake, the eleventh the
		// eleventh client's.
		Faults:  []lab.Fault{{From: lab.Client, Rule: fault.Rule{Flags: fault.ACK.Flags, Mask: fault.ACK.Mask, Nth: 11}}},
		Clients: 15, Every: 20 * time.Millisecond,
		// One SYN retransmission of each client left out, a second on.
		Tail: 1500 * time.Millisecond,
		Expect: Expect{
			Sockets: map[string]int{"listener LISTEN": 1, "client ESTABLISHED": 12, "server ESTABLISHED": 11,
				"server SYN-RECEIVED": 1, "client SYN-SENT": 3},
			Queue: 11,
			// Three SYNs, their retransmissions, and the ACK of the
			// retransmitted SYN-ACK.
			AtLeast: map[string]uint64{"TcpExtListenOverflows": 7, "TcpExtListenDrops": 7},
		},
	},
	{
		Name:    "close-wait-leak",
		Summary: tx("A server that never closes: its sockets pile up in CLOSE-WAIT", "从不关闭的服务器：它的套接字堆积在 CLOSE-WAIT"),
		Description: tx(
			"The server accepts and keeps each connection, but never reads to the end nor closes it. Five clients connect and close at once. Each client's FIN is acknowledged by the server's kernel, which moves the server's socket to CLOSE-WAIT: the kernel has done its part, and only the application's close() can take the socket further. It never comes, so the five sockets stay in CLOSE-WAIT for as long as the process lives, and the clients wait in FIN-WAIT-2 until their kernel gives up on them (tcp_fin_timeout). This is the leak behind 'thousands of sockets in CLOSE-WAIT'.",
			"服务器 accept 并保留每个连接，但从不读到结束，也从不关闭。五个客户端连接后立即关闭。服务器内核确认了每个客户端的 FIN，把服务器端套接字转入 CLOSE-WAIT：内核已尽其责，只有应用程序的 close() 才能让套接字继续前进。close() 永远不来，于是这五个套接字在进程存活期间一直停在 CLOSE-WAIT，客户端则停在 FIN-WAIT-2，直到它们的内核放弃（tcp_fin_timeout）。这就是“成千上万个 CLOSE-WAIT 套接字”背后的泄漏。",
		),
		Server:  server.Options{Mode: server.Hold},
		Clients: 5, Every: 50 * time.Millisecond, Close: true,
		Tail: 300 * time.Millisecond,
		Expect: Expect{
			Sockets: map[string]int{"listener LISTEN": 1, "client FIN-WAIT-2": 5, "server CLOSE-WAIT": 5},
			AtLeast: map[string]uint64{"TcpActiveOpens": 5, "TcpPassiveOpens": 5},
		},
	},
	{
		Name:    "time-wait-pileup",
		Summary: tx("1,000 short connections from one client: TIME-WAIT piles up toward one server", "同一客户端的 1000 个短连接：TIME-WAIT 朝同一服务器堆积"),
		Description: tx(
			"One client makes 1,000 short connections to the same server, one after another, and closes each first. Every close leaves the client's end in TIME-WAIT for 60 seconds (2MSL on Linux), holding its local port toward 127.0.0.1:9988: 1,000 of the namespace's 3,000 ephemeral ports (ip_local_port_range is set to 40000-42999 here), a third of the range, within a second. A client that keeps this rate up runs out of ports toward that server, and connect() fails with 'cannot assign requested address' unless tcp_tw_reuse lets it take over a TIME-WAIT port: it is 0 here; Linux's default, 2, allows it over loopback only, and would have hidden part of the pile-up.",
			"一个客户端依次向同一服务器发起 1000 个短连接，每个都由客户端先关闭。每次关闭都让客户端一端进入 TIME-WAIT 60 秒（Linux 的 2MSL），占住它通往 127.0.0.1:9988 的本地端口：一秒之内占去命名空间 3000 个临时端口（这里 ip_local_port_range 设为 40000-42999）中的 1000 个，即三分之一。保持这个速度的客户端会耗尽通往该服务器的端口，connect() 将以“cannot assign requested address”失败，除非 tcp_tw_reuse 允许它接管处于 TIME-WAIT 的端口：这里它为 0；Linux 的默认值 2 只在回环上允许接管，那会掩盖一部分堆积。",
		),
		Server:  server.Options{Mode: server.Sink},
		Sysctls: [][2]string{{"net/ipv4/ip_local_port_range", "40000 42999"}, {"net/ipv4/tcp_tw_reuse", "0"}},
		Clients: 1000, Close: true,
		Expect: Expect{
			Sockets: map[string]int{"listener LISTEN": 1, "client TIME-WAIT": 1000},
			AtLeast: map[string]uint64{"TcpActiveOpens": 1000, "TcpPassiveOpens": 1000},
		},
	},
	synFlood("syn-flood", true,
		tx("200 SYNs from 200 addresses that never answer, syncookies on: a real client still gets in", "来自 200 个从不应答的地址的 200 个 SYN，开启 syncookies：真正的客户端仍能连上"),
		tx(
			"A raw socket sends 200 SYNs to the seed's server (backlog 10), each from an address of its own that never answers, as a flood from spoofed sources does; then a real client connects. The server's kernel keeps a half-open request in SYN-RECEIVED for the first 11 (backlog + 1, as for the accept queue) and retransmits their SYN-ACKs. For the others its SYN queue is full, and with net.ipv4.tcp_syncookies = 1 it answers statelessly: the SYN-ACK's sequence number is a cookie (SyncookiesSent), nothing is kept and nothing retransmitted. The real client's SYN gets a cookie too; its ACK returns the cookie, which the kernel checks (SyncookiesRecv) to build the connection: the flood does not keep it out.",
			"原始套接字向原文的服务器（backlog 10）发送 200 个 SYN，每个来自一个从不应答的不同地址，就像伪造源地址的洪泛；随后一个真正的客户端来连接。服务器内核为前 11 个（backlog + 1，与 accept 队列相同）保留处于 SYN-RECEIVED 的半连接请求，并重传它们的 SYN-ACK。对其余的，SYN 队列已满，而 net.ipv4.tcp_syncookies = 1，于是内核无状态地应答：SYN-ACK 的序号是一个 cookie（SyncookiesSent），什么都不保留，也不重传。真正客户端的 SYN 同样得到 cookie；它的 ACK 带回 cookie，内核校验后（SyncookiesRecv）建立连接：洪泛挡不住它。",
		),
		Expect{
			Sockets: map[string]int{"listener LISTEN": 1, "server SYN-RECEIVED": 11, "client ESTABLISHED": 1, "server ESTABLISHED": 1},
			AtLeast: map[string]uint64{"TcpExtSyncookiesSent": floodSize - 11 + 1, "TcpExtSyncookiesRecv": 1},
		}),
	synFlood("syn-flood-no-cookies", false,
		tx("The same flood with syncookies off: the real client is shut out", "同样的洪泛，关闭 syncookies：真正的客户端被拒之门外"),
		tx(
			"The syn-flood experiment with net.ipv4.tcp_syncookies = 0. The first 11 SYNs fill the SYN queue of the backlog-10 listener with half-open requests; every later SYN finds it full and is dropped (TCPReqQFullDrop, ListenDrops), the real client's among them. The client retransmits its SYN a second later, into a queue still full of requests for addresses that will never answer, and waits in SYN-SENT: this is what a SYN flood does to a server without cookies.",
			"syn-flood 实验，但 net.ipv4.tcp_syncookies = 0。前 11 个 SYN 用半连接请求填满 backlog 为 10 的监听套接字的 SYN 队列；之后的每个 SYN 都遇到满队列而被丢弃（TCPReqQFullDrop、ListenDrops），真正客户端的 SYN 也在其中。客户端一秒后重传 SYN，而队列里仍满是发往永远不会应答的地址的请求，它只能停在 SYN-SENT：这就是 SYN 洪泛对没有 cookie 的服务器造成的后果。",
		),
		Expect{
			Sockets: map[string]int{"listener LISTEN": 1, "server SYN-RECEIVED": 11, "client SYN-SENT": 1},
			AtLeast: map[string]uint64{"TcpExtTCPReqQFullDrop": floodSize - 11 + 1, "TcpExtListenDrops": floodSize - 11 + 1},
		}),
}

// synFlood is the flood from floodSize addresses, then one real client,
// with net.ipv4.tcp_syncookies on or off; the run goes on long enough
// for one SYN-ACK retransmission of the requests kept.
func synFlood(name string, cookies bool, summary, description lab.Text, expect Expect) Scenario {
	on := "0"
	if cookies {
		on = "1"
	}
	return Scenario{Name: name, Summary: summary, Description: description, Server: server.Options{Mode: server.Hold},
		Sysctls: [][2]string{{"net/ipv4/tcp_syncookies", on}}, Flood: floodSize, Clients: 1, Every: time.Millisecond,
		Tail: 1200 * time.Millisecond, Expect: expect}
}

func tx(en, zh string) lab.Text { return lab.Text{En: en, Zh: zh} }
