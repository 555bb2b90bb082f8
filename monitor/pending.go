package monitor

// pendingSet holds records waiting for their partner (a prediction for its label, or a
// label for its prediction), keyed by id, oldest first. Several records may share an id
// (a primary and a shadow prediction of the same request). Nodes live in a slab with a
// free list, so steady state does not allocate; eviction by age or capacity is O(1).
type pendingSet[T any] struct {
	max   int
	byID  map[string]int32 // first node of the chain of records with this id
	nodes []pendingNode[T]
	free  []int32
	head  int32 // oldest (-1 when empty)
	tail  int32 // newest
	n     int
}

type pendingNode[T any] struct {
	id         string
	time       int64 // event time, unix nanoseconds
	val        T
	prev, next int32 // age order
	same       int32 // next node with the same id
	first      bool  // the node byID points at: removing it needs no lookup
}

func newPendingSet[T any](maxLen int) *pendingSet[T] {
	return &pendingSet[T]{max: maxLen, byID: make(map[string]int32), head: -1, tail: -1}
}

// Len is the number of records waiting.
func (s *pendingSet[T]) Len() int { return s.n }

// add stores v under id. When the set is full the oldest record is evicted first and
// returned with evicted=true so the caller can count it.
func (s *pendingSet[T]) add(id string, t int64, v T) (old T, evicted bool) {
	if s.n >= s.max {
		old, evicted = s.nodes[s.head].val, true
		s.remove(s.head)
	}
	var i int32
	if k := len(s.free); k > 0 {
		i = s.free[k-1]
		s.free = s.free[:k-1]
	} else {
		s.nodes = append(s.nodes, pendingNode[T]{})
		i = int32(len(s.nodes) - 1)
	}
	s.nodes[i] = pendingNode[T]{id: id, time: t, val: v, prev: s.tail, next: -1, same: -1}
	if s.tail >= 0 {
		s.nodes[s.tail].next = i
	} else {
		s.head = i
	}
	s.tail = i
	if first, ok := s.byID[id]; ok {
		// Append to the end of the id's chain so records join in arrival order.
		for s.nodes[first].same >= 0 {
			first = s.nodes[first].same
		}
		s.nodes[first].same = i
	} else {
		s.byID[id] = i
		s.nodes[i].first = true
	}
	s.n++
	return old, evicted
}

// has reports whether a record is stored under id.
func (s *pendingSet[T]) has(id string) bool {
	_, ok := s.byID[id]
	return ok
}

// eachOf calls fn for every record stored under id, oldest first, keeping them; it
// reports how many there were.
func (s *pendingSet[T]) eachOf(id string, fn func(t int64, v *T)) int {
	i, ok := s.byID[id]
	if !ok {
		return 0
	}
	k := 0
	for ; i >= 0; i = s.nodes[i].same {
		fn(s.nodes[i].time, &s.nodes[i].val)
		k++
	}
	return k
}

// take removes every record stored under id and calls fn for each, oldest first.
// It reports how many were taken.
func (s *pendingSet[T]) take(id string, fn func(t int64, v *T)) int {
	i, ok := s.byID[id]
	if !ok {
		return 0
	}
	k := 0
	for i >= 0 {
		next := s.nodes[i].same
		fn(s.nodes[i].time, &s.nodes[i].val)
		s.nodes[i].same = -1
		delete(s.byID, id) // remove() must not relink the chain we are walking
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

// remove deletes node i, keeping the id chain intact.
func (s *pendingSet[T]) remove(i int32) {
	id := s.nodes[i].id
	if s.nodes[i].first {
		if nx := s.nodes[i].same; nx >= 0 {
			s.byID[id] = nx
			s.nodes[nx].first = true
		} else {
			delete(s.byID, id)
		}
	} else {
		first := s.byID[id]
		for p := first; p >= 0; p = s.nodes[p].same {
			if s.nodes[p].same == i {
				s.nodes[p].same = s.nodes[i].same
				break
			}
		}
	}
	s.unlink(i)
}

// unlink takes node i out of the age list and frees it.
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
	var zero T
	*nd = pendingNode[T]{val: zero, prev: -1, next: -1, same: -1}
	s.free = append(s.free, i)
	s.n--
}
