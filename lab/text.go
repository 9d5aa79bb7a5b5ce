package lab

// Text is a sentence in English and Chinese.
type Text struct{ En, Zh string }

// In returns the text in lang ("en" or "zh"); English where there is no
// Chinese.
func (t Text) In(lang string) string {
	if lang == "zh" && t.Zh != "" {
		return t.Zh
	}
	return t.En
}

// Headings of the lab command's output.
var (
	HeadScenario      = Text{"scenario:", "实验："}
	headStackKernel   = Text{"stack: the Linux kernel, in a private network namespace", "协议栈：Linux 内核，运行于私有网络命名空间"}
	headStackNetstack = Text{"stack: gVisor's netstack, a userspace TCP stack in this process; NOT the kernel", "协议栈：gVisor 的 netstack，本进程内的用户态 TCP 协议栈；不是内核"}
	HeadLog           = Text{"server and client, in network namespace", "服务器与客户端，运行于网络命名空间"}
	HeadLogNetstack   = Text{"server and client, on gVisor's netstack in this process", "服务器与客户端，运行于本进程内的 gVisor netstack"}
	HeadSegments      = Text{"segments", "报文段"}
	HeadNetstackLink  = Text{"segments from netstack's link, raw IP", "报文段取自 netstack 的链路，原始 IP"}
	HeadWritten       = Text{"capture written to", "抓包已写入"}
	HeadHTML          = Text{"HTML report written to", "HTML 报告已写入"}
	HeadKernelOnly    = Text{"kernel only: not on netstack", "仅限内核：netstack 上无法运行"}
	HeadCompare       = Text{"the two sides of the router compared (synfin compare -r client-side -r server-side):", "路由器两侧的抓包对比（synfin compare -r 客户端侧 -r 服务器侧）："}
)

// HeadStack names the stack a lab runs on: the kernel, or netstack.
func HeadStack(netstack bool) Text {
	if netstack {
		return headStackNetstack
	}
	return headStackKernel
}
