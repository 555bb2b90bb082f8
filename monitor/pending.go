package monitor

import (
	"hash/maphash"
	"math"
	"math/bits"
)

// pendingSet holds records waiting for their partner (a prediction for its label, or a
// label for its prediction), keyed by id, oldest first. Several records may share an id
// (a primary and a shadow prediction of the same request): they form a chain in arrival
// order. Eviction by age or capacity is O(1).
//
// Nothing in steady state allocates, and an id is never kept as the caller's string: its
// bytes are copied into ids, a byte arena the set owns, so callers may pass ids that
// alias a request body they reuse (the decoder's borrowed ids). Records live in a slab
// of nodes with a free list; an open-addressing table over a seeded hash of the id finds
// the first record of an id, and a lookup compares the stored bytes.
//
// The arena is filled in arrival order, which is also the order of the age list, so the
// ids of removed records are reclaimed by compacting in place: one walk of the age list
// moves every live id down, or, when every removed id was older than every waiting one
// (records evicted oldest first), one copy of the waiting ids, their nodes untouched
// (see idBase). It compacts when at least a quarter of it is garbage and
// grows by half otherwise, so it holds at most twice the most id bytes ever waiting at
// once, plus one id, whatever the churn. The slab of nodes grows up to max nodes.
type pendingSet[T any] struct {
	max        int
	nodes      []pendingNode[T]
	free       int32 // first free node, linked through next (-1: none)
	head, tail int32 // oldest and newest record (-1 when empty)
	n          int

	// slots is the index: linear probing, power-of-two length, at most half full. A slot
	// holds 1 + the node index of the first record of an id in its low idxBits bits (0
	// when empty), and above them a tag, so that probing reads no node:
	//
	//	fp<<(distBits+idxBits) | dist<<idxBits | (idx+1)
	//
	// dist is the entry's distance from its home slot, saturated at distMax: a
	// saturated entry's home is found from its node's hash. fp is the top fpBits of
	// the node's 32-bit hash, bits the home slot does not use (the index is at most
	// 4*max long, so its mask and fp share no bits). A lookup reads a node only when
	// both match. With a huge max there are no tag bits: dist is always saturated (0)
	// and fp always 0, and the index reads nodes as it did without tags.
	slots    []uint32
	heads    int    // occupied slots: distinct ids waiting
	idxBits  uint8  // bits.Len(max): 1 + a node index fits
	distBits uint8  // width of dist, at most pendingDistBits
	fpBits   uint8  // width of fp: 32 - idxBits - distBits
	idxMask  uint32 // 1<<idxBits - 1
	distMax  uint32 // 1<<distBits - 1: dist of an entry this far or farther from home

	ids    []byte // the ids of the records, in age order; garbage between them
	idLive int    // bytes of ids that belong to records
	// idBase is the offset of ids[0] in the arena's offsets: a node's id is at
	// ids[off-idBase:]. When the garbage is all in front of the oldest id (records leave
	// oldest first: evicted at capacity or expired), the ids slide down to the start and
	// idBase grows by as much, so that no node's offset is rewritten.
	idBase uint32
	maxIDs int // most bytes ids may take (node offsets are 32-bit); smaller in tests

	hash func(id string) uint64 // seeded per set; tests swap in colliding ones

	// onDrop, when set, is called with every record the set drops unjoined to make
	// room (add, setMax) and with a record add cannot store, so that what a record
	// refers to outside the set can be given back; expire and take have callbacks of
	// their own.
	onDrop func(v *T)
}

// pendingNode is one waiting record: 32 bytes besides its value.
type pendingNode[T any] struct {
	time  int64 // event time, unix nanoseconds
	val   T
	hash  uint32 // the id's hash: its home slot, and a filter before comparing bytes
	off   uint32 // the id is ids[off-idBase : off-idBase+idLen]
	idLen uint32
	prev  int32 // age order; free nodes link through next
	next  int32
	same  int32 // next record with the same id
}

// pendingDistBits is the widest dist field of a slot's tag: distances up to 14 are
// exact, which at most half full nearly every entry's is.
const pendingDistBits = 4

// maxPendingIDBytes is the most bytes of ids one pending set holds: node offsets are
// 32-bit. Reaching it evicts the oldest records, as reaching the set's capacity does.
const maxPendingIDBytes = min(math.MaxUint32, math.MaxInt)

// minPendingIDBytes is the arena's first capacity.
const minPendingIDBytes = 256

func newPendingSet[T any](maxLen int) *pendingSet[T] {
	seed := maphash.MakeSeed()
	s := &pendingSet[T]{
		max: maxLen, free: -1, head: -1, tail: -1, maxIDs: maxPendingIDBytes,
		hash: func(id string) uint64 { return maphash.String(seed, id) },
	}
	s.setSlotBits()
	return s
}

