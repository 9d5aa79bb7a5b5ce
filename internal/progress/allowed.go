package progress

// Allowed reports whether the environment, read through getenv, lets a
// bar be drawn: not when NO_PROGRESS is set to anything but "" or "0",
// nor on a terminal that TERM calls "dumb".
func Allowed(getenv func(string) string) bool {
	if v := getenv("NO_PROGRESS"); v != "" && v != "0" {
		return false
	}
	return getenv("TERM") != "dumb"
}
