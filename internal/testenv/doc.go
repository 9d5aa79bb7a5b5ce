// Package testenv decides whether tests that need privileges or external
// tools may run. Outside CI a missing capability or tool skips the test and
// says which; with CI=true it fails the test, because CI must run them all.
package testenv
