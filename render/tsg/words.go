package tsg

// Words are the drawing's words, each in English and Chinese, for
// drawings of their own (the HTML report's), so that they say what
// WriteSVG says.
func Words() map[string][2]string {
	m := make(map[string][2]string, len(words["en"]))
	for k, en := range words["en"] {
		m[k] = [2]string{en, words["zh"][k]}
	}
	return m
}
