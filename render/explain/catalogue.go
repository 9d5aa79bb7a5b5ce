package explain

// Languages.
const (
	English = "en"
	Chinese = "zh"
)

// Langs lists the languages every catalogue entry has, in order.
var Langs = []string{English, Chinese}

// entry is one message in both languages. Placeholders are {name}; an
// argument whose value starts with '@' is itself a catalogue key (a word
// such as "client") and is translated too.
type entry struct{ en, zh string }

// catalogue holds every message. Keys: "note.<tcpstate note>" for what a
// segment does, "st.<STATE>" for why an endpoint enters a state,
// "an.<anomaly>" (what it is) and "ann.<anomaly>" (its name), "gap.<gap>",
// "p.<pattern>" (what it is) and "pn.<pattern>" (its name), "end.<end>"
// for tcpstate's names, and synfin's own below.
var catalogue = map[string]entry{
	// Words.
	"w.client": {"client", "客户端"},
	"w.server": {"server", "服务器"},
	"w.both":   {"both ends", "双方"},
	"w.Client": {"Client", "客户端"},
	"w.Server": {"Server", "服务器"},
	"w.sends":  {"on sending", "发送时"},
	"w.recv":   {"on receiving", "接收时"},
	"w.none":   {"none", "无"},
	"w.ok":     {"✓", "✓"},
	"w.and":    {" and ", "和"},
	// w.list joins the items of an enumeration: options, anomalies,
	// frame numbers, teardown patterns. Chinese separates parallel words
	// and short noun phrases with the enumeration comma 、, not the
	// full-width comma ，, which joins clauses (as "v.final" does).
	"w.list": {", ", "、"},
	// w.v is a value shown as it is, in every language: an item of a
	// list of numbers (listArg packs messages, so a bare value needs a key).
	"w.v": {"{v}", "{v}"},
	// Timeline fields. seq and ack stay as tcpdump and RFC 9293 name the
	// header fields (the Chinese text says "seq+1" too); the window and
	// the length are words.
	"w.win":             {"win", "窗口"},
	"w.len":             {"len", "长度"},
	"w.phase.handshake": {"handshake", "握手"},
	"w.phase.data":      {"data", "数据传输"},
	"w.phase.teardown":  {"teardown", "挥手"},

	// A data phase summed up (Collapse): the timeline's lines ("dp.dir"
	// by direction, in the SVG and Mermaid ladders too), and the text
	// ladder's ("lg.dir" after an arrow that gives the direction).
	"dp.title": {"#{first}-#{last}  {start} to {end} ({dur})  data phase, summed up", "#{first}-#{last}  {start} 至 {end}（{dur}）  数据传输阶段，合并显示"},
	"dp.dir":   {"{from} → {to}: {segs} segments, {bytes} bytes, {re} retransmissions", "{from} → {to}：{segs} 个报文段，{bytes} 字节，重传 {re} 个"},
	"dp.full":  {"{n} segments: the connection has more than {max}, so they are summed up here; synfin explain --full lists every one", "{n} 个报文段：连接的报文段超过 {max} 个，所以这里合并显示；synfin explain --full 会逐个列出"},
	"lg.dir":   {"{segs} segments, {bytes} bytes, {re} retransmissions", "{segs} 个报文段，{bytes} 字节，重传 {re} 个"},
	"lg.data":  {"{n} segments in {dur}", "{n} 个报文段，历时 {dur}"},
	"lg.full":  {"--full draws every segment", "加 --full 画出每个报文段"},

	// Ladder diagrams.
	"lg.verdict":  {"teardown {pattern}; final states: client {c}, server {s}", "挥手方式：{pattern}；最终状态：客户端 {c}，服务器 {s}"},
	"lg.time":     {"   time", "   时间"},
	"lg.end":      {"end", "结束"},
	"lg.lost":     {"segment(s) not captured", "有报文段没有被抓到"},
	"lg.retrans":  {"retransmission", "重传"},
	"lg.anomaly":  {"anomaly", "异常"},
	"lg.break":    {"time compressed", "时间被压缩"},
	"lg.phase":    {"phase", "阶段"},
	"lg.timewait": {"TIME-WAIT 2MSL {dur}", "TIME-WAIT 等待 2MSL：{dur}"},

	// The HTML report's interface.
	"ui.title":        {"synfin report", "synfin 报告"},
	"ui.conns":        {"{n} of {total} connections", "共 {total} 个连接，显示 {n} 个"},
	"ui.search":       {"filter: address, port or id", "筛选：地址、端口或编号"},
	"ui.pattern":      {"any teardown", "任意挥手方式"},
	"ui.state":        {"any final state", "任意最终状态"},
	"ui.anomalous":    {"with anomalies only", "只看有异常的"},
	"ui.pick":         {"Pick a connection on the left.", "请在左侧选择一个连接。"},
	"ui.ladder":       {"Ladder", "时序图"},
	"ui.segments":     {"Segments", "报文段"},
	"ui.col.seg":      {"#", "#"},
	"ui.col.time":     {"time", "时间"},
	"ui.col.dir":      {"direction", "方向"},
	"ui.col.flags":    {"flags", "标志"},
	"ui.col.seq":      {"seq [abs]", "seq [绝对值]"},
	"ui.col.ack":      {"ack [abs]", "ack [绝对值]"},
	"ui.col.len":      {"len", "长度"},
	"ui.col.phase":    {"phase", "阶段"},
	"ui.col.states":   {"client / server", "客户端 / 服务器"},
	"ui.col.notes":    {"what happens", "说明"},
	"ui.anomalies":    {"{n} anomalies", "{n} 个异常"},
	"ui.anomaly":      {"any anomaly", "任意异常"},
	"ui.port":         {"port", "端口"},
	"ui.summary":      {"Summary", "概要"},
	"ui.col.start":    {"start", "开始"},
	"ui.col.dur":      {"duration", "时长"},
	"ui.col.bytes":    {"bytes c→s / s→c", "字节 客户端→服务器 / 服务器→客户端"},
	"ui.col.client":   {"client", "客户端"},
	"ui.col.server":   {"server", "服务器"},
	"ui.col.final":    {"final states", "最终状态"},
	"ui.col.teardown": {"teardown", "挥手方式"},
	"ui.more":         {"{n} more segments of the data phase: --full in explain or diagram lists them", "数据传输阶段还有 {n} 个报文段：explain 或 diagram 加 --full 可列出"},
	"ui.unexplained": {"This report is large: only its first connections come with the full explanation. synfin explain -r FILE --conn {id} explains this one.",
		"报告很大：只有前面的连接附带完整说明。用 synfin explain -r FILE --conn {id} 查看这个连接的说明。"},
	"ui.explanation": {"Explanation", "说明"},
	"ui.tsg":         {"Time-sequence graph", "时间-序列号图"},
	"ui.tsg.dir":     {"data from the {side} ({bytes} bytes)", "{side}发出的数据（{bytes} 字节）"},

	// Header.
	"hdr.title": {"Connection {id}: {client} → {server}", "连接 {id}：{client} → {server}"},
	"hdr.c.syn": {"client {addr}: sent the first SYN (active open)", "客户端 {addr}：发出第一个 SYN（主动打开）"},
	"hdr.c.synack": {"client {addr}: its SYN was not captured; it is the end the first SYN-ACK went to",
		"客户端 {addr}：它的 SYN 没有抓到；第一个 SYN-ACK 是发给它的"},
	"hdr.c.port": {"client {addr}: seen mid-stream, so the roles are guessed from the ports (the well-known or lower port is the server's)",
		"客户端 {addr}：连接中途才被看到，角色由端口推断（知名端口或较小的端口属于服务器）"},
	"hdr.s.listen":  {"server {addr}: listening (passive open)", "服务器 {addr}：监听中（被动打开）"},
	"hdr.s.refused": {"server {addr}: nothing listens on this port", "服务器 {addr}：这个端口上没有程序监听"},
	"hdr.s.simul":   {"server {addr}: also sent a SYN (simultaneous open)", "服务器 {addr}：也发出了 SYN（同时打开）"},
	"hdr.s.unknown": {"server {addr}: never answered, so whether it listens is unknown", "服务器 {addr}：一直没有回应，不知道是否在监听"},
	"hdr.s.port":    {"server {addr}", "服务器 {addr}"},
	"hdr.frames": {"frames {frames} of the capture: {n} segments from {start} to {end} ({dur})",
		"抓包中的第 {frames} 帧：共 {n} 个报文段，从 {start} 到 {end}（历时 {dur}）"},
	"hdr.others": {"the frames in between belong to other connections", "中间的其他帧属于别的连接"},

	// Verdict.
	"v.title": {"Verdict", "结论"},
	"v.hs.complete": {"three-way handshake complete (SYN #{syn}, SYN-ACK #{synack}, ACK #{ack}); initial round trip {rtt} at the capture point",
		"三次握手完整（SYN #{syn}、SYN-ACK #{synack}、ACK #{ack}）；抓包点测得的初始往返时间 {rtt}"},
	"v.hs.bad": {"handshake seen but its arithmetic is wrong: an acknowledgment is not the peer's ISN + 1",
		"看到了握手，但算术不对：有一个确认号不等于对方的 ISN + 1"},
	"v.hs.partial": {"handshake only partly captured: {seen} seen", "握手只抓到一部分：看到了 {seen}"},
	"v.hs.midstream": {"handshake not captured: the connection was already open when the capture started",
		"没有抓到握手：抓包开始时连接已经建立"},
	"v.hs.rejected":   {"handshake rejected: the client answered the SYN-ACK (#{synack}) with a reset (#{rst}) instead of an ACK; it had no such connection, and the server went back to LISTEN", "握手被拒绝：客户端用 RST（#{rst}）而不是 ACK 回应 SYN-ACK（#{synack}）；它没有这条连接，服务器回到 LISTEN"},
	"v.hs.refused":    {"connection refused: the SYN (#{syn}) was answered by a reset (#{rst})", "连接被拒绝：SYN（#{syn}）得到的回应是 RST（#{rst}）"},
	"v.hs.unanswered": {"the SYN was never answered in this capture", "在本次抓包中 SYN 始终没有得到回应"},
	"v.hs.simul":      {"simultaneous open: both ends sent a SYN and each answered the other's", "同时打开：双方都发出了 SYN，并各自确认了对方的 SYN"},
	"v.hs.retries":    {"the SYN was sent {n} times: connect() waited {wait} for an answer", "SYN 一共发送了 {n} 次：connect() 为等待回应花了 {wait}"},
	"v.initiator":     {"the {side} closed first", "{side}先关闭"},
	"v.half.acked":    {"the {side}'s half: its FIN (#{fin}) and the ACK of it (#{ack}) are captured: that direction is closed", "{side}这一半：抓到了它的 FIN（#{fin}）和对它的 ACK（#{ack}）：这个方向已经关闭"},
	"v.half.piggy":    {"the {side}'s half: its FIN (#{fin}) is captured, acknowledged by the peer's own FIN (#{ack})", "{side}这一半：抓到了它的 FIN（#{fin}），对方在自己的 FIN（#{ack}）里捎带确认了它"},
	"v.half.unacked":  {"the {side}'s half: its FIN (#{fin}) is captured but no ACK of it", "{side}这一半：抓到了它的 FIN（#{fin}），但没有抓到对它的 ACK"},
	"v.half.open":     {"the {side}'s half: no FIN from the {side} is captured", "{side}这一半：没有抓到{side}的 FIN"},
	"v.half.rst":      {"the {side}'s half: no FIN; the reset ended it", "{side}这一半：没有 FIN，被 RST 终止"},
	"v.final":         {"final states: client {c}, server {s}", "最终状态：客户端 {c}，服务器 {s}"},
	"v.tw":            {"the {side} holds TIME-WAIT for 2MSL ({dur}), until {until}", "{side}在 TIME-WAIT 中等待 2MSL（{dur}），直到 {until}"},
	"v.tw.over":       {"2MSL had passed on the capture's clock", "按抓包时钟 2MSL 已经过去"},
	"v.tw.running":    {"the capture ended before 2MSL was over", "抓包在 2MSL 结束前就停止了"},
	"v.tw.held":       {"it is explained before 2MSL is over, as --hold asked", "按 --hold 的要求，在 2MSL 结束前就解释了它"},
	"v.tw.reused":     {"a new connection took its ports before 2MSL was over", "新连接在 2MSL 结束前就用了它的端口"},
	"v.tw.evicted":    {"it was let go before 2MSL was over, to make room (--max-conns)", "为腾出空间（--max-conns），在 2MSL 结束前就放掉了它"},
	"v.an.none":       {"no anomalies", "没有异常"},
	"v.an":            {"anomalies: {list}", "异常：{list}"},
	"an.count":        {"{name} ×{n}", "{name} ×{n}"},

	// Teardown patterns.
	"p.four-segment":       {"four-segment close (FIN, ACK, FIN, ACK)", "四次挥手（FIN、ACK、FIN、ACK）"},
	"p.three-segment":      {"three-segment close: the ACK of the first FIN rode on the second FIN", "三次挥手：对第一个 FIN 的确认搭载在第二个 FIN 上"},
	"p.simultaneous-close": {"simultaneous close: the two FINs crossed and both ends went through CLOSING", "同时关闭：两个 FIN 在途中交错，双方都经过了 CLOSING"},
	"p.half-close":         {"half-close: after the first FIN, {bytes} bytes still flowed the other way", "半关闭：第一个 FIN 之后，另一个方向仍传输了 {bytes} 字节"},
	"p.abort-rst":          {"aborted by a reset (RST) from the {side}", "被{side}的 RST 中止"},
	"p.refused":            {"refused: no connection, so no teardown", "被拒绝：连接没有建立，也就没有挥手"},
	"p.none":               {"never established", "连接从未建立"},
	"p.incomplete":         {"teardown incomplete: the capture ends before both ends closed", "挥手不完整：抓包在两端都关闭之前就结束了"},

	// The names of tcpstate's teardown patterns, where a name is shown
	// rather than described (the ladder's verdict, the report's filter,
	// the lab's table). The English is tcpstate's String() itself, which
	// JSON output keeps in every language.
	"pn.none":               {"none", "未建立连接"},
	"pn.incomplete":         {"incomplete", "不完整"},
	"pn.four-segment":       {"four-segment", "四次挥手"},
	"pn.three-segment":      {"three-segment", "三次挥手"},
	"pn.simultaneous-close": {"simultaneous-close", "同时关闭"},
	"pn.half-close":         {"half-close", "半关闭"},
	"pn.abort-rst":          {"abort-rst", "RST 中止"},
	"pn.refused":            {"refused", "连接被拒绝"},

	// Why a connection was handed out.
	"end.closed":      {"both ends closed", "两端都已关闭"},
	"end.reused":      {"a new SYN reused its ports", "一个新的 SYN 复用了它的端口"},
	"end.idle":        {"idle too long", "空闲太久"},
	"end.evicted":     {"dropped to bound memory", "为限制内存而被丢弃"},
	"end.capture-end": {"the capture ended", "抓包结束"},

	// What the capture did not show.
	"miss.title":         {"Not in the capture", "抓包中没有看到的"},
	"gap.syn":            {"the client's SYN", "客户端的 SYN"},
	"gap.syn-ack":        {"the server's SYN-ACK", "服务器的 SYN-ACK"},
	"gap.handshake-ack":  {"the ACK that completes the handshake", "完成握手的 ACK"},
	"gap.client-fin":     {"the client's FIN", "客户端的 FIN"},
	"gap.server-fin":     {"the server's FIN", "服务器的 FIN"},
	"gap.client-fin-ack": {"the acknowledgment of the client's FIN", "对客户端 FIN 的确认"},
	"gap.server-fin-ack": {"the acknowledgment of the server's FIN", "对服务器 FIN 的确认"},
	"gap.end":            {"the end of the connection: the capture stopped first", "连接的结束：抓包先停止了"},
	"miss.midstream": {"the capture starts mid-connection: states before the first segment are UNKNOWN, and relative numbers count from the first segment seen",
		"抓包从连接中途开始：第一个报文段之前的状态是 UNKNOWN，相对序号从看到的第一个报文段算起"},
	"miss.closewait": {"the {side} was left in CLOSE-WAIT: its application had not called close() when the capture stopped, or its FIN was not captured",
		"{side}停留在 CLOSE-WAIT：抓包结束时它的应用程序还没有调用 close()，或者它的 FIN 没有被抓到"},
	"miss.finwait2": {"the {side} was left in FIN-WAIT-2: its half is closed and it waits for the peer's FIN",
		"{side}停留在 FIN-WAIT-2：它这一半已经关闭，正在等待对方的 FIN"},

	// Summary.
	"sum.title":  {"Summary", "小结"},
	"sum.isn":    {"initial sequence numbers: client {c}, server {s}", "初始序号（ISN）：客户端 {c}，服务器 {s}"},
	"sum.agreed": {"agreed in the handshake: {opts}", "握手协商结果：{opts}"},
	"sum.bytes":  {"payload: client → server {cb} bytes in {cp} segment(s), server → client {sb} bytes in {sp} segment(s)", "数据量：客户端 → 服务器 {cb} 字节（{cp} 个报文段），服务器 → 客户端 {sb} 字节（{sp} 个报文段）"},
	"sum.path":   {"{side}: {path}", "{side}：{path}"},
	"sum.an":     {"{name} ×{n} (first at #{first}): {desc}", "{name} ×{n}（首次在 #{first}）：{desc}"},
	"sum.reuse":  {"reuses the ports of connection {prev}, {gap} after its last segment", "复用了连接 {prev} 的端口，距它的最后一个报文段 {gap}"},
	"sum.reuse2": {"reuses the ports of connection {prev} while its TIME-WAIT was still running", "在连接 {prev} 的 TIME-WAIT 还没结束时复用了它的端口"},
	"sum.end":    {"reported because {why}", "结束原因：{why}"},
	"o.mss":      {"MSS {v}", "MSS {v}"},
	"o.win":      {"window {v}", "窗口 {v}"},
	"o.ws":       {"window scale {v}", "窗口缩放因子 {v}"},
	"o.wscaling": {"window scaling", "窗口缩放"},
	"o.sack":     {"SACK", "SACK"},
	"o.sackok":   {"SACK permitted", "允许 SACK"},
	"o.ts":       {"timestamps", "时间戳"},
	"o.tfo":      {"TCP Fast Open", "TCP 快速打开（TFO）"},
	"o.tfodata":  {"TCP Fast Open with {v} bytes of data on the SYN", "TCP 快速打开，SYN 上携带 {v} 字节数据"},

	// Timeline.
	"tl.title":  {"Timeline (relative seq/ack [absolute], window in bytes [as sent × scale])", "时间线（seq/ack 相对值 [绝对值]，窗口字节数 [报文中的值 × 缩放倍数]）"},
	"tl.change": {"{side} {from} → {to} ({how}): {why}", "{side} {from} → {to}（{how}）：{why}"},

	// Why an endpoint enters a state.
	"st.SYN-SENT":     {"it sent its SYN and waits for a SYN-ACK", "已发出 SYN，等待 SYN-ACK"},
	"st.SYN-RECEIVED": {"it received a SYN and answers with its own SYN plus an ACK", "收到了 SYN，回应自己的 SYN 和 ACK"},
	"st.ESTABLISHED":  {"its SYN is acknowledged: the connection is open and data may flow", "它的 SYN 已被确认：连接建立，可以传输数据"},
	"st.FIN-WAIT-1":   {"it sent a FIN and waits for its ACK", "已发出 FIN，等待对方确认"},
	"st.FIN-WAIT-2":   {"its FIN is acknowledged; this half is closed but it can still receive until the peer's FIN (half-close)", "它的 FIN 已被确认；这一半已关闭，但在对方的 FIN 到来之前仍可接收数据（半关闭）"},
	"st.CLOSE-WAIT":   {"the peer will send no more: its application reads end-of-file, and this end may still send until it calls close()", "对方不会再发送数据：应用程序会读到 EOF，在它调用 close() 之前本端仍可发送"},
	"st.CLOSING":      {"the FINs crossed: it waits for the ACK of its own FIN", "两个 FIN 交错：等待对方确认自己的 FIN"},
	"st.LAST-ACK":     {"it sent its FIN after the peer's and waits for the last ACK", "在对方之后发出了自己的 FIN，等待最后一个 ACK"},
	"st.TIME-WAIT":    {"both FINs are done; it waits 2MSL before the ports may be used again", "双方的 FIN 都已完成；要等待 2MSL 才释放这对端口"},
	"st.CLOSED":       {"the connection is gone for this end", "对本端来说连接已不存在"},
	"st.CLOSED.rst":   {"the reset tears the connection down at once", "RST 立即拆除了连接"},
	"st.LISTEN":       {"it listens again", "重新回到监听"},
	"st.UNKNOWN":      {"its state cannot be told from the capture", "无法从抓包判断它的状态"},

	// Notes: what a segment does. Keys follow tcpstate's Note values.
	"note.syn": {"SYN: the {side} picks ISN {isn} and asks to connect; it enters SYN-SENT",
		"SYN：{side}选定初始序号 ISN {isn}，请求建立连接，进入 SYN-SENT"},
	"note.syn-retransmit": {"the same SYN again (retransmission {n}, {since} after the previous copy): no SYN-ACK came back in time, so the retransmission timer fired (Linux waits 1 s, then doubles) — this is why a connect can take 1 s or 3 s",
		"同一个 SYN 再次发送（第 {n} 次重传，距上一份 {since}）：SYN-ACK 没有及时回来，重传定时器超时（Linux 先等 1 秒，之后逐次翻倍）——这就是 connect 有时要花 1 秒或 3 秒的原因"},
	"note.syn-retransmit.other": {"the same SYN again, {since} after the previous copy", "同一个 SYN 再次发送，距上一份 {since}"},
	"note.simultaneous-syn": {"the {side} sends a SYN of its own (ISN {isn}) instead of answering: both ends opened actively (simultaneous open), and each goes to SYN-RECEIVED",
		"{side}没有回应，而是发出了自己的 SYN（ISN {isn}）：双方同时主动打开，各自进入 SYN-RECEIVED"},
	"note.syn-ack": {"SYN-ACK: the server picks its own ISN {isn} and acknowledges the client's SYN: ack {ack} = client ISN + 1 {ok} (the SYN consumed one sequence number)",
		"SYN-ACK：服务器选定自己的初始序号 {isn}，并确认客户端的 SYN：确认号 {ack} = 客户端 ISN + 1 {ok}（SYN 占用一个序号）"},
	"note.syn-ack.bad": {"SYN-ACK: the server picks ISN {isn}, but ack {ack} is not client ISN + 1 = {expected} ✗: the client will answer with a reset",
		"SYN-ACK：服务器选定初始序号 {isn}，但确认号 {ack} 不等于客户端 ISN + 1 = {expected} ✗：客户端会回以 RST"},
	"note.syn-ack.inferred": {"SYN-ACK: the server picks ISN {isn} and acknowledges a SYN the capture missed: ack {ack}, so the client's ISN was {cisn}",
		"SYN-ACK：服务器选定初始序号 {isn}，确认了一个没被抓到的 SYN：确认号 {ack}，所以客户端的 ISN 是 {cisn}"},
	"note.syn-ack-retransmit": {"the same SYN-ACK again ({since} after the previous copy): the server did not get the handshake's ACK in time, or the client's SYN came again",
		"同一个 SYN-ACK 再次发送（距上一份 {since}）：服务器没有及时收到握手的 ACK，或者客户端的 SYN 又来了一次"},
	"note.handshake-ack": {"ACK: ack {ack} = server ISN + 1 {ok}, seq = client ISN + 1: the three-way handshake is complete and the server enters ESTABLISHED. The third segment proves the client really wants this connection, so a stale, delayed SYN cannot open one",
		"ACK：确认号 {ack} = 服务器 ISN + 1 {ok}，序号 = 客户端 ISN + 1：三次握手完成，服务器进入 ESTABLISHED。第三个报文段向服务器证明客户端确实要这个连接，网络中滞留的旧 SYN 就不会建立出没人用的连接"},
	"note.handshake-ack.bad": {"ACK completing the handshake, but ack {ack} is not server ISN + 1 = {expected} ✗",
		"完成握手的 ACK，但确认号 {ack} 不等于服务器 ISN + 1 = {expected} ✗"},
	"note.data": {"{len} bytes of data from the {side} (seq {from}:{to}); acknowledging all of them takes ack {to}",
		"{side}发送 {len} 字节数据（序号 {from}:{to}）；确认全部数据需要确认号 {to}"},
	"note.ack": {"pure ACK from the {side}: everything before relative {rack} has arrived", "{side}的纯 ACK：相对序号 {rack} 之前的数据都已收到"},
	"note.fin": {"FIN: the {side} has nothing more to send and closes its half (active close). The FIN consumes one sequence number ({seq}), so the peer's ACK must be {seq1}",
		"FIN：{side}没有数据要发了，关闭自己这一半（主动关闭）。FIN 占用一个序号（{seq}），所以对方的确认号应为 {seq1}"},
	"note.second-fin": {"FIN from the {side}: it closes its half too (passive close); this FIN also consumes one sequence number ({seq}), so the last ACK must be {seq1}",
		"{side}发出 FIN：它也关闭自己这一半（被动关闭）；这个 FIN 同样占用一个序号（{seq}），所以最后的确认号应为 {seq1}"},
	"note.fin-ack-piggyback": {"FIN+ACK from the {side}: ack {ack} acknowledges the peer's FIN and its own FIN (seq {seq}) travels in the same segment — this ACK rides on the FIN: three-segment close",
		"{side}发出 FIN+ACK：确认号 {ack} 确认了对方的 FIN，自己的 FIN（序号 {seq}）也在同一个报文段里——这个 ACK 搭载在 FIN 上：三次挥手"},
	"note.simultaneous-fin": {"FIN from the {side}, sent before the peer's FIN arrived: the FINs cross (simultaneous close); this FIN consumes sequence number {seq}",
		"{side}发出 FIN，当时对方的 FIN 还没到：两个 FIN 交错（同时关闭）；这个 FIN 占用序号 {seq}"},
	"note.fin-retransmit": {"the same FIN again: its acknowledgment had not arrived when the retransmission timer fired",
		"同一个 FIN 再次发送：重传定时器超时时还没有收到对它的确认"},
	"note.fin-ack": {"ACK of the FIN: ack {ack} = FIN seq + 1 {ok} — FIN consumes one sequence number, so the ACK is seq+1",
		"对 FIN 的确认：确认号 {ack} = FIN 序号 + 1 {ok}——FIN 占用一个序号，所以确认号是 seq+1"},
	"note.fin-ack.bad": {"ACK past the FIN, but ack {ack} is not FIN seq + 1 = {expected} ✗", "越过了 FIN 的确认，但确认号 {ack} 不等于 FIN 序号 + 1 = {expected} ✗"},
	"note.last-ack": {"last ACK: ack {ack} = FIN seq + 1 {ok}; the {peer} leaves LAST-ACK and is CLOSED, while the {side} stays in TIME-WAIT",
		"最后一个 ACK：确认号 {ack} = FIN 序号 + 1 {ok}；{peer}离开 LAST-ACK 进入 CLOSED，而{side}留在 TIME-WAIT"},
	"note.last-ack.lost": {"last ACK: ack {ack} = FIN seq + 1 {ok}, but it never reached the {peer}, which sent its FIN again and stays in {state}; the {side} stays in TIME-WAIT",
		"最后一个 ACK：确认号 {ack} = FIN 序号 + 1 {ok}，但它没有到达{peer}：对方又发了一次 FIN，仍在 {state}；{side}留在 TIME-WAIT"},
	"note.rst": {"RST from the {side}: the connection is aborted at once — no FIN exchange, no TIME-WAIT, unsent and unread data is thrown away",
		"{side}发出 RST：连接立即中止——没有 FIN 交换，没有 TIME-WAIT，未发送和未读取的数据都被丢弃"},
	"note.rst.after-fin": {"RST from the {side} after a FIN: typically an application closed with unread data, or with SO_LINGER set to 0",
		"FIN 之后{side}又发出 RST：通常是应用程序在还有未读数据时关闭，或者设置了 SO_LINGER 为 0"},
	"note.refused": {"RST answering the SYN: nothing listens on port {port}, so the server's kernel refuses (connect() fails with ECONNREFUSED)",
		"用 RST 回应 SYN：端口 {port} 上没有程序监听，服务器内核拒绝连接（connect() 返回 ECONNREFUSED）"},
	"note.syn-ack-rejected": {"RST instead of the ACK, seq {seq} = the SYN-ACK's ack: the client does not take the SYN-ACK. An end waiting in SYN-SENT for it would acknowledge it; this reset is what an end with no such connection sends (a half-open port probe such as nmap -sS makes, or a duplicate of an old SYN). Saying no is what the handshake's third segment is for: the server drops the half-open connection and listens again",
		"用 RST 代替 ACK，序号 {seq} = SYN-ACK 的确认号：客户端不接受这个 SYN-ACK。处于 SYN-SENT 等待它的一端会确认它；这个 RST 是没有这条连接的一端发出的（例如 nmap -sS 那样的半开端口探测，或者一个旧的重复 SYN）。握手的第三个报文段正是为了让它能说“不”：服务器丢弃半开连接，重新监听"},
	"note.midstream": {"first segment seen of this connection: the handshake was not captured, so earlier states are UNKNOWN",
		"这是看到的该连接的第一个报文段：握手没有被抓到，之前的状态未知（UNKNOWN）"},
	"note.keep-alive": {"keep-alive probe: one byte below the next sequence number, sent after a quiet period to see whether the peer is still there",
		"保活探测（keep-alive）：序号比下一个期望值小 1，在空闲一段时间后发出，检查对方是否还在"},
	"note.window-update": {"window update: no new data, only a new receive window of {win} bytes", "窗口更新：没有新数据，只是通告新的接收窗口 {win} 字节"},
	"note.zero-window":   {"zero window: the {side}'s receive buffer is full, so the peer must stop sending", "零窗口：{side}的接收缓冲区满了，对方必须停止发送"},
	"note.retransmission": {"retransmission: these bytes (seq {from}) were sent before; the earlier copy or its ACK was lost or late",
		"重传：这些字节（序号 {from}）之前已经发送过；上一份或者它的 ACK 丢失或迟到了"},
	"note.duplicate-ack": {"duplicate ACK: the {side} acknowledges {rack} again, still waiting for it — a segment before it is probably missing; three duplicates trigger a fast retransmit",
		"重复 ACK：{side}再次确认 {rack}，仍在等待它——之前的某个报文段可能丢了；三个重复 ACK 会触发快速重传"},

	// Extra facts on a segment.
	"x.opts":           {"options offered: {opts}", "提供的选项：{opts}"},
	"x.fin-len":        {"it also carries {len} bytes of data before the FIN", "它在 FIN 之前还携带了 {len} 字节数据"},
	"x.four":           {"the ACK of the first FIN came on its own (#{ack}): four-segment close", "对第一个 FIN 的确认是单独发送的（#{ack}）：四次挥手"},
	"x.half":           {"data keeps flowing towards the end that closed first: half-close", "数据仍在流向先关闭的一端：半关闭"},
	"x.timewait":       {"TIME-WAIT: the {side} waits 2MSL (60 s on Linux) so that a lost last ACK can be answered and old duplicates die", "TIME-WAIT：{side}等待 2MSL（Linux 上为 60 秒），以便最后的 ACK 丢失时还能重新应答，并让网络中残留的旧报文段消亡"},
	"x.timewait.other": {"TIME-WAIT: the {side} waits 2MSL ({dur} here; 60 s on Linux) so that a lost last ACK can be answered and old duplicates die", "TIME-WAIT：{side}等待 2MSL（这里是 {dur}；Linux 上为 60 秒），以便最后的 ACK 丢失时还能重新应答，并让网络中残留的旧报文段消亡"},
	"x.anomaly":        {"⚠ {name}: {desc}", "⚠ {name}：{desc}"},
	"x.gap-before":     {"{dur} after the previous segment", "距上一个报文段 {dur}"},

	// Anomaly names, as lists and marks show them; the English is
	// tcpstate's String() itself.
	"ann.retransmission":                {"retransmission", "重传"},
	"ann.fast-retransmission":           {"fast-retransmission", "快速重传"},
	"ann.spurious-retransmission":       {"spurious-retransmission", "虚假重传"},
	"ann.out-of-order":                  {"out-of-order", "乱序"},
	"ann.previous-segment-not-captured": {"previous-segment-not-captured", "前一报文段未抓到"},
	"ann.acked-unseen-segment":          {"acked-unseen-segment", "确认了未抓到的报文段"},
	"ann.duplicate-ack":                 {"duplicate-ack", "重复 ACK"},
	"ann.zero-window":                   {"zero-window", "零窗口"},
	"ann.zero-window-probe":             {"zero-window-probe", "零窗口探测"},
	"ann.window-update":                 {"window-update", "窗口更新"},
	"ann.window-full":                   {"window-full", "窗口已满"},
	"ann.keep-alive":                    {"keep-alive", "保活探测"},
	"ann.keep-alive-ack":                {"keep-alive-ack", "保活应答"},
	"ann.syn-retransmit":                {"syn-retransmit", "SYN 重传"},
	"ann.syn-ack-retransmit":            {"syn-ack-retransmit", "SYN-ACK 重传"},
	"ann.bad-handshake-ack":             {"bad-handshake-ack", "握手确认号错误"},
	"ann.fin-retransmit":                {"fin-retransmit", "FIN 重传"},
	"ann.bad-fin-ack":                   {"bad-fin-ack", "FIN 确认号错误"},
	"ann.rst-after-fin":                 {"rst-after-fin", "FIN 之后的 RST"},
	"ann.lost-last-ack":                 {"lost-last-ack", "最后的 ACK 丢失"},
	"ann.port-reuse":                    {"port-reuse", "端口复用"},

	// Anomalies: tcpstate's names.
	"an.retransmission":                {"bytes sent again", "字节被再次发送"},
	"an.fast-retransmission":           {"sent again after duplicate ACKs asked for it", "在重复 ACK 的要求下再次发送"},
	"an.spurious-retransmission":       {"sent again although already acknowledged", "已经被确认却又再次发送"},
	"an.out-of-order":                  {"arrived out of order", "乱序到达"},
	"an.previous-segment-not-captured": {"an earlier segment of this direction is missing from the capture", "这个方向之前的报文段没有被抓到"},
	"an.acked-unseen-segment":          {"acknowledges data the capture did not see", "确认了抓包中没有看到的数据"},
	"an.duplicate-ack":                 {"the same acknowledgment again", "同样的确认号再次出现"},
	"an.zero-window":                   {"the receive window is zero", "接收窗口为零"},
	"an.zero-window-probe":             {"a probe of a zero window", "对零窗口的探测"},
	"an.window-update":                 {"only the window changed", "只有窗口变化"},
	"an.window-full":                   {"fills the peer's receive window", "填满了对方的接收窗口"},
	"an.keep-alive":                    {"keep-alive probe", "保活探测"},
	"an.keep-alive-ack":                {"answer to a keep-alive probe", "对保活探测的应答"},
	"an.syn-retransmit":                {"the client sent its SYN again", "客户端再次发送了 SYN"},
	"an.syn-ack-retransmit":            {"the server sent its SYN-ACK again", "服务器再次发送了 SYN-ACK"},
	"an.bad-handshake-ack":             {"a handshake acknowledgment is not the peer's ISN + 1", "握手中的确认号不等于对方的 ISN + 1"},
	"an.fin-retransmit":                {"a FIN sent again", "FIN 被再次发送"},
	"an.bad-fin-ack":                   {"an acknowledgment past a FIN is not FIN seq + 1", "越过 FIN 的确认号不等于 FIN 序号 + 1"},
	"an.rst-after-fin":                 {"reset after a FIN was sent", "发送 FIN 之后又出现了 RST"},
	"an.lost-last-ack":                 {"a FIN came again after it was acknowledged, so that ACK was lost beyond the capture point; the TIME-WAIT end answers it again", "FIN 被确认后又重发了，说明那个 ACK 在抓包点之后丢失；处于 TIME-WAIT 的一端会再次应答"},
	"an.port-reuse":                    {"a new SYN on ports an earlier connection still held", "新的 SYN 使用了之前连接仍占用的端口"},

	// What the capture shows only by inference: a client that gave up
	// on its SYN.
	"v.hs.gaveup":       {"no SYN came after #{seg} by {by}, though the next one was due by then at the latest (a retransmission waits as long as the one before, or twice as long; with room for a late timer, {wait} at most): the client had given up, and is CLOSED — inferred, as no segment shows it", "#{seg} 之后直到 {by} 都没有 SYN，而下一个 SYN 最迟此时就该发出（重传的等待时间与上一次相同或翻倍；算上定时器可能的延迟，最多 {wait}）：客户端已经放弃，进入 CLOSED——这是推断，没有报文段能显示它"},
	"lg.inferred":       {"{s} (inferred)", "{s}（推断）"},
	"sum.path.inferred": {"{side}: {path} → {to} (inferred: by {by} at the latest)", "{side}：{path} → {to}（推断：最迟在 {by}）"},

	// A close the capture cannot decide: two readings, ranked.
	"tl.title.reading":       {"Timeline, as reading 1 has it (relative seq/ack [absolute], window in bytes [as sent × scale])", "时间线，按解读 1 给出（seq/ack 相对值 [绝对值]，窗口字节数 [报文中的值 × 缩放倍数]）"},
	"v.undecided":            {"the capture cannot tell who closed first: it starts mid-connection, and the {x}'s FIN (#{fin}) is the first FIN in it; whether the {y} had sent its FIN before the capture began, nothing captured shows. Two readings fit, the likelier first:", "抓包无法判断谁先关闭：它从连接中途开始，{x}的 FIN（#{fin}）是其中第一个 FIN；{y}在抓包开始之前是否已经发出 FIN，抓到的报文都说明不了。两种解读都说得通，可能性大的在前："},
	"p.incomplete.fin":       {"teardown incomplete: a FIN is not in the capture", "挥手不完整：有一个 FIN 不在抓包中"},
	"v.reading.first":        {"reading {n}: the {x} closed first, with its FIN (#{fin}), and the {y} had not closed when the capture ended (its FIN would come after); final states: client {c}, server {s}", "解读 {n}：{x}先关闭，发出了 FIN（#{fin}）；抓包结束时{y}还没有关闭（它的 FIN 会在之后出现）；最终状态：客户端 {c}，服务器 {s}"},
	"v.follows":              {"the timeline, the ladder and the summary follow reading 1", "时间线、时序图和小结都按解读 1 给出"},
	"v.reading.before":       {"reading {n}: the {y} closed first, before the capture began (its FIN is not in it); the {x} had waited in CLOSE-WAIT, and its FIN (#{fin}) took it to LAST-ACK and the {y} from FIN-WAIT-2 to TIME-WAIT; final states: client {c}, server {s}", "解读 {n}：{y}先关闭，发生在抓包开始之前（它的 FIN 不在抓包中）；{x}一直停在 CLOSE-WAIT，它的 FIN（#{fin}）使它进入 LAST-ACK，并使{y}从 FIN-WAIT-2 进入 TIME-WAIT；最终状态：客户端 {c}，服务器 {s}"},
	"v.final.reading":        {"final states in reading 1: client {c}, server {s}", "按解读 1 的最终状态：客户端 {c}，服务器 {s}"},
	"v.clue.echo":            {"ranked by the time stamps: the {x}'s FIN (#{fin}) echoes the {y}'s time stamp {ecr}, {ticks} ticks older than the {y}'s answer (#{reply}, TS val {val}): nothing had come from the {y} for about {dur} (at 1 ms a tick, as Linux counts), longer than an open end holds back an acknowledgment — a silence that fits an end that had already closed", "按时间戳排序：{x}的 FIN（#{fin}）回显的是{y}的时间戳 {ecr}，比{y}的应答（#{reply}，其时间戳为 {val}）早 {ticks} 个时钟单位：{y}已经约 {dur} 没有发送任何报文（按 Linux 每单位 1 毫秒计），比仍打开的一端推迟确认的时间还长——这样的沉默符合一个早已关闭的端"},
	"v.clue.none":            {"nothing in the capture ranks them: the first is the reading that assumes nothing happened before the capture", "抓包中没有任何线索能给它们排序：排在前面的是不假设抓包开始前发生过任何事的那种解读"},
	"v.clue.echo.recent":     {"the time stamps do not rank them: the {x}'s FIN (#{fin}) echoes a time stamp of the {y} only {ticks} ticks older than its answer (#{reply}): the {y} had sent something just before", "时间戳不能排序：{x}的 FIN（#{fin}）回显的{y}的时间戳只比它的应答（#{reply}）早 {ticks} 个时钟单位：{y}不久前刚发送过报文"},
	"lg.verdict.reading":     {"teardown {pattern}; the capture cannot tell who closed first: final states in the likelier reading: client {c}, server {s}", "挥手方式：{pattern}；抓包无法判断谁先关闭：可能性较大的解读中最终状态：客户端 {c}，服务器 {s}"},
	"v.clue.ackgap":          {"ranked by the acknowledgment numbers: the {x}'s FIN (#{fin}) acknowledges one sequence number more than anything captured from the {y}: the one a FIN of the {y} takes, and no such FIN is in the capture", "按确认号排序：{x}的 FIN（#{fin}）确认的序号比抓到的{y}的任何报文都多一个：正是{y}的 FIN 要占用的那个序号，而抓包中没有这个 FIN"},
	"miss.midstream.reading": {"the capture starts mid-connection: states before the first segment are reading 1's, and relative numbers count from the first segment seen", "抓包从连接中途开始：第一个报文段之前的状态按解读 1 给出，相对序号从看到的第一个报文段算起"},
}

// Keys lists the catalogue's keys (for tests and for other renderers that
// embed the catalogue).
func Keys() []string {
	out := make([]string, 0, len(catalogue))
	for k := range catalogue {
		out = append(out, k)
	}
	return out
}

// Catalogue returns the message with key in every language, by language,
// and whether it exists.
func Catalogue(key string) (map[string]string, bool) {
	e, ok := catalogue[key]
	if !ok {
		return nil, false
	}
	return map[string]string{English: e.en, Chinese: e.zh}, true
}

func lookup(key, lang string) (string, bool) {
	e, ok := catalogue[key]
	if !ok {
		return "", false
	}
	if lang == Chinese {
		return e.zh, e.zh != ""
	}
	return e.en, e.en != ""
}
