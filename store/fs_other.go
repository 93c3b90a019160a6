//go:build !linux

package store

// checkLocalFS is only implemented on Linux, where the portal runs.
func checkLocalFS(string) error { return nil }
