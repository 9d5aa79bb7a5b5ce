// Package servicesfile reads services(5) files (/etc/services): the
// tcpdump printer names ports from them, and the tcpdump text reader
// reads the names back to ports. One reader serves both, each keeping
// what it needs.
package servicesfile
