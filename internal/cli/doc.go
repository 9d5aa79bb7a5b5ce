// Package cli implements synfin's command line: one file per subcommand,
// all reached through Main so tests run the CLI in-process.
package cli
