//go:build !linux

package bench

import "syscall"

// childAttr: no Pdeathsig here; the child ends when its stdin does.
func childAttr() *syscall.SysProcAttr { return nil }
