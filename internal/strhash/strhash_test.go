package strhash

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestShort(t *testing.T) {
	for _, s := range []string{"", "a", "FR", "cat1", "cat12", "a long category name"} {
		require.Equal(t, Short(s), Short([]byte(s)), "%q: string and bytes agree", s)
	}
	// The categories a cache of 64 slots tells apart by the top 6 bits: a column's
	// typical values should mostly land in different slots.
	for _, tc := range []struct {
		name string
		vals []string
	}{
		{"numbered", func() []string {
			var v []string
			for i := range 32 {
				v = append(v, fmt.Sprint("cat", i))
			}
			return v
		}()},
		{"countries", []string{"DE", "FR", "US", "BR", "GB", "IT", "ES", "NL", "PL", "SE", "JP", "CN", "IN", "MX", "CA", "AU"}},
	} {
		slots := map[uint32]bool{}
		for _, v := range tc.vals {
			slots[Short(v)>>26] = true
		}
		require.GreaterOrEqual(t, len(slots), len(tc.vals)*2/3, tc.name)
	}
	require.NotEqual(t, Short("cat1"), Short("cat12"))
	require.NotEqual(t, Short("ab"), Short("ba"))
}
