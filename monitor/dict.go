package monitor

// Names for the values that bounded dictionaries fold into.
const (
	// OtherValue stands for every value past a dictionary's cap (categories, segments,
	// versions, classes), so that label values stay bounded.
	OtherValue = "__other__"
	// MissingValue stands for a segment feature that was absent or null.
	MissingValue = "__missing__"
)

// dict maps strings to small dense ids. Id 0 is reserved for "missing"; ids 1..max are
// the first max distinct strings seen; every later string gets otherID.
type dict struct {
	ids   map[string]uint32
	names []string // names[id]
	keys  []string // keys[id]: the id as a string, for streaming summaries
	max   int
}

func newDict(maxLen int) *dict {
	return &dict{ids: make(map[string]uint32), names: []string{""}, max: maxLen}
}

// otherID is the id every value past the cap shares.
func (d *dict) otherID() uint32 { return uint32(d.max + 1) }

// id returns s's id, adding s when there is room.
func (d *dict) id(s string) uint32 {
	if id, ok := d.ids[s]; ok {
		return id
	}
	if len(d.names)-1 >= d.max {
		return d.otherID()
	}
	id := uint32(len(d.names))
	d.ids[s] = id
	d.names = append(d.names, s)
	return id
}

// name returns the string of an id: "" for 0, OtherValue past the cap.
func (d *dict) name(id uint32) string {
	if int(id) < len(d.names) {
		return d.names[id]
	}
	return OtherValue
}

// size is the number of real (non-missing, non-other) entries.
func (d *dict) size() int { return len(d.names) - 1 }

// key returns the id as a decimal string, cached so streaming ingest does not allocate.
func (d *dict) key(id uint32) string {
	for uint32(len(d.keys)) <= id && len(d.keys) <= d.max+1 {
		d.keys = append(d.keys, idKey(uint32(len(d.keys))))
	}
	if int(id) < len(d.keys) {
		return d.keys[id]
	}
	return idKey(id)
}
