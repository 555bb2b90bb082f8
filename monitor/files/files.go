// Package files is vigil's file source: it tails NDJSON or CSV files matched by globs and
// applies their records through the ingest path of the HTTP API.
//
// # Rotation
//
// A file is followed by its identity (device and inode), not its name, and stays open
// until it has been read to the end after it stopped matching the globs, so the lines a
// writer appends just before a rename (logrotate's create mode) are not lost. A file that
// shrank below the read offset (copytruncate) is read again from the start. Only complete
// lines are taken; a partial last line waits for its newline.
//
// # Offsets
//
// The offset of every file is saved (by identity, with its path) after its lines are
// applied, atomically, so a restart resumes after the last applied line and a crash repeats
// at most the lines applied since the last save.
package files

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// Defaults of a file source.
const (
	DefaultPollInterval = time.Second
	maxChunk            = 4 << 20 // bytes read from one file per poll and applied at once
)

// Config is one entry of file_sources.
type Config struct {
	Name  string   `yaml:"name"`
	Paths []string `yaml:"paths"`
	// Kind is predictions (default) or labels.
	Kind string `yaml:"kind"`
	// Format is ndjson (default) or csv (a header line, then one record a line).
	Format       string            `yaml:"format"`
	PollInterval yamlconf.Duration `yaml:"poll_interval"`
}

// UnmarshalYAML sets the defaults before the file's values are read.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = Config{Kind: "predictions", Format: "ndjson", PollInterval: yamlconf.Duration(DefaultPollInterval)}
	type plain Config
	return unmarshal((*plain)(c))
}

// ValidateAll checks file_sources; dir resolves relative paths.
func ValidateAll(cs []Config, dir string) error {
	seen := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		at := fmt.Sprintf("file_sources[%d]", i)
		switch {
		case c.Name == "":
			return yamlconf.FieldErr(at+".name", "is required")
		case seen[c.Name]:
			return yamlconf.FieldErr(at+".name", "%q is used twice", c.Name)
		case len(c.Paths) == 0:
			return yamlconf.FieldErr(at+".paths", "at least one path or glob is required")
		case c.Kind != "predictions" && c.Kind != "labels":
			return yamlconf.FieldErr(at+".kind", "%q is not one of predictions, labels", c.Kind)
		case c.Format != "ndjson" && c.Format != "csv":
			return yamlconf.FieldErr(at+".format", "%q is not one of ndjson, csv", c.Format)
		case c.PollInterval <= 0:
			return yamlconf.FieldErr(at+".poll_interval", "must be positive")
		}
		seen[c.Name] = true
		for j, p := range c.Paths {
			if _, err := filepath.Match(p, ""); err != nil {
				return yamlconf.FieldErr(fmt.Sprintf("%s.paths[%d]", at, j), "%w", err)
			}
			if !filepath.IsAbs(p) {
				c.Paths[j] = filepath.Join(dir, p)
			}
		}
	}
	return nil
}

// Sink applies an NDJSON body of labels or predictions and returns once they are applied.
type Sink func(ctx context.Context, labels bool, ndjson []byte) error

// Options configure a Tailer.
type Options struct {
	Configs []Config
	Sink    Sink
	// OffsetFile keeps the offsets across restarts ("" keeps them in memory only).
	OffsetFile string
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// identity names a file whatever its path: device and inode.
type identity struct{ dev, ino uint64 }

func (id identity) String() string { return fmt.Sprintf("%d:%d", id.dev, id.ino) }

// saved is what the offset file keeps of a file.
type saved struct {
	Source string `json:"source"`
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
}

// tracked is a file being followed.
type tracked struct {
	f      *os.File
	path   string
	offset int64
	header []string // csv: the column names
}

// Tailer follows the configured files.
type Tailer struct {
	opts    Options
	files   []map[identity]*tracked // per config
	offsets map[string]saved        // by identity string, loaded at start
	logger  *slog.Logger

	lines, errs *prometheus.CounterVec
	open        *prometheus.GaugeVec
}

// New loads the saved offsets and registers the metrics.
func New(opts Options) (*Tailer, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Tailer{opts: opts, offsets: map[string]saved{}, logger: opts.Logger}
	for range opts.Configs {
		t.files = append(t.files, map[identity]*tracked{})
	}
	if opts.OffsetFile != "" {
		b, err := os.ReadFile(opts.OffsetFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read file offsets: %w", err)
		default:
			if err := json.Unmarshal(b, &t.offsets); err != nil {
				return nil, fmt.Errorf("file offsets %s: %w", opts.OffsetFile, err)
			}
		}
	}
	f := promauto.With(opts.Registerer)
	t.lines = f.NewCounterVec(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "file", Name: "lines_total",
		Help: "Lines read from files and handed to ingestion, by source."}, []string{"source"})
	t.errs = f.NewCounterVec(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "file", Name: "errors_total",
		Help: "File source errors by reason: open, read, csv, ingest, save."}, []string{"source", "reason"})
	t.open = f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vigil", Subsystem: "file", Name: "open_files",
		Help: "Files being followed, by source."}, []string{"source"})
	for _, c := range opts.Configs {
		t.lines.WithLabelValues(c.Name)
		t.open.WithLabelValues(c.Name)
		for _, r := range []string{"open", "read", "csv", "ingest", "save"} {
			t.errs.WithLabelValues(c.Name, r)
		}
	}
	return t, nil
}

