// Package strhash is a cheap hash of short strings for the direct-mapped caches of
// categories that the baseline reader and the profile's accumulator keep.
package strhash

// Short mixes the length and the first and last two bytes of b, which tell apart most
// categories of a column ("cat1", "cat12", "FR", "DE"). It reads no other byte, so it
// costs the same for any length; a cache must still compare the whole value. A string
// and a byte slice with the same bytes hash the same.
func Short[T ~string | ~[]byte](b T) uint32 {
	h := uint32(len(b))
	if n := len(b); n > 0 {
		h = h*0x9E3779B1 ^ uint32(b[0])
		h = h*0x9E3779B1 ^ uint32(b[n-1])
		if n > 1 {
			h = h*0x9E3779B1 ^ uint32(b[n-2])<<8 ^ uint32(b[1])<<16
		}
	}
	return h * 0x9E3779B1
}