// setSlotBits sets the layout of a slot for the set's max.
func (s *pendingSet[T]) setSlotBits() {
	s.idxBits = uint8(min(bits.Len(uint(max(s.max, 1))), 32))
	tag := 32 - s.idxBits
	s.distBits = min(tag, pendingDistBits)
	s.fpBits = tag - s.distBits
	s.idxMask = uint32(uint64(1)<<s.idxBits - 1)
	s.distMax = 1<<s.distBits - 1
}

// slotTag is the tag of an entry whose node's hash is h, dist slots from its home,
// shifted into place above the node index.
func (s *pendingSet[T]) slotTag(h uint32, dist uint32) uint32 {
	return ((h>>(32-s.fpBits))<<s.distBits | min(dist, s.distMax)) << s.idxBits
}

// reencodeSlots rewrites every slot's tag and index in the current layout, after
// setMax changed it; oldMask is the index mask of the old one. Entries keep their slots.
func (s *pendingSet[T]) reencodeSlots(oldMask uint32) {
	mask := uint32(len(s.slots) - 1)
	for j, v := range s.slots {
		if v == 0 {
			continue
		}
		idx := v & oldMask
		h := s.nodes[idx-1].hash
		s.slots[j] = s.slotTag(h, (uint32(j)-h)&mask) | idx
	}
}

// setMax changes the set's capacity and returns how many records, the oldest, it
// evicted to fit (each handed to onDrop). A set that shrinks is rebuilt at its new
// size, so the memory of the larger one is given back.
func (s *pendingSet[T]) setMax(maxLen int) int {
	if maxLen >= s.max {
		oldMask := s.idxMask
		s.max = maxLen
		s.setSlotBits()
		if s.idxMask != oldMask {
			s.reencodeSlots(oldMask)
		}
		return 0
	}
	k := 0
	for s.n > maxLen {
		if s.onDrop != nil {
			s.onDrop(&s.nodes[s.head].val)
		}
		s.remove(s.head)
		k++
	}
	small := &pendingSet[T]{max: maxLen, free: -1, head: -1, tail: -1, maxIDs: s.maxIDs, hash: s.hash, onDrop: s.onDrop}
	small.setSlotBits()
	for i := s.head; i >= 0; i = s.nodes[i].next {
		nd := &s.nodes[i]
		small.add(string(s.idOf(i)), nd.time, nd.val)
	}
	*s = *small
	return k
}

// Len is the number of records waiting.
func (s *pendingSet[T]) Len() int { return s.n }

// add stores v under id, after the records already there. When the set is full the
// oldest record is evicted first and returned with evicted=true so the caller can count
// it. The set copies id; the caller may reuse its bytes.
//
// An id longer than the arena may grow (4 GiB) is not stored: add returns v itself as
// evicted. When ids fill the arena, older records are evicted until the new id fits,
// and only the first is returned.
func (s *pendingSet[T]) add(id string, t int64, v T) (old T, evicted bool) {
	if len(id) > s.maxIDs {
		if s.onDrop != nil {
			w := v // not &v: that would move every add's v to the heap
			s.onDrop(&w)
		}
		return v, true
	}
	for s.n > 0 && (s.n >= s.max || s.idLive+len(id) > s.maxIDs) {
		if !evicted {
			old, evicted = s.nodes[s.head].val, true
		}
		if s.onDrop != nil {
			s.onDrop(&s.nodes[s.head].val)
		}
		s.remove(s.head)
	}
	i := s.newNode()
	h := s.hash(id)
	nd := &s.nodes[i]
	*nd = pendingNode[T]{time: t, val: v, hash: uint32(h), off: s.reserve(len(id)), idLen: uint32(len(id)), prev: s.tail, next: -1, same: -1}
	copy(s.ids[nd.off-s.idBase:], id)
	s.idLive += len(id)
	if s.tail >= 0 {
		s.nodes[s.tail].next = i
	} else {
		s.head = i
	}
	s.tail = i
	s.n++

	if slot, ok := s.lookup(id, h); ok {
		// Append to the end of the id's chain so records join in arrival order.
		last := int32(s.slots[slot]&s.idxMask) - 1
		for s.nodes[last].same >= 0 {
			last = s.nodes[last].same
		}
		s.nodes[last].same = i
		return old, evicted
	}
	if 2*(s.heads+1) > len(s.slots) {
		s.growSlots()
	}
	s.insertSlot(uint32(h), uint32(i)+1)
	s.heads++
	return old, evicted
}