// Run polls every source on its interval until ctx ends, then closes the files.
func (t *Tailer) Run(ctx context.Context) error {
	defer t.close()
	interval := time.Duration(0)
	for _, c := range t.opts.Configs {
		if iv := c.PollInterval.Std(); interval == 0 || iv < interval {
			interval = iv
		}
	}
	if interval == 0 {
		return nil
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		t.PollOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (t *Tailer) close() {
	for _, m := range t.files {
		for _, tr := range m {
			tr.f.Close()
		}
	}
}

// PollOnce reads what every file has gained since the last poll and applies it.
func (t *Tailer) PollOnce(ctx context.Context) {
	changed := false
	for i := range t.opts.Configs {
		if t.pollSource(ctx, i) {
			changed = true
		}
	}
	if changed {
		if err := t.save(); err != nil {
			t.logger.Warn("cannot save file offsets", "err", err)
			for _, c := range t.opts.Configs {
				t.errs.WithLabelValues(c.Name, "save").Inc()
			}
		}
	}
}

func (t *Tailer) pollSource(ctx context.Context, i int) (changed bool) {
	c := &t.opts.Configs[i]
	files := t.files[i]
	matched := map[identity]bool{}
	var paths []string
	for _, g := range c.Paths {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	slices.Sort(paths)
	for _, p := range slices.Compact(paths) {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		id, ok := identityOf(st)
		if !ok {
			continue
		}
		matched[id] = true
		tr := files[id]
		if tr == nil {
			f, err := os.Open(p)
			if err != nil {
				t.errs.WithLabelValues(c.Name, "open").Inc()
				t.logger.Warn("cannot open file", "source", c.Name, "path", p, "err", err)
				continue
			}
			tr = &tracked{f: f, path: p}
			if s, ok := t.offsets[id.String()]; ok && s.Source == c.Name {
				tr.offset = s.Offset
			}
			files[id] = tr
		}
		tr.path = p
	}
	for id, tr := range files {
		n, err := t.readFile(ctx, c, tr)
		if err != nil {
			t.logger.Warn("file source", "source", c.Name, "path", tr.path, "err", err)
		}
		if n {
			changed = true
		}
		if !matched[id] && err == nil && !n {
			// Rotated away (or deleted) and read to its end: let it go.
			tr.f.Close()
			delete(files, id)
			delete(t.offsets, id.String())
			changed = true
		}
	}
	t.open.WithLabelValues(c.Name).Set(float64(len(files)))
	return changed
}

// readFile applies the complete lines after the offset, in chunks; it reports whether the
// offset moved.
func (t *Tailer) readFile(ctx context.Context, c *Config, tr *tracked) (bool, error) {
	st, err := tr.f.Stat()
	if err != nil {
		t.errs.WithLabelValues(c.Name, "read").Inc()
		return false, err
	}
	if st.Size() < tr.offset {
		t.logger.Info("file shrank; reading it again from the start", "source", c.Name, "path", tr.path)
		tr.offset, tr.header = 0, nil
	}
	moved := false
	for tr.offset < st.Size() {
		chunk := make([]byte, min(st.Size()-tr.offset, maxChunk))
		n, err := tr.f.ReadAt(chunk, tr.offset)
		if err != nil && !errors.Is(err, io.EOF) {
			t.errs.WithLabelValues(c.Name, "read").Inc()
			return moved, err
		}
		chunk = chunk[:n]
		end := bytes.LastIndexByte(chunk, '\n')
		if end < 0 {
			if int64(len(chunk)) >= maxChunk {
				t.errs.WithLabelValues(c.Name, "read").Inc()
				return moved, fmt.Errorf("a line longer than %d bytes at offset %d", maxChunk, tr.offset)
			}
			return moved, nil // a partial line: wait for its newline
		}
		lines := chunk[:end+1]
		body := lines
		skipHeader := false
		if c.Format == "csv" {
			if tr.offset == 0 && tr.header == nil {
				skipHeader = true
			}
			if tr.header == nil {
				h, err := readHeader(tr.f)
				if err != nil {
					t.errs.WithLabelValues(c.Name, "csv").Inc()
					return moved, err
				}
				tr.header = h
			}
			if skipHeader {
				_, body, _ = bytes.Cut(lines, []byte{'\n'})
			}
			body, err = CSVToNDJSON(tr.header, body, c.Kind == "labels")
			if err != nil {
				t.errs.WithLabelValues(c.Name, "csv").Inc()
				return moved, fmt.Errorf("%s at offset %d: %w", tr.path, tr.offset, err)
			}
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if err := t.opts.Sink(ctx, c.Kind == "labels", body); err != nil {
				t.errs.WithLabelValues(c.Name, "ingest").Inc()
				return moved, fmt.Errorf("%s at offset %d: %w", tr.path, tr.offset, err)
			}
			t.lines.WithLabelValues(c.Name).Add(float64(bytes.Count(body, []byte{'\n'})))
		}
		tr.offset += int64(len(lines))
		moved = true
		id, _ := identityOf(st)
		t.offsets[id.String()] = saved{Source: c.Name, Path: tr.path, Offset: tr.offset}
	}
	return moved, nil
}

func readHeader(f *os.File) ([]string, error) {
	r := csv.NewReader(io.NewSectionReader(f, 0, 1<<20))
	h, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	return h, nil
}

func identityOf(st os.FileInfo) (identity, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return identity{}, false
	}
	return identity{dev: uint64(sys.Dev), ino: sys.Ino}, true
}

// save writes the offsets atomically.
func (t *Tailer) save() error {
	if t.opts.OffsetFile == "" {
		return nil
	}
	b, err := json.Marshal(t.offsets)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.opts.OffsetFile), 0o755); err != nil {
		return err
	}
	tmp := t.opts.OffsetFile + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, t.opts.OffsetFile)
}

