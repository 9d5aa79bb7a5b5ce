// Package outfile creates the files synfin writes (captures, reports,
// diagrams, generated workloads) and refuses to write over anything that is
// not a regular file, so that a typo cannot send a capture into a device, a
// FIFO or over a directory. A file is written beside its target under a
// temporary name and renamed over it only when the run succeeds, so that a
// failed run leaves the previous output whole.
package outfile
