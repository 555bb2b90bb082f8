package event

import (
	"bytes"
	"errors"
	"strconv"
	"time"
	"unsafe"
)

// Format is the framing of an ingest body.
type Format uint8

// Body formats.
const (
	// JSON is one JSON object, or a JSON array of objects.
	JSON Format = iota
	// NDJSON is one JSON object per line (application/x-ndjson); blank lines are skipped.
	NDJSON
)

// String returns "json" or "ndjson".
func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case NDJSON:
		return "ndjson"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Limits bound the size of one record. A zero field takes its default.
type Limits struct {
	// MaxFeatures is the most features a prediction may have (default 1000).
	MaxFeatures int
	// MaxStringLen is the longest string, in bytes after unescaping, for any
	// string value: id, model, version, feature names and values, classes,
	// predictions and labels (default 1024).
	MaxStringLen int
	// MaxScores is the most classes in "scores" (default 1000).
	MaxScores int
}

// Default limits.
const (
	DefaultMaxFeatures  = 1000
	DefaultMaxStringLen = 1024
	DefaultMaxScores    = 1000
)

// Field ids, shared by predictions and labels; bit i of Decoder.has is set
// when field i has been seen in the current record.
const (
	fModel = iota
	fVersion
	fRole
	fID
	fTimestamp
	fFeatures
	fPrediction
	fScore
	fScores
	fLatency
	fLabel
)

var (
	predictionFields = []string{"model", "version", "role", "id", "timestamp", "features", "prediction", "score", "scores", "latency_ms"}
	labelFields      = []string{"model", "id", "label", "timestamp"}
)

// Decoder decodes ingest bodies. It keeps buffers and an intern table between
// calls, so that decoding allocates nothing in steady state except the id
// strings, and not those either with [Decoder.BorrowIDs]; what it keeps
// between calls is bounded (a few MiB at most) and holds no reference to a
// body. A Decoder is not safe for
// concurrent use; keep one per goroutine or in a sync.Pool.
type Decoder struct {
	limits Limits

	// Scanner state.
	body    []byte // the whole body
	buf     []byte // what is being scanned: the body, or one NDJSON line
	base    int    // offset of buf in body
	line    int    // 1-based line number of buf in NDJSON, else 0
	scratch []byte // unescaped strings
	stack   []byte // containers open in skip
	serr    *SyntaxError

	// Interning and duplicate detection; see intern.go.
	strs       map[string]int32 // string → index in entries
	entries    []internEntry
	pos        []posCache // per feature position
	stamp      uint32     // current record, for internEntry.stamp
	slowDup    bool       // find duplicate names with seen, not stamps, for the rest of this record
	seenBuilt  bool       // seen holds the feature names of this record
	seen       map[string]struct{}
	seenScores map[string]struct{} // classes of a record with many

	borrowIDs bool // ids alias the body; see BorrowIDs

	// Per-call state.
	labels       bool // decoding labels, not predictions
	hold         bool // hold accepted records back (JSON format)
	heldPreds    []heldPrediction
	heldLabels   []heldLabel
	heldFeatures []Feature
	heldScores   []ClassScore
	defaultModel string
	predFn       func(int, *Prediction)
	labelFn      func(int, *Label)
	errs         []RecordError

	// Per-record state.
	has    uint32 // fields seen
	ferr   *fieldError
	reason Reason
	model  string
	id     string
	time   time.Time
	pred   Prediction
	label  Label
}

// NewDecoder returns a Decoder with the given limits; zero fields of l take
// their defaults. The zero Decoder is ready to use, with default limits.
func NewDecoder(l Limits) *Decoder {
	d := &Decoder{limits: l}
	d.init()
	return d
}

// maxRetained is the largest scratch buffer a Decoder keeps between calls.
const maxRetained = 64 << 10

func (d *Decoder) init() {
	if d.limits.MaxFeatures <= 0 {
		d.limits.MaxFeatures = DefaultMaxFeatures
	}
	if d.limits.MaxStringLen <= 0 {
		d.limits.MaxStringLen = DefaultMaxStringLen
	}
	if d.limits.MaxScores <= 0 {
		d.limits.MaxScores = DefaultMaxScores
	}
	d.strs = make(map[string]int32, 256)
	d.seen = make(map[string]struct{})
	d.seenScores = make(map[string]struct{})
}

