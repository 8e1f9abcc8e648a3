//go:build unix

package action

import (
	"os"
	"syscall"
)

// killGroup kills the process group led by p, so that the children of a
// command die with it.
func killGroup(p *os.Process) error {
	return syscall.Kill(-p.Pid, syscall.SIGKILL)
}
