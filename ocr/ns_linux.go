package ocr

import (
	"os"
	"syscall"
)

// netnsFlags gives the process new network and user namespaces: its
// network has only a loopback device that is down.
func netnsFlags() uintptr { return syscall.CLONE_NEWNET | syscall.CLONE_NEWUSER }

// idMappings maps the portal's user and group to themselves in the new
// user namespace, so that the process has no more rights than the portal.
func idMappings() ([]syscall.SysProcIDMap, []syscall.SysProcIDMap) {
	return []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}},
		[]syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
}
