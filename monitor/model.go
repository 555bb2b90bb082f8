package monitor

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/vigilml/vigil/monitor/event"
)

// maxSegmentFeatures bounds how many features one model may segment by, so that a pending
// prediction carries its segment values without allocating.
const maxSegmentFeatures = 4

// maxCategories bounds each categorical feature's dictionary; later categories fold into
// OtherValue (they still count, under that name).
const maxCategories = 10000

// maxUnknownFeatureNames bounds how many distinct undeclared feature names a model tracks.
const maxUnknownFeatureNames = 100

// rejection is a record the engine refused, with its metric reason.
type rejection struct {
	reason event.Reason
	err    error
}

func (r *rejection) Error() string { return r.err.Error() }
func (r *rejection) Unwrap() error { return r.err }

func reject(reason event.Reason, format string, args ...any) *rejection {
	return &rejection{reason: reason, err: fmt.Errorf(format, args...)}
}

// featureSlot locates a declared feature's column.
type featureSlot struct {
	name string
	typ  FeatureType
	col  int   // index into predWindow.num or predWindow.cat
	dict *dict // categorical values (nil for numeric)
	// mismatched counts values of the wrong type since start
	mismatched uint64
}

// modelState is everything vigil keeps for one model. All fields after mu are guarded by it.
type modelState struct {
	cfg     ModelConfig
	metrics *modelMetrics
	profile *loadedProfile // the reference, when it is a profile
	// profileCounts are the profile's category counts by the ids the windows store,
	// mapped once at creation so evaluation never touches the ingest-owned dictionaries.
	profileCounts map[string]map[uint32]int64
	// eval is what evaluations keep between ticks; the evaluation loop owns it, not mu.
	eval evalState

	mu      sync.Mutex
	feats   []featureSlot
	featIdx map[string]int
	// featPos is, for each position in a prediction's features, the index found there
	// last time: clients send their features in a fixed order, so one string comparison
	// usually replaces a map lookup.
	featPos  []int32
	segFeat  []int   // feature index of each segment feature
	segDict  []*dict // segment values of each segment feature
	classes  *dict
	versions *dict

	window *predWindow // predictions (primary role); current, plus previous when reference=previous
	first  *predWindow // the frozen first-N reference, when reference=first
	pairs  *pairWindow // joined prediction-label pairs
	// spill holds a streaming model's filling first-N reference's numeric values on disk
	// (first then has no numeric columns), and is closed once the reference is summarised;
	// nil when they are in first.
	spill *refSpill

	pendPred  *pendingSet[pendingPred]
	probs     probSlab  // class probabilities of the waiting multiclass predictions
	probBuf   []float64 // scratch: the class probabilities of the prediction being applied
	pendLabel *pendingSet[pendingLabel]
	labelTTL  time.Duration // labels.ttl, which a reload changes in place (setLabels)
	canary    *canaryState  // nil without canary: in the config
	// joinedLabels keeps, with canary: set, the labels already joined with a prediction,
	// until labels.ttl: a shadow or canary prediction of the same request that comes later
	// joins them too. Not counted as pending; their expiry loses nothing.
	joinedLabels *pendingSet[pendingLabel]

	unknownFeatures map[string]uint64
	stream          *streamWindow   // the current window in streaming mode, else nil
	seen            []bool          // scratch: features present in the prediction being applied
	tick            tickAccumulator // predictions since the last evaluation tick
	lastEvent       time.Time       // arrival time of the newest event
	watchedSince    time.Time       // when vigil began to watch the model
	predictions     uint64
	labels          uint64

	// log records every applied event, under mu so that the log's order is the order
	// events were applied in; nil while replaying the log and when it is off.
	log    eventLog
	lsn    uint64 // the log's number of the newest event applied
	logBuf []byte // scratch for the record being logged
}

// eventLog is the write-ahead log as the model states use it.
type eventLog interface {
	Append(record []byte) (lsn uint64)
}

