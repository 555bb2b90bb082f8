package monitor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vigilml/vigil/drift/sketch"
)

// snapshotFormat is the version of modelSnap written; a snapshot of a version other than
// it and snapshotFormatRaw is ignored.
//
// Format 2 writes a streaming model's full first-N reference as its summaries (StreamRef),
// without its raw feature values; format 1 wrote the raw values, and is still restored.
const snapshotFormat = 2

// snapshotFormatRaw is the previous format: every first-N reference as raw values.
const snapshotFormatRaw = 1

// restorableFormat reports whether a snapshot of format f can be restored.
func restorableFormat(f int) bool { return f == snapshotFormat || f == snapshotFormatRaw }

// modelSnap is one model's state as written to the snapshot file: the windows, the
// label-join buffers and the dictionaries that give their ids meaning. Everything
// else a model keeps is derived from these at the next evaluation, or (the anomaly
// detectors' history and the current tick's sums) starts afresh.
type modelSnap struct {
	Format      int
	Model       string
	Fingerprint string // of the model's config: a snapshot of another config is not restored
	LSN         uint64 // the newest write-ahead log record applied to this state

	Classes, Versions []string
	FeatDicts         [][]string // per declared feature; nil for numeric ones
	SegDicts          [][]string
	Mismatched        []uint64

	Window, First *predSnap
	Pairs         pairSnap
	PendPred      []pendPredSnap
	PendLabel     []pendLabelSnap
	JoinedLabels  []pendLabelSnap // with canary: labels kept for later versions' predictions
	Stream        *streamSnap
	// StreamRef is a streaming model's full first-N reference as summaries (format 2);
	// First then holds no feature columns.
	StreamRef *streamRefSnap

	Unknown     map[string]uint64
	LastEvent   time.Time
	Watched     time.Time
	Predictions uint64
	Labels      uint64
}

type predSnap struct {
	Full    bool
	Time    []int64
	Version []uint32
	Pred    []float64
	Score   []float64
	Num     [][]float64
	Cat     [][]uint32
}

type pairSnap struct {
	Time    []int64
	Version []uint32
	Seg     [][]uint32
	Y, Pred []float64
	Score   []float64
	Lag     []float64
	Probs   []float64
}

type pendPredSnap struct {
	ID      string
	Time    int64
	Version uint32
	Seg     [maxSegmentFeatures]uint32
	Pred    float64
	Score   float64
	Probs   []float64
}

type pendLabelSnap struct {
	ID   string
	Time int64
	Y    float64
}

type streamSnap struct {
	Cur   int
	Panes []paneSnap
}

type streamRefSnap struct {
	Num    [][]byte // per numeric column, sketch.Numeric's encoding
	Cat    []map[uint32]int64
	Auto   map[string]float64
	Bounds [][2]float64 // per numeric column, the out-of-range bounds
}

type paneSnap struct {
	Start      int64
	N          int
	Num, Cat   [][]byte
	Missing    []int64
	OutOfRange []int64
	PredNum    []byte
	PredCat    []byte
}

// modelFingerprint identifies a model's config and reference profile, leaving out
// labels: a snapshot restores under new labels settings as a reload keeps the state
// (sameWindows), with the pending records fitted to the new capacity.
func modelFingerprint(cfg ModelConfig, lp *loadedProfile) string {
	cfg.Labels = LabelsConfig{}
	return fingerprint(cfg, lp)
}

// fingerprintMatches reports whether a snapshot's fingerprint is that of the model's
// config: today's, or the one written before labels were left out (fingerprint of the
// whole config), with labels.max_pending as the config sets it or, for a model that
// takes a share of global.max_pending_labels, as it was by default then (100,000).
func fingerprintMatches(fp string, cfg ModelConfig, lp *loadedProfile) bool {
	if fp == modelFingerprint(cfg, lp) || fp == fingerprint(cfg, lp) {
		return true
	}
	cfg.Labels.MaxPending = DefaultMaxPendingLabels
	return fp == fingerprint(cfg, lp)
}