// BorrowIDs sets whether the ids of records (Prediction.ID, Label.ID) alias
// the body instead of being copied, so that decoding allocates nothing per
// record. A borrowed id is valid only while the body's bytes are unchanged:
// fn must copy it (strings.Clone) to keep it past the body's reuse. An id
// with escapes is still a copy. Off by default: other fields are never
// borrowed.
func (d *Decoder) BorrowIDs(on bool) { d.borrowIDs = on }

// idString returns the id raw as a string: borrowed from the body when
// BorrowIDs is on and raw lies in it (no escapes), else a copy.
func (d *Decoder) idString(raw []byte) string {
	if !d.borrowIDs || len(raw) == 0 {
		return string(raw)
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(d.body)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	if p < start || p+uintptr(len(raw)) > start+uintptr(len(d.body)) {
		return string(raw) // unescaped into d.scratch, which the next string reuses
	}
	return unsafe.String(unsafe.SliceData(raw), len(raw))
}

// Limits returns the limits in effect, defaults filled in.
func (d *Decoder) Limits() Limits {
	if d.strs == nil {
		d.init()
	}
	return d.limits
}

// Predictions decodes body as predictions. For every valid record it calls
// fn(index, p); p and its slices are reused after fn returns, so fn copies
// what it keeps (strings may be kept: they are immutable, and interned ones
// are shared; but not an id borrowed from the body, see [Decoder.BorrowIDs]).
//
// Invalid records are returned as RecordErrors, every one, in order.
// records counts all records (accepted + rejected). err is non-nil only when
// the body as a whole is unusable: it is empty ([ErrEmptyBody]), or, in JSON
// format, not valid JSON (a [*SyntaxError]); then fn is never called.
//
// defaultModel is the model from the URL, or "": a record without "model"
// gets it, and a record with another model is rejected with
// [ReasonModelMismatch]. fn may be nil, to validate only.
func (d *Decoder) Predictions(body []byte, f Format, defaultModel string, fn func(index int, p *Prediction)) (records int, errs []RecordError, err error) {
	d.labels, d.predFn = false, fn
	return d.decode(body, f, defaultModel)
}

// Labels decodes body as labels, as [Decoder.Predictions] does predictions.
// l is reused after fn returns.
func (d *Decoder) Labels(body []byte, f Format, defaultModel string, fn func(index int, l *Label)) (records int, errs []RecordError, err error) {
	d.labels, d.labelFn = true, fn
	return d.decode(body, f, defaultModel)
}

func (d *Decoder) decode(body []byte, f Format, defaultModel string) (records int, errs []RecordError, err error) {
	if d.strs == nil {
		d.init()
	}
	d.body, d.defaultModel, d.errs, d.serr = body, defaultModel, nil, nil
	switch f {
	case JSON:
		records, err = d.decodeJSON()
	case NDJSON:
		records, err = d.decodeNDJSON()
	default:
		err = errors.New("unknown body format " + f.String())
	}
	errs = d.errs
	// Drop references to the caller's data, and strings that are not interned.
	d.body, d.buf, d.errs, d.predFn, d.labelFn, d.serr = nil, nil, nil, nil, nil, nil
	d.model, d.id, d.time, d.label, d.ferr = "", "", time.Time{}, Label{}, nil
	clear(d.pred.Features[:cap(d.pred.Features)])
	clear(d.pred.Scores[:cap(d.pred.Scores)])
	d.pred = Prediction{Features: d.pred.Features[:0], Scores: d.pred.Scores[:0]}
	if cap(d.scratch) > maxRetained {
		d.scratch = nil
	}
	d.dropHeld()
	return records, errs, err
}

// decodeJSON decodes a JSON body in one pass. Its records are held back
// until the end: fn must not see any record of a body that turns out not to
// be JSON.
func (d *Decoder) decodeJSON() (int, error) {
	d.buf, d.base, d.line = d.body, 0, 0
	b := d.buf
	i := d.ws(0)
	if i == len(b) {
		return 0, ErrEmptyBody
	}
	d.hold = true
	defer func() { d.hold = false }()
	n := 0
	if b[i] != '[' {
		i = d.record(i, 0, 0, false)
		n = 1
	} else if i = d.ws(i + 1); i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			if i = d.record(i, 1, n, false); i < 0 {
				break
			}
			n++
			if i = d.ws(i); i < len(b) && b[i] == ',' {
				i = d.ws(i + 1)
				continue
			}
			if i < len(b) && b[i] == ']' {
				i++
			} else {
				i = d.unexpected(i, "after array element")
			}
			break
		}
	}
	if i >= 0 {
		if i = d.ws(i); i < len(b) {
			d.unexpected(i, "after top-level value")
		}
	}
	if d.serr != nil {
		d.errs = nil
		return 0, d.serr
	}
	d.releaseHeld()
	return n, nil
}