// pendingPred is what a prediction must keep until its label arrives: 40 bytes and no
// pointer, so the pending set's nodes are never scanned by the garbage collector.
type pendingPred struct {
	pred    float64
	score   float64
	version uint32
	seg     [maxSegmentFeatures]uint32
	probs   int32 // multiclass: the row of its class probabilities in modelState.probs; 0 none
}

// pendingLabel is a label that arrived before its prediction.
type pendingLabel struct {
	y float64
}

func newModelState(cfg ModelConfig, mm *modelMetrics, lp *loadedProfile) *modelState {
	m := &modelState{
		cfg:             cfg,
		metrics:         mm,
		profile:         lp,
		featIdx:         make(map[string]int, len(cfg.Features)),
		classes:         newDict(cfg.MaxClasses),
		versions:        newDict(cfg.MaxVersions),
		unknownFeatures: make(map[string]uint64),
		tick:            tickAccumulator{rng: rand.New(rand.NewPCG(1, 2))},
	}
	var nNum, nCat int
	for i, f := range cfg.Features {
		s := featureSlot{name: f.Name, typ: f.Type}
		if f.Type == Numeric {
			s.col = nNum
			nNum++
		} else {
			s.col = nCat
			nCat++
			s.dict = newDict(maxCategories)
			if lp != nil {
				// The profile's categories get ids first, in a fixed order.
				if pf := lp.p.Feature(f.Name); pf != nil {
					for _, c := range slices.Sorted(maps.Keys(pf.Categories)) {
						s.dict.id(c)
					}
				}
			}
		}
		m.feats = append(m.feats, s)
		m.featIdx[f.Name] = i
		m.featPos = append(m.featPos, int32(i))
	}
	for _, name := range cfg.Segments {
		m.segFeat = append(m.segFeat, m.featIdx[name])
		m.segDict = append(m.segDict, newDict(cfg.MaxSegments))
	}
	for _, c := range cfg.Classes {
		m.classes.id(string(c))
	}
	if cfg.Task == BinaryClassification {
		// Keep the positive class at a fixed id so binary pairs need no lookup.
		m.classes.id(string(cfg.PositiveClass))
	}

	w := cfg.Window
	capacity := w.Size
	if w.Duration > 0 {
		capacity = w.MaxSamples
	}
	if cfg.Reference.Window == "previous" {
		capacity *= 2
	}
	if w.Mode == ModeStreaming {
		// The window keeps each prediction's time and output, not its features.
		m.window = newPredWindow(capacity, 0, 0)
		m.stream = newStreamWindow(cfg, len(m.feats))
		m.seen = make([]bool, len(m.feats))
	} else {
		m.window = newPredWindow(capacity, nNum, nCat)
	}
	if cfg.Reference.Window == "first" && lp == nil {
		m.first = newPredWindow(cfg.Reference.Size, nNum, nCat)
	}
	pairCap := w.Size
	if w.Duration > 0 {
		pairCap = w.MaxSamples
	}
	probs := 0
	if cfg.Task == MulticlassClassification {
		probs = cfg.MaxClasses + 1
	}
	m.pairs = newPairWindow(pairCap, len(m.segFeat), probs)
	m.probs.width = probs
	if lp != nil {
		m.mapProfileCategories(lp)
	}
	if m.stream != nil && lp != nil {
		m.startStreamFromProfile(lp)
	}
	m.labelTTL = time.Duration(cfg.Labels.TTL)
	maxPending := cfg.Labels.MaxPending
	if maxPending <= 0 { // a config not made by Load, which resolves the share
		maxPending = DefaultMaxPendingLabels
	}
	m.pendPred = newPendingSet[pendingPred](maxPending)
	m.pendPred.onDrop = m.releaseProbs
	m.pendLabel = newPendingSet[pendingLabel](maxPending)
	if cfg.Canary != nil {
		m.canary = newCanaryState(&cfg)
		m.joinedLabels = newPendingSet[pendingLabel](maxPending)
	}
	return m
}

