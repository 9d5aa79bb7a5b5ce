package finding_test

import (
	"fmt"
	"time"

	"synfin/watch/finding"
)

// Example explains a process that never closes the sockets its peers
// have closed.
func Example() {
	f := finding.Finding{Kind: finding.CloseWaitLeak, Pid: 4242, Comm: "python3", Count: 5, Oldest: 3 * time.Minute}
	fmt.Println(f.Text("en"))
	fmt.Println(f.Text("zh"))
	// Output:
	// python3 (pid 4242) holds 5 sockets in CLOSE-WAIT, the oldest for 3 min: it has read end-of-file on them but never called close()
	// python3（pid 4242）有 5 个套接字处于 CLOSE-WAIT，最久的已 3 分钟：它已读到对端的结束（EOF），却一直没有调用 close()
}