func (d *Decoder) decodeNDJSON() (int, error) {
	n := 0
	line := 0
	for start := 0; start < len(d.body); {
		end := bytes.IndexByte(d.body[start:], '\n')
		if end < 0 {
			end = len(d.body)
		} else {
			end += start
		}
		line++
		d.buf, d.base, d.line = d.body[start:end], start, line
		if i := d.ws(0); i < len(d.buf) {
			d.record(i, 0, n, true)
			n++
		}
		start = end + 1
	}
	if n == 0 {
		return 0, ErrEmptyBody
	}
	return n, nil
}

// record decodes the record at d.buf[i], at the given nesting depth, and
// passes it on or records its error. With whole, the record must fill the
// rest of d.buf. It returns the position after the record, or -1.
func (d *Decoder) record(i, depth, index int, whole bool) int {
	d.has, d.ferr, d.model, d.id, d.time = 0, nil, "", "", time.Time{}
	d.nextStamp()
	if d.labels {
		d.label = Label{}
	} else {
		d.pred = Prediction{Features: d.pred.Features[:0], Scores: d.pred.Scores[:0]}
	}
	next := d.object(i, depth)
	if next >= 0 && whole {
		if j := d.ws(next); j < len(d.buf) {
			next = d.unexpected(j, "after top-level value")
		}
	}
	if next < 0 {
		if !d.hold { // NDJSON: only this line is lost
			d.reject(index, ReasonInvalidJSON, d.serr)
			d.serr = nil
		}
		return -1
	}
	if d.ferr == nil {
		d.complete()
	}
	if d.ferr != nil {
		d.reject(index, d.reason, d.ferr)
		return next
	}
	if d.labels {
		d.label.Model, d.label.ID, d.label.Time = d.model, d.id, d.time
		switch {
		case d.hold:
			d.heldLabels = append(d.heldLabels, heldLabel{l: d.label, index: index})
		case d.labelFn != nil:
			d.labelFn(index, &d.label)
		}
	} else {
		d.pred.Model, d.pred.ID, d.pred.Time = d.model, d.id, d.time
		switch {
		case d.hold:
			d.holdPrediction(index)
		case d.predFn != nil:
			d.predFn(index, &d.pred)
		}
	}
	return next
}

// heldPrediction is an accepted prediction of a JSON body, held back until
// the whole body has been read. Its features and scores end at the given
// offsets of Decoder.heldFeatures and Decoder.heldScores.
type heldPrediction struct {
	p                Prediction
	index            int
	features, scores int
}

// heldLabel is an accepted label of a JSON body, held back.
type heldLabel struct {
	l     Label
	index int
}

// maxHeld bounds the buffers for held records that a Decoder keeps between
// calls (in features; records and scores are bounded alike).
const maxHeld = 1 << 15

func (d *Decoder) holdPrediction(index int) {
	p := d.pred
	d.heldFeatures = append(d.heldFeatures, p.Features...)
	d.heldScores = append(d.heldScores, p.Scores...)
	p.Features, p.Scores = nil, nil
	d.heldPreds = append(d.heldPreds, heldPrediction{p: p, index: index, features: len(d.heldFeatures), scores: len(d.heldScores)})
}

// releaseHeld passes the held records on.
func (d *Decoder) releaseHeld() {
	f, s := 0, 0
	for k := range d.heldPreds {
		h := &d.heldPreds[k]
		h.p.Features = d.heldFeatures[f:h.features:h.features]
		h.p.Scores = d.heldScores[s:h.scores:h.scores]
		f, s = h.features, h.scores
		if d.predFn != nil {
			d.predFn(h.index, &h.p)
		}
	}
	for k := range d.heldLabels {
		if d.labelFn != nil {
			d.labelFn(d.heldLabels[k].index, &d.heldLabels[k].l)
		}
	}
}

