package summary

import (
	"strings"

	"synfin/render/explain"
)

// catalogue holds the summary's words, each in English and Chinese, with
// {name} for an argument as in render/explain's catalogue: "h.<part>"
// headings, "k.<kind>" and "f.<kind>" the name and the explanation of
// each finding, "w.<word>" the rest. Teardown patterns and anomalies are
// named by render/explain's catalogue.
var catalogue = map[string][2]string{
	"h.title":             {"connections: {n}", "连接数：{n}"},
	"h.teardown":          {"teardown", "挥手方式"},
	"h.final":             {"final states (client/server)", "最终状态（客户端/服务器）"},
	"h.anomalies":         {"anomalies (connections, occurrences)", "异常（连接数，次数）"},
	"h.rtt":               {"handshake RTT (complete handshakes: {n})", "握手往返时间（完整握手 {n} 次）"},
	"h.duration":          {"duration", "持续时间"},
	"h.cliConns":          {"top clients by connections", "连接最多的客户端"},
	"h.cliFail":           {"top clients by failed handshakes", "握手失败最多的客户端"},
	"h.srvConns":          {"top servers by connections", "连接最多的服务器"},
	"h.srvFail":           {"top servers by failed handshakes", "握手失败最多的服务器"},
	"h.findings":          {"findings", "发现"},
	"w.none":              {"none", "无"},
	"w.colon":             {": ", "："},
	"w.pct":               {"p{p}", "{p}% 分位"},
	"w.max":               {"max", "最大"},
	"k.syn-flood":         {"SYN flood", "SYN 洪泛"},
	"k.scan":              {"scan", "扫描"},
	"k.accept-queue-full": {"full accept queue", "accept 队列已满"},
	"k.lost-last-ack":     {"lost last ACKs", "最后的 ACK 丢失"},
	"k.time-wait-reuse":   {"TIME-WAIT reuse", "TIME-WAIT 端口复用"},
	"k.reset-storm":       {"reset storm", "RST 风暴"},
	"k.zero-window-stall": {"zero-window stalls", "零窗口停滞"},
	"w.over":              {"up to {n} of them may be others'", "其中至多 {n} 个可能属于其他地址"},
	"w.conns":             {"connections: {ids}", "连接：{ids}"},
	"w.more":              {"and {n} more", "另有 {n} 条"},
	"w.at":                {"from {t} for {span} s", "自 {t} 起 {span} 秒内"},
	"w.leftout":           {"{n} more findings are not listed", "另有 {n} 项发现未列出"},
	"w.skipped":           {"{n} connections were past the detectors' memory bound and are not in the findings", "{n} 条连接超出检测器的内存上限，未计入发现"},

	"f.syn-flood": {
		"SYN flood at {addr}: {n} handshakes left half-open in one second, from {d} source addresses: no source ever completed the handshake, as spoofed sources cannot (a SYN the server answered left its SYN-ACK unacknowledged; one it did not answer was dropped, a full queue's sign). Each holds a slot in the listener's SYN queue until the server gives up; SYN cookies (net.ipv4.tcp_syncookies) keep the queue from filling.",
		"{addr} 遭受 SYN 洪泛：一秒内有 {n} 次握手停在半开状态，来自 {d} 个源地址：没有一个源完成握手，伪造的源地址也无法完成（服务器回应过的 SYN，其 SYN-ACK 一直没有得到确认；没有回应的 SYN 被丢弃了，这是队列已满的迹象）。每个半开握手都占着监听套接字 SYN 队列的一个位置，直到服务器放弃；SYN cookies（net.ipv4.tcp_syncookies）可以防止队列被占满。",
	},
	"f.scan": {
		"Scan from {addr}: within a minute it tried {d} ports and {n} handshakes were refused (answered with RST) or rejected by the source itself (a half-open scan resets the SYN-ACK): one source, many ports, nothing opened.",
		"来自 {addr} 的扫描：一分钟内它尝试了 {d} 个端口，{n} 次握手被拒绝（以 RST 应答）或被源自己拒绝（半开扫描会用 RST 回应 SYN-ACK）：一个源，许多端口，没有建立任何连接。",
	},
	"f.accept-queue-full": {
		"Full accept queue at {addr}: in one second it answered {a} SYNs while {n} others were retransmitted unanswered. A listener that answers some handshakes and ignores others at the same moment is dropping SYNs because its accept queue is full: the application does not call accept() fast enough for its listen backlog (see net.core.somaxconn, and ListenOverflows in nstat).",
		"{addr} 的 accept 队列已满：一秒内它应答了 {a} 个 SYN，另有 {n} 个 SYN 被重传却无人应答。同一时刻对一些握手应答、对另一些置之不理的监听端，是因为 accept 队列已满而丢弃 SYN：应用程序调用 accept() 的速度跟不上它的监听 backlog（参见 net.core.somaxconn 以及 nstat 中的 ListenOverflows）。",
	},
	"f.lost-last-ack": {
		"Lost last ACKs in {n} connections: the peer sent its FIN again after the capture had seen it acknowledged, so the ACK was lost beyond this point, and the end in TIME-WAIT acknowledged the FIN again. Answering such a FIN is what TIME-WAIT is for; many of them point at loss on the path.",
		"{n} 条连接丢失了最后一个 ACK：抓包已看到对 FIN 的确认，对方却重传了 FIN，说明这个 ACK 在抓包点之后丢失；处于 TIME-WAIT 的一端再次确认了这个 FIN。应答这样的 FIN 正是 TIME-WAIT 存在的理由；数量多说明路径上有丢包。",
	},
	"f.time-wait-reuse": {
		"TIME-WAIT reuse in {n} connections: each reused the ports of a connection still in TIME-WAIT, a new SYN on the same address and port pair within 2MSL. Linux takes the TIME-WAIT socket over when timestamps tell the two connections apart (net.ipv4.tcp_tw_reuse for outgoing connections); many of them mean clients run short of ephemeral ports toward one server.",
		"{n} 条连接复用了仍处于 TIME-WAIT 的连接的端口：即在 2MSL 之内，同一对地址和端口上出现了新的 SYN。若时间戳能区分新旧连接，Linux 会接管该 TIME-WAIT 套接字（主动连接看 net.ipv4.tcp_tw_reuse）；数量多说明客户端连向同一服务器的临时端口不够用。",
	},
	"f.reset-storm": {
		"Reset storm from {addr}: it reset {n} connections in one second. So many resets at once come from a host or an application that crashed, restarted, or shed its connections.",
		"来自 {addr} 的 RST 风暴：一秒内它重置了 {n} 条连接。同时出现这么多 RST，说明某台主机或某个应用程序崩溃、重启或丢弃了它的连接。",
	},
	"f.zero-window-stall": {
		"Zero-window stalls in {n} connections ({a} segments advertised a zero window): the receiver had no room left, so the sender had to stop until a window update. The receiving application is not reading as fast as data arrives.",
		"{n} 条连接因零窗口而停滞（{a} 个报文段通告了零窗口）：接收方已没有空间，发送方只能停下，直到窗口更新。接收端应用程序读取数据的速度跟不上数据到达的速度。",
	},
}

// text is message key in lang with its arguments (name, value pairs).
func text(key, lang string, kv ...string) string {
	s := catalogue[key][0]
	if lang == explain.Chinese {
		s = catalogue[key][1]
	}
	for i := 0; i+1 < len(kv); i += 2 {
		s = strings.ReplaceAll(s, "{"+kv[i]+"}", kv[i+1])
	}
	return s
}