// newNode takes a node from the free list, or appends one.
func (s *pendingSet[T]) newNode() int32 {
	if i := s.free; i >= 0 {
		s.free = s.nodes[i].next
		return i
	}
	if len(s.nodes) == cap(s.nodes) {
		// Double, but never past max: a full set holds exactly max nodes.
		c := max(min(2*cap(s.nodes), s.max), len(s.nodes)+1, min(16, s.max))
		s.nodes = append(make([]pendingNode[T], 0, c), s.nodes...)
	}
	s.nodes = append(s.nodes, pendingNode[T]{})
	return int32(len(s.nodes) - 1)
}

// reserve returns the offset of l bytes at the end of the arena, compacting or growing
// it first when they do not fit. The caller made sure idLive+l <= maxIDs.
func (s *pendingSet[T]) reserve(l int) uint32 {
	end := len(s.ids)
	if end+l > cap(s.ids) {
		c := cap(s.ids)
		front := 0 // bytes before the oldest id
		if s.head >= 0 {
			front = int(s.nodes[s.head].off - s.idBase)
		}
		switch {
		case s.idLive+l > c || 4*(end-s.idLive) < c:
			s.relayout(min(max(c+c/2, s.idLive+l, minPendingIDBytes), s.maxIDs))
		case end-front == s.idLive:
			// All the garbage is in front: one copy, and no node to visit. This is
			// the common case (a full set evicting its oldest), and the walk of
			// relayout over every node took half a millisecond at 100,000.
			s.ids = s.ids[:copy(s.ids, s.ids[front:end])]
			s.idBase += uint32(front)
		default:
			s.relayout(c)
		}
		end = len(s.ids)
	}
	s.ids = s.ids[:end+l]
	return uint32(end) + s.idBase
}

// relayout packs the live ids, oldest first, at the start of an arena of capacity c:
// the same one when c is its capacity (each id moves down or stays, since the arena is
// in age order), else a new one.
func (s *pendingSet[T]) relayout(c int) {
	dst := s.ids[:0]
	if c != cap(s.ids) {
		dst = make([]byte, 0, c)
	}
	for i := s.head; i >= 0; i = s.nodes[i].next {
		nd := &s.nodes[i]
		w := len(dst)
		from := nd.off - s.idBase
		dst = append(dst, s.ids[from:from+nd.idLen]...)
		nd.off = uint32(w)
	}
	s.ids, s.idBase = dst, 0
}

// insertSlot puts idx1 (1 + a node index), whose node's hash is h, in the first empty
// slot from its home.
func (s *pendingSet[T]) insertSlot(h uint32, idx1 uint32) {
	mask := uint32(len(s.slots) - 1)
	slot := h & mask
	for s.slots[slot] != 0 {
		slot = (slot + 1) & mask
	}
	s.slots[slot] = s.slotTag(h, (slot-h)&mask) | idx1
}

// growSlots doubles the index and rehashes it from the stored hashes.
func (s *pendingSet[T]) growSlots() {
	old := s.slots
	s.slots = make([]uint32, max(2*len(old), 16))
	for _, v := range old {
		if v == 0 {
			continue
		}
		idx1 := v & s.idxMask
		s.insertSlot(s.nodes[idx1-1].hash, idx1)
	}
}

// idOf returns the stored id of node i; it aliases the arena.
func (s *pendingSet[T]) idOf(i int32) []byte {
	nd := &s.nodes[i]
	from := nd.off - s.idBase
	return s.ids[from : from+nd.idLen]
}

// lookup finds the slot of id, whose hash is h. Without it, it reports false.
func (s *pendingSet[T]) lookup(id string, h uint64) (slot int, ok bool) {
	if s.heads == 0 {
		return 0, false
	}
	h32 := uint32(h)
	mask := uint32(len(s.slots) - 1)
	for j, dist := h32&mask, uint32(0); ; j, dist = (j+1)&mask, dist+1 {
		v := s.slots[j]
		if v == 0 {
			return 0, false
		}
		if v&^s.idxMask != s.slotTag(h32, dist) {
			continue // another home, or another fingerprint
		}
		i := int32(v&s.idxMask) - 1
		if nd := &s.nodes[i]; nd.hash == h32 && int(nd.idLen) == len(id) && string(s.idOf(i)) == id {
			return int(j), true
		}
	}
}