// dropHeld empties the buffers of held records, and frees them if large.
func (d *Decoder) dropHeld() {
	clear(d.heldPreds)
	clear(d.heldLabels)
	clear(d.heldFeatures)
	clear(d.heldScores)
	d.heldPreds, d.heldLabels, d.heldFeatures, d.heldScores = d.heldPreds[:0], d.heldLabels[:0], d.heldFeatures[:0], d.heldScores[:0]
	if cap(d.heldFeatures) > maxHeld || cap(d.heldScores) > maxHeld || cap(d.heldPreds) > maxHeld/8 || cap(d.heldLabels) > maxHeld {
		d.heldPreds, d.heldLabels, d.heldFeatures, d.heldScores = nil, nil, nil, nil
	}
}

// complete checks the record as a whole once all fields are read.
func (d *Decoder) complete() {
	kind := "predictions"
	if d.labels {
		kind = "labels"
	}
	switch {
	case d.model == "" && d.defaultModel == "":
		d.fail(ReasonMissingField, "model", `required field is missing; set "model" or post to /api/v1/models/{model}/`+kind)
		return
	case d.model == "":
		d.model = d.defaultModel
	case d.defaultModel != "" && d.model != d.defaultModel:
		d.fail(ReasonModelMismatch, "model", quoteValue(d.model)+" does not match the model "+quoteValue(d.defaultModel)+" in the URL")
		return
	}
	if d.labels {
		switch {
		case d.has&(1<<fID) == 0:
			d.fail(ReasonMissingField, "id", "required field is missing; a label is matched to its prediction by id")
		case d.id == "":
			d.fail(ReasonInvalidValue, "id", "must not be empty")
		case d.has&(1<<fLabel) == 0:
			d.fail(ReasonMissingField, "label", "required field is missing")
		}
	}
}

func (d *Decoder) reject(index int, reason Reason, err error) {
	model := d.defaultModel
	if model == "" {
		model = d.model
	}
	d.errs = append(d.errs, RecordError{Index: index, Model: model, Reason: reason, Err: err})
}

// fail records the first semantic error of a record.
func (d *Decoder) fail(reason Reason, field, msg string) {
	if d.ferr == nil {
		d.ferr = &fieldError{field: field, msg: msg}
		d.reason = reason
	}
}

