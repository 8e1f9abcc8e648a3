//go:build unix && !linux

package action

import "syscall"

// sysProcAttr puts a command in its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
