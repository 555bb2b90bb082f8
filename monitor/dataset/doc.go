// Package dataset streams the rows of a data file, training data or logged
// predictions, as [event.Prediction] records in constant memory, for
// `vigil baseline`, `vigil replay` and `vigil report`.
//
// Three formats are read:
//
//   - CSV: RFC 4180 (as encoding/csv reads it) with a header row naming the
//     columns; a UTF-8 byte order mark before it is skipped, CRLF and LF line
//     ends are both accepted, and empty lines are skipped. A record on one
//     line without quotes is split straight from the read buffer; any other
//     is read by encoding/csv, with the same result.
//   - NDJSON: one prediction object per line, exactly as the HTTP API takes
//     them (DESIGN.md "Events (JSON)"), checked by the same [event.Decoder].
//   - Parquet: flat files whose columns are booleans, integers, floating-point
//     or decimal numbers, strings, timestamps, dates or UUIDs, required or
//     nullable, read one page per column at a time, never the whole file.
//
// [Options] map the columns of a file to their meaning: features, the
// prediction, the score, the label, the id, the timestamp and the model.
// Each feature column has a [ColumnType], declared by the caller (from the
// vigil configuration) or inferred from the first rows of the file, which
// are read ahead and then returned as usual.
//
// # Bad rows
//
// Bad rows never stop reading. A row that cannot be used (a CSV record with
// the wrong number of fields or a stray quote, an NDJSON line the API would
// reject, an unparsable timestamp or score, another model than
// [Options.Model]) is skipped; a feature value that does not fit its
// column's type (text in a numeric column, invalid UTF-8, a string longer
// than the limit) becomes [event.Missing]. Both are counted in [Stats] and
// reported, with their line, to [Options.OnRowError]. Only read errors and
// files that cannot be parsed further (a corrupt Parquet page, a CSV record
// longer than [Options.MaxRecordBytes]) end reading with an error.
//
// # Numbers and missing values
//
// A CSV number is what [strconv.ParseFloat] accepts, with spaces around it
// allowed, as long as it is finite; numbers too small for a float64 become
// 0. The texts of [DefaultNullValues] ("", "NA", "N/A", "NaN", "nan",
// "null", "NULL") are [event.Missing], in any column; so are JSON null, a
// Parquet null, and a floating-point NaN in a Parquet column (as pandas
// writes missing floats). Values never hold NaN or infinite numbers: an
// infinite value is a type mismatch.
//
// # Timestamps
//
// A timestamp column holds RFC 3339 times ("2026-11-24T10:00:00Z") or Unix
// seconds, as in the HTTP API; Parquet timestamp, date and INT96 columns are
// converted from their units. An empty timestamp leaves
// [event.Prediction.Time] zero. As features, Parquet timestamps and dates are
// numbers of Unix seconds.
//
// # Memory
//
// A Reader holds one CSV record, NDJSON line or Parquet page per column at
// a time, plus the rows read ahead for type inference, and a bounded table
// of interned strings (model names, categories). Strings in rows may be
// kept: they are interned or copied, never the read buffer's, so a row of
// numbers and repeated categories allocates nothing (an id column costs a
// string per row). The file's SHA-256 is
// computed alongside, by a goroutine reading the file on its own.
package dataset
