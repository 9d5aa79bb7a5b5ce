// Package pcaptest gives tests the captures they read: the frames of a
// capture file or stream, and generated workloads held in memory. Tests in
// many packages read captures the same way; this is the one way.
package pcaptest