// headSlot finds the slot of the id of node i, and the first node of its chain.
func (s *pendingSet[T]) headSlot(i int32) (slot int, first int32) {
	h := s.nodes[i].hash
	mask := uint32(len(s.slots) - 1)
	for j, dist := h&mask, uint32(0); ; j, dist = (j+1)&mask, dist+1 {
		v := s.slots[j]
		first = int32(v&s.idxMask) - 1
		if first == i {
			return int(j), first
		}
		if v == 0 || v&^s.idxMask != s.slotTag(h, dist) {
			continue
		}
		if s.nodes[first].hash == h && string(s.idOf(first)) == string(s.idOf(i)) {
			return int(j), first
		}
	}
}

// deleteSlot empties slot i, moving later entries of its probe run back so that every
// entry stays reachable from its home slot (backward-shift deletion).
func (s *pendingSet[T]) deleteSlot(i int) {
	mask := len(s.slots) - 1
	distAt := s.distMax << s.idxBits // the dist field of a slot
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		v := s.slots[j]
		dist := (v & distAt) >> s.idxBits
		if dist == s.distMax { // saturated: its home is in its node
			dist = (uint32(j) - s.nodes[v&s.idxMask-1].hash) & uint32(mask)
		}
		if gap := uint32(j-i) & uint32(mask); dist >= gap { // i lies between home and j: move j to i
			s.slots[i] = v&^distAt | min(dist-gap, s.distMax)<<s.idxBits
			i = j
		}
	}
	s.slots[i] = 0
	s.heads--
}

// has reports whether a record is stored under id.
func (s *pendingSet[T]) has(id string) bool {
	_, ok := s.lookup(id, s.hash(id))
	return ok
}

// eachOf calls fn for every record stored under id, oldest first, keeping them; it
// reports how many there were.
func (s *pendingSet[T]) eachOf(id string, fn func(t int64, v *T)) int {
	slot, ok := s.lookup(id, s.hash(id))
	if !ok {
		return 0
	}
	k := 0
	for i := int32(s.slots[slot]&s.idxMask) - 1; i >= 0; i = s.nodes[i].same {
		fn(s.nodes[i].time, &s.nodes[i].val)
		k++
	}
	return k
}

// take removes every record stored under id and calls fn for each, oldest first.
// It reports how many were taken.
func (s *pendingSet[T]) take(id string, fn func(t int64, v *T)) int {
	slot, ok := s.lookup(id, s.hash(id))
	if !ok {
		return 0
	}
	i := int32(s.slots[slot]&s.idxMask) - 1
	s.deleteSlot(slot)
	k := 0
	for i >= 0 {
		next := s.nodes[i].same
		fn(s.nodes[i].time, &s.nodes[i].val)
		s.unlink(i)
		i = next
		k++
	}
	return k
}

// expire removes records older than cutoff (event time) from the front and calls fn for each.
// Records arrive roughly in event-time order; one that is out of order waits until the
// records before it expire, which bounds the error by the arrival disorder.
func (s *pendingSet[T]) expire(cutoff int64, fn func(v *T)) int {
	k := 0
	for s.head >= 0 && s.nodes[s.head].time < cutoff {
		fn(&s.nodes[s.head].val)
		s.remove(s.head)
		k++
	}
	return k
}

// each calls fn for every record, oldest first. id is a copy the caller may keep.
func (s *pendingSet[T]) each(fn func(id string, t int64, v *T)) {
	for i := s.head; i >= 0; i = s.nodes[i].next {
		fn(string(s.idOf(i)), s.nodes[i].time, &s.nodes[i].val)
	}
}

// remove deletes node i, keeping its id's chain intact.
func (s *pendingSet[T]) remove(i int32) {
	slot, first := s.headSlot(i)
	switch nx := s.nodes[i].same; {
	case first != i:
		for p := first; p >= 0; p = s.nodes[p].same {
			if s.nodes[p].same == i {
				s.nodes[p].same = nx
				break
			}
		}
	case nx >= 0:
		s.slots[slot] = s.slots[slot]&^s.idxMask | uint32(nx+1)
	default:
		s.deleteSlot(slot)
	}
	s.unlink(i)
}

// unlink takes node i out of the age list and frees it and its id's bytes.
func (s *pendingSet[T]) unlink(i int32) {
	nd := &s.nodes[i]
	if nd.prev >= 0 {
		s.nodes[nd.prev].next = nd.next
	} else {
		s.head = nd.next
	}
	if nd.next >= 0 {
		s.nodes[nd.next].prev = nd.prev
	} else {
		s.tail = nd.prev
	}
	s.idLive -= int(nd.idLen)
	*nd = pendingNode[T]{prev: -1, next: s.free, same: -1}
	s.free = i
	s.n--
	if s.n == 0 {
		s.ids = s.ids[:0] // nothing to keep: the arena starts over
	}
}
