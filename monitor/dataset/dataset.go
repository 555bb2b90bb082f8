package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilml/vigil/monitor/event"
)

// Format is the layout of a data file.
type Format uint8

// Formats. The zero value, Auto, chooses the format from the file name.
const (
	// Auto picks the format from the file name's extension (see [FormatFromPath]).
	Auto Format = iota
	// CSV is comma-separated values with a header row (RFC 4180).
	CSV
	// NDJSON is one JSON prediction object per line.
	NDJSON
	// Parquet is an Apache Parquet file.
	Parquet
)

var formatNames = [...]string{Auto: "auto", CSV: "csv", NDJSON: "ndjson", Parquet: "parquet"}

// String returns "auto", "csv", "ndjson" or "parquet".
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// FormatFromPath returns the format of a file from its extension, in any
// case: .csv is CSV, .ndjson and .jsonl are NDJSON, .parquet and .pq are
// Parquet. Other extensions are an error naming the extension.
func FormatFromPath(path string) (Format, error) {
	ext := filepath.Ext(path)
	switch strings.ToLower(ext) {
	case ".csv":
		return CSV, nil
	case ".ndjson", ".jsonl":
		return NDJSON, nil
	case ".parquet", ".pq":
		return Parquet, nil
	case "":
		return Auto, fmt.Errorf("%s has no file extension to tell its format: use .csv, .ndjson, .jsonl or .parquet, or set the format", path)
	}
	return Auto, fmt.Errorf("%s: unsupported file extension %q: use .csv, .ndjson, .jsonl or .parquet, or set the format", path, ext)
}

// ColumnType says how the values of a feature column are compared.
type ColumnType uint8

// Column types. The zero value means "not declared".
const (
	// Numeric columns hold numbers (event.Number) or Missing.
	Numeric ColumnType = iota + 1
	// Categorical columns hold categories compared by [event.Value.Class]:
	// strings from CSV, and from NDJSON and Parquet whatever kind the value
	// has (a Parquet integer column declared categorical keeps its numbers).
	Categorical
)

// String returns "numeric" or "categorical".
func (t ColumnType) String() string {
	switch t {
	case Numeric:
		return "numeric"
	case Categorical:
		return "categorical"
	}
	return "ColumnType(" + strconv.Itoa(int(t)) + ")"
}

// Column is one feature column.
type Column struct {
	// Name is the column name in the file, used as the feature name.
	Name string
	// Type is the declared or inferred type.
	Type ColumnType
	// Inferred is true when Type was not declared in Options.Types but
	// inferred: from the values (CSV, NDJSON) or the file's schema (Parquet).
	Inferred bool
}

// Schema describes the features of the rows a [Reader] returns.
type Schema struct {
	// Columns are the feature columns. Row.Prediction.Features[i] is always
	// the value of Columns[i]: every row has every feature, in this order.
	Columns []Column
	// Ignored names the columns of the file that are not read when
	// FeatureColumns is nil: Parquet columns vigil cannot use (nested,
	// repeated, or of a type such as fixed-length binary or BSON), and CSV
	// columns with an empty name (such as the index pandas writes).
	Ignored []string
}

// Defaults for [Options].
const (
	// DefaultInferRows is the default of Options.InferRows.
	DefaultInferRows = 1000
	// DefaultMaxRecordBytes is the default of Options.MaxRecordBytes.
	DefaultMaxRecordBytes = 4 << 20
)

// DefaultNullValues returns the CSV texts read as missing values when
// Options.NullValues is nil: "", "NA", "N/A", "NaN", "nan", "null" and "NULL".
func DefaultNullValues() []string {
	return []string{"", "NA", "N/A", "NaN", "nan", "null", "NULL"}
}

