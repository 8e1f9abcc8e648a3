//go:build !unix

package action

import (
	"os"
	"syscall"
)

// sysProcAttr has nothing to set where there are no process groups.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the command's process; where there are no process
// groups, its children are not reached.
func killGroup(p *os.Process) error { return p.Kill() }
