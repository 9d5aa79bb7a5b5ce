// Package ptytest opens pseudo-terminals for tests that need a real
// terminal, such as a progress bar's standard error, without cgo.
package ptytest
