package chaos

import (
	"os/exec"
	"syscall"
)

// dieWithTest has the kernel kill cmd when the test process dies (a test
// binary killed on its timeout runs no cleanup), so no server outlives it.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
