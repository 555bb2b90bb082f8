package rules

import "math"

// key3 is a value's place within a model.
type key3 struct {
	feature, segment, version string
}

// joiner lines up the values of an expression's signals. Each distinct
// (feature, segment, version) among them is a candidate; a signal's value
// for a candidate is the one with the same place or, failing that, one
// that is less specific (empty feature, segment or version), so a
// model-level quality.accuracy joins every feature's drift.psi. A candidate
// that some signal cannot fill is not evaluated.
type joiner struct {
	buf     [][]Value
	index   []map[key3]int
	cands   []key3
	candSet map[key3]struct{}
}

// fallbacks lists which fields to blank, most specific first: bit 0 the
// feature, bit 1 the segment, bit 2 the version.
var fallbacks = [8]uint8{0, 1, 2, 4, 3, 5, 6, 7}

func (j *joiner) resolve(i int, c key3) *Value {
	var empty uint8
	if c.feature == "" {
		empty |= 1
	}
	if c.segment == "" {
		empty |= 2
	}
	if c.version == "" {
		empty |= 4
	}
	idx := j.index[i]
	for _, mask := range fallbacks {
		if mask != 0 && mask&empty != 0 {
			continue // blanking an empty field finds nothing new
		}
		k := c
		if mask&1 != 0 {
			k.feature = ""
		}
		if mask&2 != 0 {
			k.segment = ""
		}
		if mask&4 != 0 {
			k.version = ""
		}
		if vi, ok := idx[k]; ok {
			return &j.buf[i][vi]
		}
	}
	return nil
}

// collectExpr fills rs.obs with one observation per candidate of a model,
// evaluating the expression where every signal has a judgeable value.
func (rs *ruleState) collectExpr(model string, src Source) {
	r := rs.rule
	j := &rs.join
	if j.index == nil {
		j.buf = make([][]Value, len(r.signals))
		j.index = make([]map[key3]int, len(r.signals))
		for i := range j.index {
			j.index[i] = map[key3]int{}
		}
		j.candSet = map[key3]struct{}{}
	}
	rs.valBuf = rs.valBuf[:0]
	aligned := true
	for i, s := range r.signals {
		vals := src.Values(model, string(s))
		j.buf[i] = j.buf[i][:0]
		for vi := range vals {
			if v := &vals[vi]; r.matchValue(v) {
				j.buf[i] = append(j.buf[i], *v)
			}
		}
		aligned = aligned && samePlaces(j.buf[0], j.buf[i])
	}
	if aligned {
		// The usual case: every signal reports the same places in the same
		// order, so candidates line up by position and need no maps.
		for p := range j.buf[0] {
			v := &j.buf[0][p]
			rs.judgeExpr(model, key3{v.Feature, v.Segment, v.Version}, p)
		}
		return
	}
	j.cands = j.cands[:0]
	clear(j.candSet)
	for i := range r.signals {
		clear(j.index[i])
		w := 0
		for _, v := range j.buf[i] {
			k := key3{v.Feature, v.Segment, v.Version}
			if _, dup := j.index[i][k]; dup {
				continue // the first value of a place counts
			}
			j.index[i][k] = w
			j.buf[i][w] = v
			w++
			if _, seen := j.candSet[k]; !seen {
				j.candSet[k] = struct{}{}
				j.cands = append(j.cands, k)
			}
		}
		j.buf[i] = j.buf[i][:w]
	}
	for _, c := range j.cands {
		rs.judgeExpr(model, c, -1)
	}
}

// samePlaces reports whether two value lists have the same places in the
// same order, and no place twice in a row.
func samePlaces(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Feature != b[i].Feature || a[i].Segment != b[i].Segment || a[i].Version != b[i].Version {
			return false
		}
		if i > 0 && a[i].Feature == a[i-1].Feature && a[i].Segment == a[i-1].Segment && a[i].Version == a[i-1].Version {
			return false
		}
	}
	return true
}

// judgeExpr adds the observation of candidate place c: with pos ≥ 0 every
// signal's value is at that position of its list, otherwise it is resolved.
func (rs *ruleState) judgeExpr(model string, c key3, pos int) {
	r := rs.rule
	j := &rs.join
	n := len(r.signals)
	off := len(rs.valBuf)
	judge, samples, first := true, 0, true
	for i := range r.signals {
		var v *Value
		if pos >= 0 {
			v = &j.buf[i][pos]
		} else if v = j.resolve(i, c); v == nil {
			rs.valBuf = rs.valBuf[:off]
			return // some signal cannot fill this place: not a candidate
		}
		rs.valBuf = append(rs.valBuf, v.Value)
		if math.IsNaN(v.Value) {
			judge = false
		}
		if r.windowed[i] {
			if first || v.Samples < samples {
				samples, first = v.Samples, false
			}
			if v.Samples < r.cfg.MinSamples {
				judge = false
			}
		}
	}
	o := obs{k: key{model, c.feature, c.segment, c.version}, samples: samples, valsOff: off, value: math.NaN()}
	if judge {
		copy(rs.act.vals, rs.valBuf[off:off+n])
		v, err := r.expr.eval(&rs.act)
		switch {
		case err != nil:
			o.failed = true
			if rs.err == nil {
				rs.err = err
			}
		case math.IsNaN(v):
			// A numeric expression without a value (0/0): no data.
		default:
			o.value, o.ok = v, true
		}
	}
	rs.obs = append(rs.obs, o)
}
