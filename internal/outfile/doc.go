// Package outfile creates the files synfin writes (captures, reports,
// diagrams, generated workloads) and refuses to write over anything that is
// not a regular file, so that a typo cannot send a capture into a device, a
// FIFO or over a directory.
package outfile
