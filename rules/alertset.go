package rules

// alertSet holds a rule's alerts by model, then by place. Most models have
// no alert or a few, so a place is found by a short scan rather than by
// hashing four strings for every value of every evaluation; a model with
// many alerts gets an index.
type alertSet struct {
	byModel map[string]*modelAlerts
	n       int
}

type modelAlerts struct {
	list  []*alert
	index map[key3]*alert // once list is longer than indexAbove
}

// indexAbove is how many alerts a model has before lookups use a map.
const indexAbove = 8

func newAlertSet() alertSet { return alertSet{byModel: map[string]*modelAlerts{}} }

func placeOf(a *alert) key3 { return key3{a.Feature, a.Segment, a.Version} }

func keyOf(a *alert) key { return key{a.Model, a.Feature, a.Segment, a.Version} }

// get returns the model's alert at a place, or nil. ma may be nil.
func (ma *modelAlerts) get(p key3) *alert {
	if ma == nil {
		return nil
	}
	if ma.index != nil {
		return ma.index[p]
	}
	for _, a := range ma.list {
		if a.Feature == p.feature && a.Segment == p.segment && a.Version == p.version {
			return a
		}
	}
	return nil
}

func (s *alertSet) get(k key) *alert {
	return s.byModel[k.model].get(key3{k.feature, k.segment, k.version})
}

// put adds an alert that is not in the set yet.
func (s *alertSet) put(a *alert) {
	ma := s.byModel[a.Model]
	if ma == nil {
		ma = &modelAlerts{}
		s.byModel[a.Model] = ma
	}
	ma.list = append(ma.list, a)
	s.n++
	switch {
	case ma.index != nil:
		ma.index[placeOf(a)] = a
	case len(ma.list) > indexAbove:
		ma.index = make(map[key3]*alert, len(ma.list))
		for _, x := range ma.list {
			ma.index[placeOf(x)] = x
		}
	}
}

// del removes an alert. Removing the alert being visited by each is safe.
func (s *alertSet) del(a *alert) {
	ma := s.byModel[a.Model]
	if ma == nil {
		return
	}
	for i, x := range ma.list {
		if x == a {
			last := len(ma.list) - 1
			ma.list[i] = ma.list[last]
			ma.list[last] = nil
			ma.list = ma.list[:last]
			s.n--
			break
		}
	}
	if ma.index != nil {
		delete(ma.index, placeOf(a))
	}
	// An empty entry stays: there is at most one per model, and a pointer
	// to it held during an evaluation stays valid.
}

// each calls f for every alert; f may delete the alert it is given.
func (s *alertSet) each(f func(a *alert)) {
	for _, ma := range s.byModel {
		// Backwards, so that deleting the current alert (swapped with the
		// last, already visited) skips nothing.
		for i := len(ma.list) - 1; i >= 0; i-- {
			if i < len(ma.list) {
				f(ma.list[i])
			}
		}
	}
}