// classOf maps a prediction or label value to the number stored in the windows: the class
// id for classification (for binary, 1 positive and 0 negative), the value for regression.
func (m *modelState) classOf(v event.Value, field string) (float64, *rejection) {
	switch m.cfg.Task {
	case Regression:
		if v.Kind != event.Number {
			return 0, reject(event.ReasonInvalidValue, "%s: a regression model's %s must be a number, got %s", field, field, v.Kind)
		}
		return v.Num, nil
	case BinaryClassification:
		if v.Class() == string(m.cfg.PositiveClass) {
			return 1, nil
		}
		return 0, nil
	default:
		return float64(m.classes.id(v.Class())), nil
	}
}

// addPrediction applies one decoded prediction. The caller holds no lock.
func (m *modelState) addPrediction(p *event.Prediction, arrival time.Time) (rej *rejection) {
	if m.cfg.Task == MulticlassClassification && p.HasScore {
		return reject(event.ReasonInvalidValue, "score: a multiclass model takes per-class probabilities in \"scores\", not \"score\"")
	}
	if m.cfg.Task == Regression && (p.HasScore || len(p.Scores) > 0) {
		return reject(event.ReasonInvalidValue, "score: a regression model takes its value in \"prediction\", not a score")
	}
	ts := p.Time
	if ts.IsZero() {
		ts = arrival
	}
	t := ts.UnixNano()

	m.mu.Lock()
	defer m.mu.Unlock()
	defer func() {
		if rej == nil && m.log != nil {
			m.logBuf = event.AppendPrediction(appendArrival(m.logBuf[:0], arrival), p)
			m.lsn = m.log.Append(m.logBuf)
		}
	}()

	pred := math.NaN()
	score := math.NaN()
	if p.Prediction.Kind != event.Missing {
		v, rej := m.classOf(p.Prediction, "prediction")
		if rej != nil {
			return rej
		}
		pred = v
	}
	if p.HasScore {
		score = p.Score
		if math.IsNaN(pred) && m.cfg.Task == BinaryClassification {
			// A binary model that sends only a score predicts positive at 0.5.
			pred = 0
			if score >= 0.5 {
				pred = 1
			}
		}
	}
	var probs []float64
	if len(p.Scores) > 0 {
		m.probBuf = slices.Grow(m.probBuf[:0], m.cfg.MaxClasses+1)[:m.cfg.MaxClasses+1]
		probs = m.probBuf
		clear(probs)
		best, bestP := uint32(0), -1.0
		for _, cs := range p.Scores {
			id := m.classes.id(cs.Class)
			probs[id-1] += cs.P
			if cs.P > bestP {
				best, bestP = id, cs.P
			}
		}
		score = 1 // marks "has probabilities"
		if math.IsNaN(pred) {
			pred = float64(best)
		}
	}

	version := m.versions.id(p.Version)
	m.predictions++
	m.lastEvent = arrival
	m.metrics.predictions.Inc()
	if m.canary != nil {
		m.canary.observe(m.cfg.Task, p, t, pred, score)
	}

	var seg [maxSegmentFeatures]uint32
	present := 0
	if p.Role == event.RolePrimary {
		slot := m.window.push(t, version, pred, score)
		exact := m.stream == nil
		var firstSlot = -1
		var firstRow []float64 // the spill's row, when the reference is on disk
		if m.first != nil && !m.first.frozen() {
			firstSlot = m.first.push(t, version, pred, score)
			m.first.clearFeatures(firstSlot)
			if m.spill != nil {
				firstRow = m.spill.next()
			}
		}
		if exact {
			m.window.clearFeatures(slot)
		}
		var pn *pane
		if !exact && m.stream.ready {
			pn = m.stream.paneFor(t)
			pn.n++
			m.addPredictionToPane(pn, pred, score)
			clear(m.seen)
		}
		for pos, f := range p.Features {
			i, ok := m.featureIndex(pos, f.Name)
			if !ok {
				m.countUnknownFeature(f.Name)
				continue
			}
			fs := &m.feats[i]
			if fs.typ == Numeric {
				v := math.NaN()
				switch f.Value.Kind {
				case event.Number, event.Bool:
					v = f.Value.Num
					present++
				case event.String:
					fs.mismatched++
				}
				if exact {
					m.window.num[fs.col][slot] = v
				}
				if firstRow != nil {
					firstRow[fs.col] = v
				} else if firstSlot >= 0 {
					m.first.num[fs.col][firstSlot] = v
				}
				if pn != nil && !math.IsNaN(v) {
					m.seen[i] = true
					pn.num[fs.col].Add(v)
					if b := m.stream.bounds[fs.col]; v < b[0] || v > b[1] {
						pn.outOfRange[fs.col]++
					}
				}
			} else {
				var id uint32
				if f.Value.Kind != event.Missing {
					id = fs.dict.id(f.Value.Class())
					present++
				}
				if exact {
					m.window.cat[fs.col][slot] = id
				}
				if firstSlot >= 0 {
					m.first.cat[fs.col][firstSlot] = id
				}
				if pn != nil && id != 0 {
					m.seen[i] = true
					pn.cat[fs.col].add(id)
				}
			}
		}
		if firstRow != nil {
			m.spill.commit()
		}
		if pn != nil {
			for i, ok := range m.seen {
				if !ok {
					pn.missing[i]++
				}
			}
		}
		if !exact && !m.stream.ready && m.first != nil && m.first.frozen() {
			m.startStreamFromFirst()
		}
	}
	for i, fi := range m.segFeat {
		seg[i] = m.segDict[i].id(m.segmentValue(p, fi))
	}
	if p.Role == event.RolePrimary {
		m.tick.add(score, pred, m.cfg.Task == BinaryClassification, present, len(m.feats), p.LatencyMS, p.HasLatency)
	}

	if p.ID == "" || math.IsNaN(pred) {
		return nil // drift and data quality only: nothing to join a label with
	}
	pp := pendingPred{version: version, seg: seg, pred: pred, score: score}
	joined := m.pendLabel.take(p.ID, func(lt int64, l *pendingLabel) {
		m.pairs.push(t, &pp, probs, l.y, lagSeconds(t, lt))
		if m.joinedLabels != nil {
			m.joinedLabels.add(p.ID, lt, *l)
		}
	})
	if joined == 0 && m.joinedLabels != nil {
		// The label came first and joined another version's prediction of this request.
		joined = m.joinedLabels.eachOf(p.ID, func(lt int64, l *pendingLabel) {
			m.pairs.push(t, &pp, probs, l.y, lagSeconds(t, lt))
		})
	}
	if joined == 0 {
		if probs != nil && m.probs.width > 0 { // multiclass: a binary model's scores only chose pred
			pp.probs = m.probs.put(probs)
		}
		// The set hands what it evicts to releaseProbs (onDrop).
		if _, evicted := m.pendPred.add(p.ID, t, pp); evicted {
			m.metrics.evictedPredCapacity.Inc()
		}
	}
	return nil
}