// object decodes the record object at d.buf[i]; depth is the nesting depth
// of its container.
func (d *Decoder) object(i, depth int) int {
	b := d.buf
	if i >= len(b) {
		return d.unexpected(i, "")
	}
	if b[i] != '{' {
		kind, _, next := d.scalar(i, depth)
		if next >= 0 {
			msg := "expected a JSON object, found " + tokNames[kind]
			if kind == tokArray && d.line > 0 {
				msg += "; NDJSON takes one object per line"
			}
			d.fail(ReasonInvalidValue, "", msg)
		}
		return next
	}
	depth++
	i = d.ws(i + 1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return d.unexpected(i, "looking for beginning of object key string")
		}
		key, j := d.str(i)
		if j < 0 {
			return -1
		}
		if j = d.ws(j); j >= len(b) || b[j] != ':' {
			return d.unexpected(j, "after object key")
		}
		j = d.ws(j + 1)
		f := d.fieldID(key)
		switch {
		case f < 0:
			d.unknownField(key)
			i = d.skipValue(j, depth)
		case d.has&(1<<f) != 0:
			d.fail(ReasonInvalidValue, "", "duplicate field "+quoteValue(string(key)))
			i = d.skipValue(j, depth)
		case d.ferr != nil && f != fModel:
			// The record is rejected already; only its model is of interest.
			d.has |= 1 << f
			i = d.skipValue(j, depth)
		default:
			d.has |= 1 << f
			i = d.field(f, j, depth)
		}
		if i < 0 {
			return -1
		}
		if i = d.ws(i); i < len(b) && b[i] == ',' {
			i = d.ws(i + 1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		return d.unexpected(i, "after object key:value pair")
	}
}

func (d *Decoder) skipValue(i, depth int) int {
	_, _, next := d.scalar(i, depth)
	return next
}

func (d *Decoder) fieldID(key []byte) int {
	if d.labels {
		switch string(key) {
		case "model":
			return fModel
		case "id":
			return fID
		case "label":
			return fLabel
		case "timestamp":
			return fTimestamp
		}
		return -1
	}
	switch string(key) {
	case "model":
		return fModel
	case "version":
		return fVersion
	case "role":
		return fRole
	case "id":
		return fID
	case "timestamp":
		return fTimestamp
	case "features":
		return fFeatures
	case "prediction":
		return fPrediction
	case "score":
		return fScore
	case "scores":
		return fScores
	case "latency_ms":
		return fLatency
	}
	return -1
}

func (d *Decoder) unknownField(key []byte) {
	if d.ferr != nil {
		return
	}
	known := predictionFields
	if d.labels {
		known = labelFields
	}
	name := string(key)
	msg := "unknown field " + quoteValue(name)
	if s := suggest(name, known); s != "" {
		msg += "; did you mean " + strconv.Quote(s) + "?"
	} else {
		msg += "; known fields are "
		for i, k := range known {
			if i > 0 {
				msg += ", "
			}
			msg += k
		}
	}
	d.fail(ReasonUnknownField, "", msg)
}

// field decodes the value at d.buf[i] of the field f.
func (d *Decoder) field(f, i, depth int) int {
	b := d.buf
	switch f {
	case fFeatures:
		if i < len(b) && b[i] == '{' {
			return d.features(i, depth)
		}
	case fScores:
		if i < len(b) && b[i] == '{' {
			return d.scores(i, depth)
		}
	}
	kind, raw, next := d.scalar(i, depth)
	if next < 0 {
		return -1
	}
	if kind == tokNull && f != fLabel {
		return next // null means absent
	}
	switch f {
	case fModel:
		if kind != tokString {
			d.wrongType("model", kind, "a string")
		} else if d.checkLen("model", raw) {
			if len(raw) == 0 {
				d.fail(ReasonInvalidValue, "model", "must not be empty")
			} else {
				d.model = d.intern(raw)
			}
		}
	case fVersion:
		if kind != tokString {
			d.wrongType("version", kind, "a string")
		} else if d.checkLen("version", raw) {
			d.pred.Version = d.intern(raw)
		}
	case fRole:
		if kind != tokString {
			d.wrongType("role", kind, `one of "primary", "canary" or "shadow"`)
			break
		}
		switch string(raw) {
		case "primary":
			d.pred.Role = RolePrimary
		case "canary":
			d.pred.Role = RoleCanary
		case "shadow":
			d.pred.Role = RoleShadow
		default:
			d.fail(ReasonInvalidValue, "role", quoteValue(string(raw))+` is not a role; use "primary", "canary" or "shadow"`)
		}
	case fID:
		if kind != tokString && kind != tokNumber {
			d.wrongType("id", kind, "a string or number")
		} else if d.checkLen("id", raw) {
			d.id = d.idString(raw)
		}
	case fTimestamp:
		var msg string
		switch kind {
		case tokString:
			d.time, msg = parseRFC3339(raw)
		case tokNumber:
			d.time, msg = parseUnix(raw)
		default:
			msg = "expected " + timestampForms + ", found " + tokNames[kind]
		}
		if msg != "" {
			d.fail(ReasonInvalidTimestamp, "timestamp", msg)
		}
	case fPrediction:
		d.pred.Prediction = d.value("prediction", kind, raw)
	case fLabel:
		if kind == tokNull {
			d.fail(ReasonInvalidValue, "label", "expected a number, string or bool, found null")
			break
		}
		d.label.Label = d.value("label", kind, raw)
	case fScore:
		if p, ok := d.probability("score", kind, raw); ok {
			d.pred.Score, d.pred.HasScore = p, true
		}
	case fLatency:
		if kind != tokNumber {
			d.wrongType("latency_ms", kind, "a number")
		} else if v, ok := d.number("latency_ms", raw); ok {
			if v < 0 {
				d.fail(ReasonInvalidValue, "latency_ms", shorten(raw)+" is negative")
			} else {
				d.pred.LatencyMS, d.pred.HasLatency = v, true
			}
		}
	case fFeatures:
		d.wrongType("features", kind, "an object of feature names to values")
	case fScores:
		d.wrongType("scores", kind, "an object of classes to probabilities")
	}
	return next
}

func (d *Decoder) wrongType(field string, kind int, want string) {
	d.fail(ReasonInvalidValue, field, "expected "+want+", found "+tokNames[kind])
}

// checkLen reports whether the string s fits MaxStringLen, failing the
// record if not.
func (d *Decoder) checkLen(field string, s []byte) bool {
	if len(s) <= d.limits.MaxStringLen {
		return true
	}
	d.fail(ReasonTooLarge, field, "string of "+strconv.Itoa(len(s))+" bytes exceeds the limit of "+strconv.Itoa(d.limits.MaxStringLen)+" bytes")
	return false
}

// number converts a number literal, failing the record on overflow.
func (d *Decoder) number(field string, lit []byte) (float64, bool) {
	f, ok := parseFloat(lit)
	if !ok {
		d.fail(ReasonInvalidValue, field, "number "+shorten(lit)+" overflows float64 (NaN and infinite numbers are not accepted)")
	}
	return f, ok
}

// value converts a scalar token to a Value (null to Missing).
func (d *Decoder) value(field string, kind int, raw []byte) Value {
	switch kind {
	case tokString:
		if d.checkLen(field, raw) {
			return Value{Kind: String, Str: d.intern(raw)}
		}
	case tokNumber:
		if f, ok := d.number(field, raw); ok {
			return Value{Kind: Number, Num: f}
		}
	case tokTrue:
		return Value{Kind: Bool, Num: 1}
	case tokFalse:
		return Value{Kind: Bool}
	case tokNull:
		return Value{}
	default:
		d.wrongType(field, kind, "a number, string or bool")
	}
	return Value{}
}

// probability converts a token that must be a number in [0, 1].
func (d *Decoder) probability(field string, kind int, raw []byte) (float64, bool) {
	if kind != tokNumber {
		d.wrongType(field, kind, "a probability (a number from 0 to 1)")
		return 0, false
	}
	p, ok := d.number(field, raw)
	if ok && (p < 0 || p > 1) {
		d.fail(ReasonInvalidValue, field, shorten(raw)+" is outside [0, 1]")
		ok = false
	}
	return p, ok
}

// features decodes the "features" object at d.buf[i] == '{'.
func (d *Decoder) features(i, depth int) int {
	b := d.buf
	depth++
	i = d.ws(i + 1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return d.unexpected(i, "looking for beginning of object key string")
		}
		j := plainRun(b, i+1) // d.str, written out
		var name []byte
		if j < len(b) && b[j] == '"' {
			name, j = b[i+1:j], j+1
		} else if name, j = d.strSlow(i, j); j < 0 {
			return -1
		}
		if j = d.ws(j); j >= len(b) || b[j] != ':' {
			return d.unexpected(j, "after object key")
		}
		j = d.ws(j + 1)
		switch {
		case d.ferr != nil:
			i = d.skipValue(j, depth)
		case len(d.pred.Features) >= d.limits.MaxFeatures:
			d.fail(ReasonTooLarge, "features", "more than the limit of "+strconv.Itoa(d.limits.MaxFeatures)+" features")
			i = d.skipValue(j, depth)
		case len(name) > d.limits.MaxStringLen:
			d.fail(ReasonTooLarge, "features", "a feature name of "+strconv.Itoa(len(name))+" bytes exceeds the limit of "+strconv.Itoa(d.limits.MaxStringLen)+" bytes")
			i = d.skipValue(j, depth)
		default:
			i = d.feature(name, j, depth)
		}
		if i < 0 {
			return -1
		}
		if i = d.ws(i); i < len(b) && b[i] == ',' {
			i = d.ws(i + 1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		return d.unexpected(i, "after object key:value pair")
	}
}

// feature decodes the feature named rawName with its value at d.buf[i].
// This is the hot path of decoding: the common cases (a cached name, a
// number or a cached string value, an interned name for the duplicate
// check) are written out here rather than left to calls.
func (d *Decoder) feature(rawName []byte, i, depth int) int {
	b := d.buf
	k := len(d.pred.Features)
	if k >= len(d.pos) {
		d.growPos(k)
	}
	pc := &d.pos[k]
	var name string
	var e int32
	if p := prefix(rawName); pc.name.matches(rawName, p) {
		name, e = pc.name.s, pc.name.e
	} else {
		name, e = d.featureNameMiss(pc, rawName, p)
	}

	var v Value
	next := -1
	if i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			j := plainRun(b, i+1)
			var s []byte
			if j < len(b) && b[j] == '"' {
				s, next = b[i+1:j], j+1
			} else if s, next = d.strSlow(i, j); next < 0 {
				return -1
			}
			if len(s) > d.limits.MaxStringLen {
				d.fail(ReasonTooLarge, fieldPath("features", name), "string of "+strconv.Itoa(len(s))+" bytes exceeds the limit of "+strconv.Itoa(d.limits.MaxStringLen)+" bytes")
				return next
			}
			v.Kind = String
			p := prefix(s)
			for n := range pc.vals {
				if pc.vals[n].matches(s, p) {
					v.Str = pc.vals[n].s
					break
				}
			}
			if v.Str == "" && len(s) > 0 {
				v.Str = d.featureValueMiss(pc, s, p)
			}
		case c == '-' || c-'0' <= 9:
			var n number
			if n, next = d.num(i); next < 0 {
				return -1
			}
			f, ok := 0.0, true
			if n.exp <= 0 {
				f = n.exact()
			} else {
				f, ok = parseFloatSlow(b[i:next])
			}
			if !ok {
				d.fail(ReasonInvalidValue, fieldPath("features", name), "number "+shorten(b[i:next])+" overflows float64 (NaN and infinite numbers are not accepted)")
				return next
			}
			v = Value{Kind: Number, Num: f}
		}
	}
	if next < 0 {
		kind, _, n := d.scalar(i, depth)
		if n < 0 {
			return -1
		}
		next = n
		switch kind {
		case tokTrue:
			v = Value{Kind: Bool, Num: 1}
		case tokFalse:
			v = Value{Kind: Bool}
		case tokNull:
		default:
			d.fail(ReasonInvalidValue, fieldPath("features", name), "expected a number, string, bool or null, found "+tokNames[kind]+"; flatten nested values into separate features")
			return next
		}
	}

	// Duplicate names: an interned name carries the stamp of the last
	// record that used it.
	dup := false
	if e >= 0 && !d.slowDup {
		en := &d.entries[e]
		dup = en.stamp == d.stamp
		en.stamp = d.stamp
	} else {
		dup = d.dupFeatureSlow(name)
	}
	if dup {
		d.fail(ReasonInvalidValue, fieldPath("features", name), "duplicate feature name")
		return next
	}
	d.pred.Features = append(d.pred.Features, Feature{Name: name, Value: v})
	return next
}

