// Package annotate prints frames as tcpdump does and, when asked, ends the
// line of each TCP segment with the step of the handshake or teardown it
// is and the states it moved each end to ("[handshake 1/3: client SYN;
// client SYN-SENT, server SYN-RECEIVED]"): read --annotate and capture
// --annotate. It follows the connections with tcpstate's tracker and
// names the steps with explain's Stepper, so the steps are the events
// explain prints.
package annotate
