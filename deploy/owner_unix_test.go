package deploy_test

import (
	"fmt"
	"os"
	"syscall"
)

// owner is a file's uid:gid.
func owner(fi os.FileInfo) string {
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}