// fingerprint is the digest of the whole model config and of its profile.
func fingerprint(cfg ModelConfig, lp *loadedProfile) string {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("model config does not encode: %v", err)) // plain data: cannot happen
	}
	h := sha256.New()
	h.Write(b)
	if lp != nil {
		fmt.Fprintf(h, "profile:%x", lp.sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// logical copies the n entries of a ring column, oldest first.
func logical[T any](col []T, r ring) []T {
	out := make([]T, r.n)
	for i := range r.n {
		out[i] = col[r.slot(i)]
	}
	return out
}

func snapPred(w *predWindow) *predSnap {
	if w == nil {
		return nil
	}
	s := &predSnap{Full: w.full, Time: logical(w.time, w.r), Version: logical(w.version, w.r),
		Pred: logical(w.pred, w.r), Score: logical(w.score, w.r)}
	// A summarised first-N reference has dropped its feature columns: they stay nil.
	for _, c := range w.num {
		s.Num = append(s.Num, logicalOrNil(c, w.r))
	}
	for _, c := range w.cat {
		s.Cat = append(s.Cat, logicalOrNil(c, w.r))
	}
	return s
}

func logicalOrNil[T any](col []T, r ring) []T {
	if col == nil {
		return nil
	}
	return logical(col, r)
}

// restorePred restores a window; summarised says its feature columns were dropped (a
// streaming model's full first-N reference, format 2), so must be empty.
func restorePred(w *predWindow, s *predSnap, summarised bool) error {
	n := len(s.Time)
	if n > w.r.max || len(s.Version) != n || len(s.Pred) != n || len(s.Score) != n || len(s.Num) != len(w.num) || len(s.Cat) != len(w.cat) {
		return fmt.Errorf("prediction window of %d entries does not fit (max %d, %d numeric and %d categorical columns)", n, w.r.max, len(w.num), len(w.cat))
	}
	want := n
	if summarised {
		want = 0
	}
	for i := range s.Num {
		if len(s.Num[i]) != want {
			return fmt.Errorf("numeric column %d has %d entries, want %d", i, len(s.Num[i]), want)
		}
	}
	for i := range s.Cat {
		if len(s.Cat[i]) != want {
			return fmt.Errorf("categorical column %d has %d entries, want %d", i, len(s.Cat[i]), want)
		}
	}
	if summarised {
		clear(s.Num)
		clear(s.Cat)
	}
	w.r = ring{max: w.r.max, cap: n, n: n}
	w.full = s.Full
	w.time, w.version, w.pred, w.score = s.Time, s.Version, s.Pred, s.Score
	copy(w.num, s.Num)
	copy(w.cat, s.Cat)
	return nil
}

func snapPairs(w *pairWindow) pairSnap {
	s := pairSnap{Time: logical(w.time, w.r), Version: logical(w.version, w.r), Y: logical(w.y, w.r),
		Pred: logical(w.pred, w.r), Score: logical(w.score, w.r), Lag: logical(w.lag, w.r)}
	for _, c := range w.seg {
		s.Seg = append(s.Seg, logical(c, w.r))
	}
	if w.width > 0 {
		s.Probs = make([]float64, 0, w.r.n*w.width)
		for i := range w.r.n {
			slot := w.r.slot(i)
			s.Probs = append(s.Probs, w.probs[slot*w.width:(slot+1)*w.width]...)
		}
	}
	return s
}

func restorePairs(w *pairWindow, s *pairSnap) error {
	n := len(s.Time)
	ok := n <= w.r.max && len(s.Version) == n && len(s.Y) == n && len(s.Pred) == n && len(s.Score) == n &&
		len(s.Lag) == n && len(s.Seg) == len(w.seg) && len(s.Probs) == n*w.width
	for _, c := range s.Seg {
		ok = ok && len(c) == n
	}
	if !ok {
		return fmt.Errorf("pair window of %d entries does not fit (max %d)", n, w.r.max)
	}
	w.r = ring{max: w.r.max, cap: n, n: n}
	w.time, w.version, w.y, w.pred, w.score, w.lag = s.Time, s.Version, s.Y, s.Pred, s.Score, s.Lag
	copy(w.seg, s.Seg)
	if w.width > 0 {
		w.probs = s.Probs
	}
	return nil
}

func restoreDict(d *dict, names []string) error {
	for _, n := range names[min(1, len(names)):] {
		d.id(n)
	}
	if !slices.Equal(d.names, names) && len(names) > 0 {
		return fmt.Errorf("dictionary of %d names does not match the config's", len(names)-1)
	}
	return nil
}

// snapState copies the model's state. It holds the model's lock while copying.
func (m *modelState) snapState(name, fingerprint string) (*modelSnap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &modelSnap{
		Format: snapshotFormat, Model: name, Fingerprint: fingerprint, LSN: m.lsn,
		Classes: slices.Clone(m.classes.names), Versions: slices.Clone(m.versions.names),
		Window: snapPred(m.window), First: snapPred(m.first), Pairs: snapPairs(m.pairs),
		Unknown: maps.Clone(m.unknownFeatures), LastEvent: m.lastEvent, Watched: m.watchedSince, Predictions: m.predictions, Labels: m.labels,
	}
	if m.spill != nil {
		// The snapshot has the reference's columns as if they were in memory.
		s.First.Num = make([][]float64, m.spill.nNum)
		if m.spill.open() {
			cols, err := m.spill.columns()
			if err != nil {
				return nil, err
			}
			s.First.Num = cols
		}
	}
	for _, f := range m.feats {
		var names []string
		if f.dict != nil {
			names = slices.Clone(f.dict.names)
		}
		s.FeatDicts = append(s.FeatDicts, names)
		s.Mismatched = append(s.Mismatched, f.mismatched)
	}
	for _, d := range m.segDict {
		s.SegDicts = append(s.SegDicts, slices.Clone(d.names))
	}
	m.pendPred.each(func(id string, t int64, v *pendingPred) {
		s.PendPred = append(s.PendPred, pendPredSnap{ID: id, Time: t, Version: v.version, Seg: v.seg, Pred: v.pred, Score: v.score, Probs: slices.Clone(m.probs.get(v.probs))})
	})
	m.pendLabel.each(func(id string, t int64, v *pendingLabel) {
		s.PendLabel = append(s.PendLabel, pendLabelSnap{ID: id, Time: t, Y: v.y})
	})
	if m.joinedLabels != nil {
		m.joinedLabels.each(func(id string, t int64, v *pendingLabel) {
			s.JoinedLabels = append(s.JoinedLabels, pendLabelSnap{ID: id, Time: t, Y: v.y})
		})
	}
	if m.stream != nil && m.stream.ref != nil && m.first != nil { // a profile's is made from the profile
		rs, err := snapStreamRef(m.stream)
		if err != nil {
			return nil, err
		}
		s.StreamRef = rs
	}
	if m.stream != nil && m.stream.ready {
		ss := &streamSnap{Cur: m.stream.cur}
		for _, p := range m.stream.panes {
			ps := paneSnap{Start: p.start, N: p.n, Missing: slices.Clone(p.missing), OutOfRange: slices.Clone(p.outOfRange)}
			for _, k := range p.num {
				b, err := k.MarshalBinary()
				if err != nil {
					return nil, fmt.Errorf("streaming summary: %w", err)
				}
				ps.Num = append(ps.Num, b)
			}
			for col := range p.cat {
				b, err := p.cat[col].toSketch(m.stream.catDicts[col]).MarshalBinary()
				if err != nil {
					return nil, fmt.Errorf("streaming summary: %w", err)
				}
				ps.Cat = append(ps.Cat, b)
			}
			var err error
			if p.predNum != nil {
				ps.PredNum, err = p.predNum.MarshalBinary()
			} else if p.predCat != nil {
				ps.PredCat, err = p.predCat.MarshalBinary()
			}
			if err != nil {
				return nil, fmt.Errorf("streaming summary: %w", err)
			}
			ss.Panes = append(ss.Panes, ps)
		}
		s.Stream = ss
	}
	return s, nil
}

// restoreState replaces a fresh model state (from newModelState with the same config) by s.
func (m *modelState) restoreState(s *modelSnap) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(s.FeatDicts) != len(m.feats) || len(s.SegDicts) != len(m.segDict) || len(s.Mismatched) != len(m.feats) {
		return fmt.Errorf("snapshot has %d features and %d segments, the config %d and %d", len(s.FeatDicts), len(s.SegDicts), len(m.feats), len(m.segDict))
	}
	if err := restoreDict(m.classes, s.Classes); err != nil {
		return fmt.Errorf("classes: %w", err)
	}
	if err := restoreDict(m.versions, s.Versions); err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	for i := range m.feats {
		f := &m.feats[i]
		f.mismatched = s.Mismatched[i]
		if f.dict != nil {
			if err := restoreDict(f.dict, s.FeatDicts[i]); err != nil {
				return fmt.Errorf("feature %q: %w", f.name, err)
			}
		}
	}
	for i, d := range m.segDict {
		if err := restoreDict(d, s.SegDicts[i]); err != nil {
			return fmt.Errorf("segment %d: %w", i, err)
		}
	}
	if s.StreamRef != nil && (m.stream == nil || m.first == nil || m.profile != nil) {
		return fmt.Errorf("the snapshot's summarised first-N reference does not match the config")
	}
	if err := restorePred(m.window, s.Window, false); err != nil {
		return fmt.Errorf("current window: %w", err)
	}
	if (m.first == nil) != (s.First == nil) {
		return fmt.Errorf("the snapshot's first-N reference does not match the config")
	}
	if m.first != nil {
		var spilled [][]float64
		if m.spill != nil {
			spilled, s.First.Num = s.First.Num, nil
		}
		if err := restorePred(m.first, s.First, s.StreamRef != nil); err != nil {
			return fmt.Errorf("reference window: %w", err)
		}
		if m.spill != nil {
			if err := m.restoreSpill(spilled, len(s.First.Time), s.StreamRef != nil); err != nil {
				return fmt.Errorf("reference window: %w", err)
			}
		}
	}
	if s.StreamRef != nil {
		if err := m.restoreStreamRef(s.StreamRef); err != nil {
			return fmt.Errorf("summarised reference: %w", err)
		}
	}
	if err := restorePairs(m.pairs, &s.Pairs); err != nil {
		return err
	}
	for _, p := range s.PendPred {
		pp := pendingPred{version: p.Version, seg: p.Seg, pred: p.Pred, score: p.Score}
		if len(p.Probs) > 0 && m.probs.width > 0 {
			pp.probs = m.probs.put(p.Probs)
		}
		m.pendPred.add(p.ID, p.Time, pp) // what it evicts goes to releaseProbs
	}
	for _, l := range s.PendLabel {
		m.pendLabel.add(l.ID, l.Time, pendingLabel{y: l.Y})
	}
	if m.joinedLabels != nil {
		for _, l := range s.JoinedLabels {
			m.joinedLabels.add(l.ID, l.Time, pendingLabel{y: l.Y})
		}
	}
	if s.Stream != nil {
		if err := m.restoreStream(s.Stream); err != nil {
			return fmt.Errorf("streaming window: %w", err)
		}
	}
	m.unknownFeatures = s.Unknown
	if m.unknownFeatures == nil {
		m.unknownFeatures = map[string]uint64{}
	}
	m.lastEvent, m.predictions, m.labels, m.lsn = s.LastEvent, s.Predictions, s.Labels, s.LSN
	if !s.Watched.IsZero() {
		m.watchedSince = s.Watched
	}
	return nil
}

func snapStreamRef(w *streamWindow) (*streamRefSnap, error) {
	rs := &streamRefSnap{Cat: w.ref.cat, Auto: w.ref.auto, Bounds: slices.Clone(w.bounds)}
	for _, k := range w.ref.num {
		b, err := k.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("summarised reference: %w", err)
		}
		rs.Num = append(rs.Num, b)
	}
	return rs, nil
}

