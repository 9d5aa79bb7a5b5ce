package finding

// entry is one message in both languages; placeholders are {name}.
type entry struct{ en, zh string }

// catalogue holds the findings' sentences (keyed by kind, with a suffix
// for a variant) and the screen's words ("s.").
var catalogue = map[string]entry{
	"close-wait-leak": {
		"{comm} (pid {pid}) holds {count} sockets in CLOSE-WAIT, the oldest for {oldest}: it has read end-of-file on them but never called close()",
		"{comm}（pid {pid}）有 {count} 个套接字处于 CLOSE-WAIT，最久的已 {oldest}：它已读到对端的结束（EOF），却一直没有调用 close()"},
	"close-wait-leak.unowned": {
		"{count} sockets have been in CLOSE-WAIT for up to {oldest}, held by a process watch may not look into (run it as root to name it): their peer has closed, and the process never called close()",
		"{count} 个套接字处于 CLOSE-WAIT，最久的已 {oldest}；持有它们的进程 watch 无权查看（以 root 运行可得其名）：对端已关闭，而该进程一直没有调用 close()"},
	"accept-queue-full": {
		"the application on :{lport} is not calling accept() fast enough; its backlog is {backlog} (somaxconn {somaxconn}); new handshakes are being dropped",
		"监听 :{lport} 的应用调用 accept() 不够快；它的 backlog 是 {backlog}（somaxconn {somaxconn}）；新的握手正被丢弃"},
	"time-wait-pileup": {
		"{count} sockets in TIME-WAIT toward {raddr}:{rport} use {share}% of the ephemeral port range ({lo}-{hi}): new connections to it may find no free port; {advice}",
		"{count} 个 TIME-WAIT 套接字指向 {raddr}:{rport}，占用了临时端口范围（{lo}-{hi}）的 {share}%：新连接可能找不到空闲端口；{advice}"},
	"tw_reuse.0": {
		"net.ipv4.tcp_tw_reuse is 0: setting it to 1 lets new outgoing connections reuse them safely (with TCP timestamps), or keep connections open and reuse them",
		"net.ipv4.tcp_tw_reuse 为 0：设为 1 可让新的出站连接安全地复用它们（需 TCP 时间戳），或者让连接保持打开并复用"},
	"tw_reuse.1": {
		"net.ipv4.tcp_tw_reuse is already 1: keep connections open and reuse them (keep-alive, pooling), or widen the port range",
		"net.ipv4.tcp_tw_reuse 已是 1：让连接保持打开并复用（keep-alive、连接池），或扩大端口范围"},
	"tw_reuse.2": {
		"net.ipv4.tcp_tw_reuse is 2 (loopback only): 1 lets every outgoing connection reuse them (with TCP timestamps), or keep connections open and reuse them",
		"net.ipv4.tcp_tw_reuse 为 2（仅回环）：设为 1 可让所有出站连接复用它们（需 TCP 时间戳），或者让连接保持打开并复用"},
	"syn-flood": {
		"{syn_recv} handshakes on :{lport} are half-open (SYN-RECEIVED) and {cookies_sent} SYN cookies were sent in the last interval: a SYN flood, or clients whose final ACK never arrives",
		":{lport} 上有 {syn_recv} 个握手处于半开状态（SYN-RECEIVED），上一个间隔内发出了 {cookies_sent} 个 SYN cookie：这是 SYN 洪泛，或者客户端的最后一个 ACK 始终没有到达"},
	"syn-flood.cookies": {
		"{cookies_sent} SYN cookies were sent in the last interval: a listener's SYN queue overflowed, as under a SYN flood",
		"上一个间隔内发出了 {cookies_sent} 个 SYN cookie：某个监听套接字的 SYN 队列已溢出，如同遭受 SYN 洪泛"},
	"reset-storm": {
		"{sent} resets a second sent and {reset} established connections a second reset over the last {interval}: connections are being aborted (refused ports, applications closing unread data, or a middlebox)",
		"过去 {interval} 内每秒发出 {sent} 个 RST，每秒有 {reset} 个已建立的连接被重置：连接正被中止（端口拒绝、应用关闭时有未读数据，或中间设备所为）"},

	"s.findings":  {"Findings", "发现"},
	"s.none":      {"no findings", "没有发现问题"},
	"s.states":    {"Sockets by state", "各状态的套接字"},
	"s.closewait": {"Oldest CLOSE-WAIT", "最久的 CLOSE-WAIT"},
	"s.listeners": {"Listeners: accept queue / backlog (somaxconn {somaxconn})", "监听套接字：accept 队列 / backlog（somaxconn {somaxconn}）"},
	"s.timewait":  {"TIME-WAIT by remote endpoint (ephemeral ports {lo}-{hi})", "按远端统计的 TIME-WAIT（临时端口 {lo}-{hi}）"},
	"s.resets":    {"Recent resets and aborts", "最近的重置与中止"},
	"s.counters":  {"Kernel counters (+ the rise since the last screen)", "内核计数器（+ 自上一屏以来的增加）"},
	"s.lost":      {"transitions: {seen} seen, {lost} lost by the kernel, {untracked} not kept (table full)", "状态变化：看到 {seen} 个，内核丢失 {lost} 个，未保留 {untracked} 个（表已满）"},
	"s.source":    {"source: {source}", "来源：{source}"},
	"s.atleast":   {"at least {age}", "至少 {age}"},
	"s.nothing":   {"none", "无"},
	"s.unknown":   {"unknown", "未知"},
	"s.sockets":   {"{count} sockets, {share}% of the range", "{count} 个套接字，占范围的 {share}%"},
}
