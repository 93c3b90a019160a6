package store

import (
	"fmt"
	"syscall"
)

// Filesystem magic numbers from statfs(2) on which WAL is unsafe: "WAL does
// not work over a network filesystem" (https://www.sqlite.org/wal.html).
var networkFS = map[int64]string{
	0x6969:     "NFS",
	0x517b:     "SMB",
	0xff534d42: "CIFS",
	0xfe534d42: "SMB2",
	0x5346414f: "AFS",
}

// checkLocalFS refuses a directory on a network filesystem.
func checkLocalFS(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("store: statfs %s: %w", dir, err)
	}
	if name, ok := networkFS[int64(st.Type)]; ok {
		return fmt.Errorf("store: %s is on %s; SQLite in WAL mode needs a local filesystem", dir, name)
	}
	return nil
}