// restoreStreamRef starts the streaming window from a summarised first-N reference (format
// 2), as startStreamFromFirst started it from the raw values: the panes take the options of
// the reference's summaries, which are those the panes had.
func (m *modelState) restoreStreamRef(s *streamRefSnap) error {
	w := m.stream
	var nNum, nCat int
	for _, f := range m.feats {
		if f.typ == Numeric {
			nNum++
		} else {
			nCat++
		}
	}
	if !m.first.frozen() || len(s.Num) != nNum || len(s.Bounds) != nNum || len(s.Cat) != nCat {
		return fmt.Errorf("%d numeric and %d categorical summaries of a full reference, want %d and %d", len(s.Num), len(s.Cat), nNum, nCat)
	}
	ref := &streamRef{cat: s.Cat, auto: s.Auto}
	if ref.auto == nil {
		ref.auto = map[string]float64{}
	}
	for i := range ref.cat {
		if ref.cat[i] == nil {
			ref.cat[i] = map[uint32]int64{}
		}
	}
	w.numOpts = make([]sketch.NumericOptions, nNum)
	for col, b := range s.Num {
		var k sketch.Numeric
		if err := k.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("numeric column %d: %w", col, err)
		}
		ref.num = append(ref.num, &k)
		w.numOpts[col] = k.Options()
	}
	w.bounds = slices.Clone(s.Bounds)
	m.openStream(m.predReference(), m.predNumeric())
	w.ref = ref
	return nil
}

