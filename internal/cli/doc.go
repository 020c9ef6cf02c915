// Package cli implements the lienthong subcommands. Exit codes follow
// DESIGN.md §5.1: 0 ok, 1 rejected or invalid, 2 usage or environment error.
package cli