// Options say how to read a file. With the zero value, Open reads a CSV,
// NDJSON or Parquet file by its extension, every column a feature of
// inferred type.
type Options struct {
	// Format of the file; Auto (the zero value) uses [FormatFromPath].
	Format Format

	// FeatureColumns are the columns read as features, in this order. When
	// nil, every column not mapped below is a feature, in file order (for
	// NDJSON: every feature key seen in the first InferRows lines, in order
	// of appearance, then declared ones not seen).
	FeatureColumns []string
	// PredictionColumn, ScoreColumn, LabelColumn, IDColumn, TimestampColumn
	// and ModelColumn name the columns holding the prediction, the
	// positive-class score (a number in [0, 1]), the true label, the
	// prediction id, the event time and the model; "" when the file has none.
	//
	// NDJSON lines carry the prediction, score, id, timestamp and model in
	// their own fields, so only LabelColumn applies: it names a key of
	// "features" that holds the label (and is then not a feature).
	PredictionColumn, ScoreColumn, LabelColumn, IDColumn, TimestampColumn, ModelColumn string
	// Model is the model of rows that name none. When set, rows naming
	// another model are rejected, as the HTTP API does for the model in the
	// URL. NDJSON lines without a model are rejected when Model is "".
	Model string

	// Types declares column types, usually from the vigil configuration.
	// Feature columns not listed are inferred. A declared type also applies
	// to the prediction and label columns: Categorical keeps their values
	// as strings, Numeric requires numbers. For CSV and Parquet, a listed
	// column must exist in the file; for NDJSON, a listed feature is in
	// the schema even when no line read ahead has it.
	Types map[string]ColumnType
	// InferRows is how many rows are read ahead (and then returned as
	// usual) to infer the type of undeclared feature columns; 0 means
	// DefaultInferRows. A column is Numeric when every non-missing value of
	// those rows is a finite number (for CSV: parses as one), Categorical
	// otherwise; a column with only missing values there is Numeric.
	// Parquet columns take their type from the file's schema instead:
	// numbers are Numeric, strings and booleans Categorical.
	InferRows int
	// NullValues replaces [DefaultNullValues]: the CSV texts that are
	// missing values (also when a Parquet string column is declared
	// numeric). Include "" to keep empty cells missing.
	NullValues []string
	// MaxRecordBytes bounds one CSV record or NDJSON line, and so the
	// memory used; 0 means DefaultMaxRecordBytes. A longer NDJSON line is
	// rejected; a longer CSV record ends reading with an error, as a CSV
	// reader cannot find the next record (it is usually an unterminated
	// quote).
	MaxRecordBytes int
	// Limits bound one record as in the HTTP API: NDJSON lines are decoded
	// with them, and for CSV and Parquet, MaxFeatures bounds the number of
	// feature columns and MaxStringLen the length of a string value.
	Limits event.Limits

	// Progress, when set, is called from Next with the bytes read so far
	// and the file size, at most about 10 times a second, and once more at
	// the end of the file with bytesRead == totalBytes.
	Progress func(bytesRead, totalBytes int64)
	// OnRowError, when set, is called from Next for every rejected row and
	// every feature value replaced by Missing, in file order. Each call
	// gets a new *RowError, which the callback may keep.
	OnRowError func(*RowError)

	// DeferNumbers, for a CSV file, leaves the conversion of numeric feature
	// values to the caller, so that it can run on another goroutine: Next
	// sets such a value to Missing and Row.RawNumbers to its text, and the
	// caller converts the text with [ParseNumber]. A text that is not a
	// number is then the caller's to count and report, in the place of the
	// type mismatch Next would have reported ([NumberMismatch] builds the
	// same RowError): Stats.Mismatched does not count it. Values in the
	// null set are Missing as usual. Other formats ignore DeferNumbers.
	DeferNumbers bool
}

// Row is one row of a file. The Reader reuses the Row, and the slices in
// it, on the next call to Next, and sets some fields (such as feature
// names) only once: callers copy what they keep and do not modify the Row.
// Strings may be kept.
type Row struct {
	// Line is the 1-based line where the row starts in a CSV or NDJSON file,
	// or the 1-based row number in a Parquet file.
	Line int64
	// Prediction holds the features, in Schema order, and the mapped
	// columns. Its Model is the row's model or Options.Model.
	Prediction event.Prediction
	// Label is the true label when HasLabel.
	Label    event.Value
	HasLabel bool
	// RawNumbers is, with Options.DeferNumbers, the text of each numeric
	// feature value left to the caller to convert, in Schema order: nil for
	// the other values (missing ones, categories). It is in the Reader's
	// buffer and valid until the next call to Next. It is nil without
	// Options.DeferNumbers and for formats other than CSV.
	RawNumbers [][]byte
}

// Reasons for row errors, in addition to those of the event package
// (event.ReasonInvalidJSON and the others are used for NDJSON lines, and
// event.ReasonInvalidValue, event.ReasonInvalidTimestamp,
// event.ReasonTooLarge and event.ReasonModelMismatch for all formats).
const (
	// ReasonFieldCount: a CSV record has a different number of fields than the header.
	ReasonFieldCount event.Reason = "field_count"
	// ReasonInvalidCSV: a CSV record breaks RFC 4180 (a stray quote).
	ReasonInvalidCSV event.Reason = "invalid_csv"
	// ReasonTypeMismatch: a feature value does not fit its column type; it becomes Missing.
	ReasonTypeMismatch event.Reason = "type_mismatch"
)

// RowError is one rejected row, or one feature value replaced by Missing.
type RowError struct {
	// Line is the row's line (CSV, NDJSON) or row number (Parquet), from 1.
	Line int64
	// Column names the column at fault, or is "" for the row as a whole.
	Column string
	// Reason is a bounded reason, safe as a metric label.
	Reason event.Reason
	// Rejected is true when the row was skipped, false when it was returned
	// with the value of Column replaced by Missing.
	Rejected bool
	// Err says what is wrong.
	Err error
}

