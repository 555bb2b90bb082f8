//go:build !linux

package wal

import (
	"errors"
	"os"
)

// startWriteback is a Linux hint (sync_file_range); elsewhere the fsync at a segment's
// end does all the writing.
func startWriteback(*os.File, int64, int64) error {
	return errors.New("write-ahead log: no writeback hint on this system")
}
