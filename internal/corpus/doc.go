// Package corpus locates the shared external test corpus (tcpdump, Zeek,
// Arkime and Suricata test data) and the seed capture for tests. They live
// in the "shared" folder beside the repository; SYNFIN_SHARED overrides.
package corpus