// Error returns a message such as `line 12: column "age": "abc" is not a number`.
func (e *RowError) Error() string {
	s := "line " + strconv.FormatInt(e.Line, 10) + ": "
	if e.Column != "" {
		s += "column " + quote(e.Column) + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *RowError) Unwrap() error { return e.Err }

// Stats count what a Reader has read so far.
type Stats struct {
	// Rows is the number of rows returned by Next.
	Rows int64
	// Rejected is the number of rows skipped. Rows + Rejected is the number
	// of records in the file that were read (CSV records after the header,
	// non-blank NDJSON lines, Parquet rows).
	Rejected int64
	// Mismatched counts, per feature column in Schema order, the values
	// replaced by Missing because they did not fit the column type.
	Mismatched []int64
	// UnknownFeatures counts NDJSON feature values dropped because their
	// key is not a schema column.
	UnknownFeatures int64
}

// ErrEmpty is returned by [Open] and [New] for a file with no data: no
// bytes, only blank lines, or (CSV) no header row.
var ErrEmpty = errors.New("empty file")

var errClosed = errors.New("dataset reader is closed")

// Reader reads the rows of one file. It is not safe for concurrent use.
type Reader struct {
	name   string // path, for messages; may be ""
	opts   Options
	size   int64
	file   *os.File // closed by Close when Open opened it
	src    source
	schema Schema
	row    Row
	feats  []event.Feature // backing array of row.Prediction.Features
	stats  Stats
	strs   interner
	nulls  nullSet
	limits event.Limits
	hash   *hasher
	err    error // sticky: io.EOF or a fatal error
	closed bool

	// Progress reporting.
	now          func() time.Time
	sinceCheck   int
	lastProgress time.Time
}

// source is one file format.
type source interface {
	// next fills r.row with the next good row, reporting bad ones through
	// r.reject and r.mismatch; it returns io.EOF at the end of the file.
	next(r *Reader) error
	// bytesRead returns the bytes of the file read so far.
	bytesRead() int64
	close()
}

// Open opens the file at path and reads its header (CSV), its footer
// (Parquet) or its first InferRows lines (NDJSON, and CSV with undeclared
// columns), so that Schema is known. The caller must Close the Reader.
func Open(path string, opts Options) (*Reader, error) {
	if opts.Format == Auto {
		f, err := FormatFromPath(path)
		if err != nil {
			return nil, err
		}
		opts.Format = f
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a directory, not a data file", path)
	}
	r, err := newReader(path, f, st.Size(), opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// New returns a Reader of the size bytes of ra, which must allow concurrent
// ReadAt calls (as [os.File] and [bytes.Reader] do). opts.Format must be set.
func New(ra io.ReaderAt, size int64, opts Options) (*Reader, error) {
	return newReader("", ra, size, opts)
}

func newReader(name string, ra io.ReaderAt, size int64, opts Options) (*Reader, error) {
	return newReaderCSV(name, ra, size, opts, openCSV)
}

// newReaderCSV is newReader with the CSV reader's constructor, which tests
// replace with a reference implementation.
func newReaderCSV(name string, ra io.ReaderAt, size int64, opts Options, openCSV func(*Reader, io.ReaderAt) (source, error)) (*Reader, error) {
	r := &Reader{name: name, size: size, now: time.Now}
	if err := r.setOptions(opts); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, r.errorf("%w", ErrEmpty)
	}
	// The hash is computed concurrently, from a reader of its own, so that
	// it costs no time on the decoding path (and Parquet, read out of order,
	// is hashed all the same).
	r.hash = startHash(ra, size)
	var err error
	switch r.opts.Format {
	case CSV:
		r.src, err = openCSV(r, ra)
	case NDJSON:
		r.src, err = openNDJSON(r, ra)
	case Parquet:
		r.src, err = openParquet(r, ra)
	}
	if err != nil {
		r.hash.stop()
		return nil, err
	}
	r.stats.Mismatched = make([]int64, len(r.schema.Columns))
	r.feats = make([]event.Feature, len(r.schema.Columns))
	for i, c := range r.schema.Columns {
		r.feats[i].Name = c.Name
	}
	r.row.Prediction.Features = r.feats
	if r.opts.DeferNumbers && r.opts.Format == CSV {
		r.row.RawNumbers = make([][]byte, len(r.schema.Columns))
	}
	r.lastProgress = r.now()
	return r, nil
}

func (r *Reader) setOptions(opts Options) error {
	switch opts.Format {
	case CSV, NDJSON, Parquet:
	case Auto:
		return errors.New("dataset: the format must be set when reading without a file name")
	default:
		return fmt.Errorf("dataset: unknown format %v", opts.Format)
	}
	if opts.InferRows < 0 {
		return fmt.Errorf("dataset: InferRows is %d; want 0 (the default) or more", opts.InferRows)
	}
	if opts.InferRows == 0 {
		opts.InferRows = DefaultInferRows
	}
	if opts.MaxRecordBytes < 0 {
		return fmt.Errorf("dataset: MaxRecordBytes is %d; want 0 (the default) or more", opts.MaxRecordBytes)
	}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	for name, t := range opts.Types {
		if t != Numeric && t != Categorical {
			return fmt.Errorf("dataset: column %s: type %v is neither Numeric nor Categorical", quote(name), t)
		}
	}
	r.limits = event.NewDecoder(opts.Limits).Limits() // fills the defaults
	r.nulls = newNullSet(opts.NullValues)
	r.opts = opts
	return nil
}

// Schema returns the feature columns of the rows. The caller may modify the
// returned Schema.
func (r *Reader) Schema() Schema {
	return Schema{Columns: slices.Clone(r.schema.Columns), Ignored: slices.Clone(r.schema.Ignored)}
}

// Next returns the next row, or io.EOF after the last one. The Row is reused
// by the next call. Any other error is fatal: the rest of the file cannot be
// read, and Next keeps returning it.
func (r *Reader) Next() (*Row, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.src.next(r); err != nil {
		if err == io.EOF {
			// The file is read: wait for its hash (a read error there is
			// as fatal as one here).
			if herr := r.hash.wait(); herr != nil {
				err = r.errorf("%w", herr)
			} else if r.opts.Progress != nil {
				r.opts.Progress(r.size, r.size)
			}
		}
		r.err = err
		return nil, err
	}
	r.stats.Rows++
	if r.opts.Progress != nil {
		if r.sinceCheck++; r.sinceCheck >= 1024 {
			r.sinceCheck = 0
			if now := r.now(); now.Sub(r.lastProgress) >= 100*time.Millisecond {
				r.lastProgress = now
				r.opts.Progress(r.BytesRead(), r.size)
			}
		}
	}
	return &r.row, nil
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Mismatched = slices.Clone(s.Mismatched)
	return s
}

// BytesRead returns how many bytes of the file have been read so far (for
// Parquet, through ReadAt, footer first): the file size once Next has
// returned io.EOF.
func (r *Reader) BytesRead() int64 {
	if r.err == io.EOF {
		return r.size
	}
	return min(r.src.bytesRead(), r.size)
}

// Size returns the size of the file in bytes.
func (r *Reader) Size() int64 { return r.size }

// SHA256 returns the SHA-256 digest of the whole file, for the source hash
// of a reference profile. It is computed while the rows are read, and ok is
// false until Next has returned io.EOF.
func (r *Reader) SHA256() (sum [32]byte, ok bool) {
	if r.err != io.EOF {
		return sum, false
	}
	return r.hash.sum, true
}

// Close releases the file. It does not fail when called twice.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.hash.stop()
	r.src.close()
	if r.err == nil {
		r.err = errClosed
	}
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}

// errorf returns an error prefixed with the file name.
func (r *Reader) errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if r.name != "" {
		return &pathError{path: r.name, err: err}
	}
	return err
}

