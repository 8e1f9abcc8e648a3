package action

import "syscall"

// sysProcAttr puts a command in its own process group, and has the kernel
// kill it if hookgate dies (kill -9 included), so that an interrupted
// action does not go on running unseen.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