// featureIndex finds a declared feature by name, trying the index found at the same
// position of the previous prediction first. The caller holds m.mu.
func (m *modelState) featureIndex(pos int, name string) (int, bool) {
	if pos < len(m.featPos) {
		if i := m.featPos[pos]; m.feats[i].name == name {
			return int(i), true
		}
	}
	i, ok := m.featIdx[name]
	if ok && pos < len(m.featPos) {
		m.featPos[pos] = int32(i)
	}
	return i, ok
}

// segmentValue is the string a segment feature takes in p.
func (m *modelState) segmentValue(p *event.Prediction, fi int) string {
	name := m.feats[fi].name
	for _, f := range p.Features {
		if f.Name == name {
			if f.Value.Kind == event.Missing {
				return MissingValue
			}
			return f.Value.Class()
		}
	}
	return MissingValue
}

func (m *modelState) countUnknownFeature(name string) {
	if _, ok := m.unknownFeatures[name]; ok || len(m.unknownFeatures) < maxUnknownFeatureNames {
		m.unknownFeatures[name]++
	} else {
		m.unknownFeatures[OtherValue]++
	}
	m.metrics.schemaViolations.Inc()
}

// addLabel applies one decoded label.
func (m *modelState) addLabel(l *event.Label, arrival time.Time) (rej *rejection) {
	if l.ID == "" {
		return reject(event.ReasonMissingField, "id: a label needs the id of its prediction")
	}
	if l.Label.Kind == event.Missing {
		return reject(event.ReasonMissingField, "label: is required")
	}
	ts := l.Time
	if ts.IsZero() {
		ts = arrival
	}
	t := ts.UnixNano()

	m.mu.Lock()
	defer m.mu.Unlock()
	y, rej := m.classOf(l.Label, "label")
	if rej != nil {
		return rej
	}
	if m.log != nil {
		m.logBuf = event.AppendLabel(appendArrival(m.logBuf[:0], arrival), l)
		m.lsn = m.log.Append(m.logBuf)
	}
	m.labels++
	m.lastEvent = arrival
	m.metrics.labels.Inc()
	if m.joinedLabels != nil {
		defer func() {
			if joined := m.pendLabel.has(l.ID); !joined {
				m.joinedLabels.add(l.ID, t, pendingLabel{y: y})
			}
		}()
	}
	joined := m.pendPred.take(l.ID, func(pt int64, pp *pendingPred) {
		m.pairs.push(pt, pp, m.probs.get(pp.probs), y, lagSeconds(pt, t))
		m.probs.release(pp.probs)
	})
	if joined == 0 {
		if _, evicted := m.pendLabel.add(l.ID, t, pendingLabel{y: y}); evicted {
			m.metrics.evictedLabelCapacity.Inc()
		}
	}
	return nil
}