// pathError prefixes an error with the file's path, keeping it unwrappable.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// reject counts a skipped row and reports it.
func (r *Reader) reject(line int64, column string, reason event.Reason, err error) {
	r.stats.Rejected++
	if r.opts.OnRowError != nil {
		r.opts.OnRowError(&RowError{Line: line, Column: column, Reason: reason, Rejected: true, Err: err})
	}
}

// rejectf is reject with a formatted message, built only when reported.
func (r *Reader) rejectf(line int64, column string, reason event.Reason, format string, args ...any) {
	r.stats.Rejected++
	if r.opts.OnRowError != nil {
		r.opts.OnRowError(&RowError{Line: line, Column: column, Reason: reason, Rejected: true, Err: fmt.Errorf(format, args...)})
	}
}

// mismatch counts a feature value replaced by Missing; fi is its schema index.
// why is called only when the error is reported, and says what is wrong.
func (r *Reader) mismatch(line int64, fi int, reason event.Reason, why string) {
	r.stats.Mismatched[fi]++
	if r.opts.OnRowError != nil {
		r.opts.OnRowError(&RowError{Line: line, Column: r.schema.Columns[fi].Name, Reason: reason, Err: errors.New(why)})
	}
}

// reporting says whether errors are reported, so that callers build
// messages only then.
func (r *Reader) reporting() bool { return r.opts.OnRowError != nil }

// quote quotes a user string for a message, shortened if long.
func quote(s string) string {
	if len(s) > 64 {
		i := 64
		for i > 0 && s[i]&0xC0 == 0x80 {
			i--
		}
		return strconv.Quote(s[:i]) + "…"
	}
	return strconv.Quote(s)
}