// The CSV columns that are fields of the event rather than features.
var (
	predictionColumns = []string{"model", "version", "role", "id", "timestamp", "prediction", "score", "latency_ms"}
	labelColumns      = []string{"model", "id", "label", "timestamp"}
	numericColumns    = []string{"score", "latency_ms"}
)

// CSVToNDJSON turns CSV rows (without their header) into vigil event NDJSON. Columns named
// as event fields (model, version, role, id, timestamp, prediction, score, latency_ms; for
// labels model, id, label, timestamp) are those fields; every other column of a prediction
// is a feature. A value that parses as a number is a number, an empty one is missing, any
// other a string.
func CSVToNDJSON(header []string, rows []byte, labels bool) ([]byte, error) {
	fields := predictionColumns
	if labels {
		fields = labelColumns
	}
	r := csv.NewReader(bytes.NewReader(rows))
	r.FieldsPerRecord = len(header)
	r.ReuseRecord = true
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		ev := map[string]any{}
		var feats map[string]any
		for i, col := range header {
			v := rec[i]
			switch {
			case slices.Contains(fields, col):
				if v == "" {
					continue
				}
				if col == "prediction" || col == "label" || slices.Contains(numericColumns, col) {
					if f, err := strconv.ParseFloat(v, 64); err == nil && !isSpecial(v) {
						ev[col] = f
						continue
					}
					if slices.Contains(numericColumns, col) {
						return nil, fmt.Errorf("row %d: %s %q is not a number", line, col, v)
					}
				}
				ev[col] = v
			case labels:
				// Other columns of a label file are not part of a label.
			default:
				if feats == nil {
					feats = map[string]any{}
				}
				feats[col] = csvValue(v)
			}
		}
		if feats != nil {
			ev["features"] = feats
		}
		if err := enc.Encode(ev); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

func csvValue(v string) any {
	if v == "" {
		return nil
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && !isSpecial(v) {
		return f
	}
	return v
}

// isSpecial reports the spellings ParseFloat accepts that JSON cannot carry.
func isSpecial(v string) bool {
	switch strings.ToLower(strings.TrimSpace(strings.TrimLeft(v, "+-"))) {
	case "nan", "inf", "infinity":
		return true
	}
	return false
}
