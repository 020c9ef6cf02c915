// Package cli implements the lienthong subcommands. Exit codes follow
// docs/contracts.md, CLI: 0 ok, 1 rejected or invalid, 2 usage or environment error.
package cli
