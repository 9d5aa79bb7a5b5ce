// Package snapshot writes and reads the compact state of an object as a
// sequence of varints, so that many idle objects (closed connections held
// for 2MSL) take a few hundred bytes each instead of kilobytes.
package snapshot
