package main

import (
	"flag"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/common/promslog"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress is a byte progress bar on a terminal, and nothing otherwise (CI logs and
// pipes get no control characters).
type progress struct {
	bar  *progressbar.ProgressBar
	desc string
}

// newProgress returns a bar drawing on w when w is a terminal.
func newProgress(w io.Writer, desc string) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{desc: desc, bar: progressbar.NewOptions64(-1, progressbar.OptionSetWriter(w), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(desc), progressbar.OptionClearOnFinish())}
}

// update sets the bar to read of total bytes, under desc.
func (p *progress) update(desc string, read, total int64) {
	if p.bar == nil {
		return
	}
	if desc != p.desc {
		p.desc = desc
		p.bar.Describe(desc)
	}
	p.bar.ChangeMax64(total)
	_ = p.bar.Set64(read)
}

// finish clears the bar.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// logFlags registers --log.level and --log.format on fs; the returned func builds the
// logger once fs is parsed.
func logFlags(fs *flag.FlagSet) func(w io.Writer) *slog.Logger {
	cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
	fs.Var(cfg.Level, "log.level", "log level: debug, info, warn, error")
	fs.Var(cfg.Format, "log.format", "log format: logfmt, json")
	return func(w io.Writer) *slog.Logger {
		cfg.Writer = w
		return promslog.New(cfg)
	}
}
