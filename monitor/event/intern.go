package event

import "encoding/binary"

// Interning. Repeating strings (model, version, feature names, string
// feature values, classes) are kept in a bounded table, so that decoding a
// record in steady state allocates no strings. In front of the table, a
// small cache per feature position remembers the names and values seen at
// that position in earlier records: records of one model usually list the
// same features in the same order, so most lookups are one comparison.

// Intern table bounds: at most internMaxEntries strings of at most
// internMaxLen bytes each (so at most 1 MiB of string data, plus the
// table). When the table is full it is emptied, so that strings that keep
// repeating are interned again while one-off values (high-cardinality
// features) cannot fill it for good.
const (
	internMaxEntries = 16384
	internMaxLen     = 64
)

// internEntry is one interned string.
type internEntry struct {
	s string
	// stamp is the record stamp (Decoder.stamp) of the last record that
	// used s as a feature name; it finds duplicate names without a set.
	stamp uint32
}

// cached is a string with its first 8 bytes as a number, to compare short
// strings in one instruction.
type cached struct {
	s   string
	pfx uint64
	e   int32 // index in Decoder.entries, or -1
}

// prefix returns the first 8 bytes of b, little endian, zero padded.
func prefix(b []byte) uint64 {
	if cap(b) >= 8 { // read past len(b) within the buffer, then mask
		x := binary.LittleEndian.Uint64(b[:8])
		if len(b) < 8 {
			x &= 1<<(8*len(b)) - 1
		}
		return x
	}
	var x uint64
	for k := len(b) - 1; k >= 0; k-- {
		x = x<<8 | uint64(b[k])
	}
	return x
}

// matches reports whether c holds the string b, whose prefix is p.
func (c *cached) matches(b []byte, p uint64) bool {
	return c.e >= 0 && c.pfx == p && len(c.s) == len(b) && (len(b) <= 8 || c.s[8:] == string(b[8:]))
}

// posCache remembers, for one feature position, the name and recent string
// values seen there in earlier records.
type posCache struct {
	name cached
	vals [8]cached
	next uint8 // slot of vals to replace next
}

var emptyPos = func() (p posCache) {
	p.name.e = -1
	for k := range p.vals {
		p.vals[k].e = -1
	}
	return p
}()

// lookup returns the index in d.entries of the string b, adding it if
// needed, or -1 if b is too long to intern.
func (d *Decoder) lookup(b []byte) int32 {
	if len(b) > internMaxLen {
		return -1
	}
	if e, ok := d.strs[string(b)]; ok {
		return e
	}
	if len(d.entries) >= internMaxEntries {
		d.resetIntern()
	}
	e := int32(len(d.entries))
	s := string(b)
	d.entries = append(d.entries, internEntry{s: s})
	d.strs[s] = e
	return e
}

// resetIntern empties the intern table and the caches that point into it.
func (d *Decoder) resetIntern() {
	clear(d.strs)
	clear(d.entries) // drop the strings
	d.entries = d.entries[:0]
	for k := range d.pos {
		d.pos[k] = emptyPos
	}
	d.slowDup = true // stamps of this record's names are gone
}

// intern returns b as a string, shared with earlier equal strings.
func (d *Decoder) intern(b []byte) string {
	if e := d.lookup(b); e >= 0 {
		return d.entries[e].s
	}
	return string(b)
}

// growPos makes room in d.pos for feature position k.
func (d *Decoder) growPos(k int) {
	for len(d.pos) <= k {
		d.pos = append(d.pos, emptyPos)
	}
}

// featureNameMiss interns a feature name that is not in its position's
// cache pc, and caches it. It returns the name and its entry index (-1 if
// not interned).
func (d *Decoder) featureNameMiss(pc *posCache, name []byte, p uint64) (string, int32) {
	e := d.lookup(name) // may empty the caches, but pc stays valid
	if e < 0 {
		return string(name), -1
	}
	s := d.entries[e].s
	pc.name = cached{s: s, pfx: p, e: e}
	return s, e
}

// featureValueMiss interns a string value that is not in its position's
// cache pc, and caches it.
func (d *Decoder) featureValueMiss(pc *posCache, v []byte, p uint64) string {
	e := d.lookup(v)
	if e < 0 {
		return string(v)
	}
	s := d.entries[e].s
	pc.vals[pc.next&7] = cached{s: s, pfx: p, e: e}
	pc.next++
	return s
}

// nextStamp starts a new record for duplicate detection.
func (d *Decoder) nextStamp() {
	d.stamp++
	if d.stamp == 0 { // wrapped: old stamps could match again
		for k := range d.entries {
			d.entries[k].stamp = 0
		}
		d.stamp = 1
	}
	d.slowDup, d.seenBuilt = false, false
}

// dupFeatureSlow reports whether the record already has a feature named
// name, and marks it as seen, with a set of the record's names. It serves
// names that are not interned, and records during which the intern table
// was emptied; once used in a record, it serves the rest of it.
func (d *Decoder) dupFeatureSlow(name string) bool {
	if !d.seenBuilt {
		clear(d.seen)
		for k := range d.pred.Features {
			d.seen[d.pred.Features[k].Name] = struct{}{}
		}
		d.seenBuilt, d.slowDup = true, true
	}
	if _, ok := d.seen[name]; ok {
		return true
	}
	d.seen[name] = struct{}{}
	return false
}