func lagSeconds(predTime, labelTime int64) float64 {
	return max(0, float64(labelTime-predTime)/1e9)
}

// setLabels applies a reloaded labels config without touching the windows. A smaller
// max_pending drops the oldest waiting records, counted as capacity evictions as when
// the set fills, and gives back the memory of the larger set; a new ttl applies from
// the next expiry.
func (m *modelState) setLabels(l LabelsConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labelTTL = time.Duration(l.TTL)
	shrinks := l.MaxPending < m.pendPred.max
	if n := m.pendPred.setMax(l.MaxPending); n > 0 {
		m.metrics.evictedPredCapacity.Add(float64(n))
	}
	if shrinks && m.probs.width > 0 {
		// Give back the rows of the larger set too.
		old := m.probs
		m.probs = probSlab{width: old.width}
		m.pendPred.each(func(_ string, _ int64, v *pendingPred) {
			if v.probs != 0 {
				v.probs = m.probs.put(old.get(v.probs))
			}
		})
	}
	if n := m.pendLabel.setMax(l.MaxPending); n > 0 {
		m.metrics.evictedLabelCapacity.Add(float64(n))
	}
	if m.joinedLabels != nil {
		m.joinedLabels.setMax(l.MaxPending)
	}
}

// releaseProbs gives back the class probabilities of a prediction that leaves the
// pending set unjoined. The caller holds m.mu.
func (m *modelState) releaseProbs(v *pendingPred) { m.probs.release(v.probs) }

// expire drops predictions and labels that waited longer than the TTL before ts.
func (m *modelState) expire(ts time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := ts.Add(-m.labelTTL).UnixNano()
	if n := m.pendPred.expire(cutoff, m.releaseProbs); n > 0 {
		m.metrics.evictedPredTTL.Add(float64(n))
	}
	if n := m.pendLabel.expire(cutoff, func(*pendingLabel) {}); n > 0 {
		m.metrics.evictedLabelTTL.Add(float64(n))
	}
	if m.joinedLabels != nil {
		m.joinedLabels.expire(cutoff, func(*pendingLabel) {})
	}
}