func (m *modelState) restoreStream(s *streamSnap) error {
	w := m.stream
	if w == nil {
		return fmt.Errorf("the config has no streaming window")
	}
	if !w.ready {
		if m.first == nil || !m.first.frozen() {
			return fmt.Errorf("no reference to start from")
		}
		m.startStreamFromFirst()
		if !w.ready {
			return fmt.Errorf("the first-N reference is lost")
		}
	}
	if len(s.Panes) != len(w.panes) || s.Cur < 0 || s.Cur >= len(w.panes) {
		return fmt.Errorf("%d panes, want %d", len(s.Panes), len(w.panes))
	}
	for i, ps := range s.Panes {
		p := w.panes[i]
		if len(ps.Num) != len(p.num) || len(ps.Cat) != len(p.cat) || len(ps.Missing) != len(p.missing) || len(ps.OutOfRange) != len(p.outOfRange) {
			return fmt.Errorf("pane %d does not match the config's features", i)
		}
		p.start, p.n = ps.Start, ps.N
		copy(p.missing, ps.Missing)
		copy(p.outOfRange, ps.OutOfRange)
		for j, b := range ps.Num {
			if err := p.num[j].UnmarshalBinary(b); err != nil {
				return err
			}
		}
		for j, b := range ps.Cat {
			var c sketch.Categorical
			if err := c.UnmarshalBinary(b); err != nil {
				return err
			}
			if err := p.cat[j].fromSketch(&c); err != nil {
				return err
			}
		}
		if p.predNum != nil {
			if err := p.predNum.UnmarshalBinary(ps.PredNum); err != nil {
				return err
			}
		} else if p.predCat != nil {
			if err := p.predCat.UnmarshalBinary(ps.PredCat); err != nil {
				return err
			}
		}
	}
	w.cur = s.Cur
	return nil
}
