package bench

import "syscall"

// childAttr makes the kernel kill the generator's child when this process
// ends, however it ends.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
