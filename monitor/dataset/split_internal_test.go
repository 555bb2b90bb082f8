package dataset

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireSplitLikeBytes requires splitFields to split line as bytes.Split does.
func requireSplitLikeBytes(t *testing.T, line []byte) {
	t.Helper()
	want := bytes.Split(line, []byte{','})
	got := splitFields([][]byte{[]byte("kept")}, line)
	require.Equal(t, "kept", string(got[0]), "appends to the fields given")
	require.Equal(t, len(want), len(got)-1, "%q", line)
	for i := range want {
		require.Equal(t, string(want[i]), string(got[i+1]), "field %d of %q", i, line)
	}
}

func TestSplitFields(t *testing.T) {
	for _, line := range []string{
		"",
		",",
		"a",
		"a,b",
		",,,,,,,,",
		",,,,,,,,,",
		"1234567,",
		"12345678,",
		"123456789,x",
		"3.7945,cat12,3.0007,cat15,-2.0059,cat0,22.3233,cat8,0.6377",
		"\xff\xfe,\x2c\xac,\xac\x2c,-,\x00,\x00\x00\x00\x00\x00\x00\x00\x00,",
		"a long field past eight bytes, and another one,,end",
	} {
		t.Run(line, func(t *testing.T) { requireSplitLikeBytes(t, []byte(line)) })
	}
}

// FuzzSplitFields: splitFields splits any line as bytes.Split does, at every alignment.
func FuzzSplitFields(f *testing.F) {
	for _, s := range []string{"", "a,b", "1.5,x,,2,\xff,\x2c,\xac\xac\xac\xac\xac\xac\xac\xac,z"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for k := 0; k < 8 && k <= len(line); k++ {
			requireSplitLikeBytes(t, line[k:])
		}
	})
}
