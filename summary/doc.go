// Package summary adds a capture's finished connections up: counts by
// teardown pattern, by final states and by anomaly; handshake round trip
// and duration percentiles; the busiest clients and servers by
// connections and by failed handshakes; and findings that name a cause,
// each with the ids of the connections that show it and an explanation
// in English or Chinese: SYN flood, scan, full accept queue, lost last
// ACKs answered from TIME-WAIT, TIME-WAIT port reuse, reset storm and
// zero-window stalls.
//
// A Collector takes each connection as a tracker hands it out
// (track.Config.Done) and keeps nothing of it, so that its memory is
// bounded however long the capture:
//
//   - Percentiles come from a log-linear histogram (hist), not from a
//     sample: fixed memory, the same result whatever the order the
//     connections finish in, and within 0.4% of the exact nearest-rank
//     value, far finer than the spread of round trips it describes. A
//     bounded sample would give exact values of a subset, which differ
//     from the whole capture's by more than that at p99 and depend on
//     which connections were drawn.
//   - The top lists count with the Space-Saving algorithm (topk): exact
//     for up to 8192 addresses, and past that the busiest are still
//     found, with how much of a count may be others' (Host.Over).
//   - Findings about an interval (a flood, a scan, a full accept queue,
//     a reset storm) are counted in buckets by address and second (a
//     minute for scans), settled once the capture's clock has passed the
//     interval by more than a tracker can hand a connection out late; so
//     memory follows the last minutes of traffic. A finding lists at most
//     MaxEvidence ids (the lowest) and says how many more there are.
//
// The thresholds (detect.go) sit well above what the reference workload
// of package gen shows, and each finding is checked on a gen capture with
// the ingredient that makes it (gen.Ingredient) and on lab captures.
//
// Summary is a JSON-encodable value (WriteJSON) for other renderers, such
// as the HTML report; WriteText writes it for people.
package summary