// smallSet is the number of classes up to which duplicates are found by a
// linear search instead of a set.
const smallSet = 16

// dupClass reports whether the record already has a score for class.
func (d *Decoder) dupClass(class string) bool {
	cs := d.pred.Scores
	if len(cs) < smallSet {
		for k := range cs {
			if cs[k].Class == class {
				return true
			}
		}
		return false
	}
	if len(cs) == smallSet {
		clear(d.seenScores)
		for k := range cs {
			d.seenScores[cs[k].Class] = struct{}{}
		}
	}
	if _, ok := d.seenScores[class]; ok {
		return true
	}
	d.seenScores[class] = struct{}{}
	return false
}

// scores decodes the "scores" object at d.buf[i] == '{'.
func (d *Decoder) scores(i, depth int) int {
	b := d.buf
	depth++
	i = d.ws(i + 1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return d.unexpected(i, "looking for beginning of object key string")
		}
		class, j := d.str(i)
		if j < 0 {
			return -1
		}
		if j = d.ws(j); j >= len(b) || b[j] != ':' {
			return d.unexpected(j, "after object key")
		}
		j = d.ws(j + 1)
		switch {
		case d.ferr != nil:
			i = d.skipValue(j, depth)
		case len(d.pred.Scores) >= d.limits.MaxScores:
			d.fail(ReasonTooLarge, "scores", "more than the limit of "+strconv.Itoa(d.limits.MaxScores)+" classes")
			i = d.skipValue(j, depth)
		case len(class) > d.limits.MaxStringLen:
			d.fail(ReasonTooLarge, "scores", "a class name of "+strconv.Itoa(len(class))+" bytes exceeds the limit of "+strconv.Itoa(d.limits.MaxStringLen)+" bytes")
			i = d.skipValue(j, depth)
		default:
			c := d.intern(class)
			kind, raw, next := d.scalar(j, depth)
			if i = next; i < 0 {
				return -1
			}
			p, ok := 0.0, kind == tokNumber
			if ok {
				p, ok = parseFloat(raw)
				ok = ok && p >= 0 && p <= 1
			}
			switch {
			case !ok:
				d.probability(fieldPath("scores", c), kind, raw) // explains why
			case d.dupClass(c):
				d.fail(ReasonInvalidValue, fieldPath("scores", c), "duplicate class")
			default:
				d.pred.Scores = append(d.pred.Scores, ClassScore{Class: c, P: p})
			}
		}
		if i < 0 {
			return -1
		}
		if i = d.ws(i); i < len(b) && b[i] == ',' {
			i = d.ws(i + 1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		return d.unexpected(i, "after object key:value pair")
	}
}
