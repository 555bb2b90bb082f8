package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProgressQuietOffTerminal: a bar draws only on a terminal, so logs and pipes stay clean.
func TestProgressQuietOffTerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	defer file.Close()
	var buf bytes.Buffer
	for name, w := range map[string]io.Writer{"buffer": &buf, "regular file": file} {
		p := newProgress(w, "reading")
		require.Nil(t, p.bar, name)
		p.update("reading x", 10, 100)
		p.finish()
	}
	require.Zero(t, buf.Len())
	st, err := file.Stat()
	require.NoError(t, err)
	require.Zero(t, st.Size())
}

func TestLogFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	newLogger := logFlags(fs)
	require.NoError(t, fs.Parse([]string{"--log.format", "json", "--log.level", "warn"}))
	var buf bytes.Buffer
	logger := newLogger(&buf)
	logger.Info("hidden")
	logger.Warn("shown", "k", "v")
	require.NotContains(t, buf.String(), "hidden")
	require.Contains(t, buf.String(), `"msg":"shown"`)
	require.Contains(t, buf.String(), `"k":"v"`)
}
