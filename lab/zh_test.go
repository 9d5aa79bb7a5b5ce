package lab_test

import (
	"strings"
	"testing"

	"synfin/lab"
	"synfin/render/explain/explaintest"
)

// TestChineseTexts checks that every scenario's summary and description,
// and the lab's headings, have Chinese that leaves no English word (but
// the ones explaintest.Kept lists, and the scenarios' own words below).
func TestChineseTexts(t *testing.T) {
	texts := map[string]lab.Text{"scenario": lab.HeadScenario, "stack kernel": lab.HeadStack(false),
		"stack netstack": lab.HeadStack(true), "log": lab.HeadLog, "log netstack": lab.HeadLogNetstack,
		"segments": lab.HeadSegments, "link": lab.HeadNetstackLink, "written": lab.HeadWritten,
		"html": lab.HeadHTML, "kernel only": lab.HeadKernelOnly}
	for _, sc := range lab.Scenarios() {
		texts[sc.Name+" summary"] = sc.Summary
		texts[sc.Name+" description"] = sc.Description
	}
	// The scenarios' own words kept in Chinese: system calls and their
	// parameter, socket options and sysctls, error messages quoted as
	// programs print them, and names.
	kept := map[string]bool{}
	for _, w := range strings.Fields("accept shutdown backlog TCP_SYNCNT tcp_syn_linear_timeouts " +
		"connection refused timed out RFC IPv4 IPv6 Python") {
		kept[w] = true
	}
	for name, tx := range texts {
		if tx.Zh == "" {
			t.Errorf("%s has no Chinese", name)
			continue
		}
		var left []string
		for _, w := range explaintest.EnglishWords(tx.Zh) {
			if !kept[w] {
				left = append(left, w)
			}
		}
		if w := left; len(w) > 0 {
			t.Errorf("%s: English words in the Chinese: %s", name, strings.Join(w, " "))
		}
	}
}
