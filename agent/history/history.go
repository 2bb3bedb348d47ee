package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/agent/health"
)

// File names inside the state directory: the file being appended to and
// the one before it.
const (
	CurrentFile  = "events.jsonl"
	PreviousFile = "events.jsonl.1"
)

// maxLine bounds one record: a failover with its whole timeline is a few
// kB; a longer line is not one of ours.
const maxLine = 1 << 20

// Defaults of Options.
const (
	DefaultMaxBytes = 16 << 20
	DefaultMaxAge   = 90 * 24 * time.Hour
)

// Options bound the store.
type Options struct {
	// MaxBytes bounds the two files together: the current file is rotated
	// when it passes half of it. Zero means DefaultMaxBytes.
	MaxBytes int64
	// MaxAge drops the events older than it when the store opens. Zero
	// means DefaultMaxAge.
	MaxAge time.Duration
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Store is the event history on disk. Its zero value is not usable: call
// Open. A store that cannot work says so (a log line and
// dxwatch_storage_ok 0) and does nothing; it never stops the agent.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	f      *os.File // nil when the store is off
	size   int64
	failed bool // the last write failed (logged once until one succeeds)

	ok     prometheus.Gauge
	errs   *prometheus.CounterVec
	kept   prometheus.Gauge
	events []health.Event // read by Open, handed over once by Events
}

// Open opens the history in dir, creating dir when missing, reads the
// events stored there (skipping and reporting lines that do not decode and
// events older than MaxAge) and rewrites them into one fresh file. When dir
// cannot be used the store is off: Append does nothing, the problem is
// logged and exported, and Open still returns a Store.
func Open(dir string, opts Options, logger *slog.Logger) *Store {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		dir: dir, opts: opts, log: logger,
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dxwatch_storage_ok",
			Help: "Whether the event history on disk (--storage.path) works (1) or not (0): unwritable, or its last write failed.",
		}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxwatch_storage_errors_total",
			Help: "Problems of the event history on disk, by operation: open (the directory or file cannot be used), read (a stored record that does not decode, skipped), write.",
		}, []string{"op"}),
		kept: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dxwatch_storage_events",
			Help: "Events read back from the history on disk when the agent started.",
		}),
	}
	for _, op := range []string{"open", "read", "write"} {
		s.errs.WithLabelValues(op)
	}
	err := s.open()
	// Events read before a failure (a read-only directory) are still shown.
	s.kept.Set(float64(len(s.events)))
	if err != nil {
		s.errs.WithLabelValues("open").Inc()
		s.log.Error("event history on disk is off: the agent runs on without it, past events will not survive a restart",
			"dir", dir, "err", err,
			"fix", "make the directory writable by the user dxwatch runs as (systemd: StateDirectory=dxwatch; container: a volume owned by 65532), or set --storage.path")
		return s
	}
	s.ok.Set(1)
	return s
}

// open reads, compacts and opens the files.
func (s *Store) open() error {
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	cutoff := s.opts.Now().Add(-s.opts.MaxAge)
	for _, name := range []string{PreviousFile, CurrentFile} {
		evs, err := s.read(filepath.Join(s.dir, name), cutoff)
		if err != nil {
			return err
		}
		s.events = append(s.events, evs...)
	}
	// Keep the newest that fit in half the budget, so that the fresh file
	// is not rotated at once.
	lines := make([][]byte, len(s.events))
	var total int64
	first := len(s.events)
	for i := len(s.events) - 1; i >= 0; i-- {
		b, err := json.Marshal(s.events[i])
		if err != nil {
			return fmt.Errorf("encode event %d: %w", s.events[i].ID, err)
		}
		b = append(b, '\n')
		if total+int64(len(b)) > s.opts.MaxBytes/2 {
			break
		}
		lines[i], total, first = b, total+int64(len(b)), i
	}
	s.events = s.events[first:]
	tmp := filepath.Join(s.dir, CurrentFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, b := range lines[first:] {
		w.Write(b) // the error is Flush's
	}
	err = errors.Join(w.Flush(), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, CurrentFile))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write history: %w", err)
	}
	if err := os.Remove(filepath.Join(s.dir, PreviousFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", PreviousFile, err)
	}
	s.f, err = os.OpenFile(filepath.Join(s.dir, CurrentFile), os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open history: %w", err)
	}
	s.size = total
	return nil
}

// read returns the events of one file that decode and are not older than
// cutoff. A line that does not decode (a torn last write, a damaged disk)
// is skipped, counted and reported in one log line per file; a missing
// file is empty.
func (s *Store) read(path string, cutoff time.Time) ([]health.Event, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	// A file far beyond the bound is not one this store wrote: read its
	// end only, from the first whole line, so that memory stays bounded.
	if fi, err := f.Stat(); err == nil && fi.Size() > 2*s.opts.MaxBytes {
		if _, err := f.Seek(fi.Size()-2*s.opts.MaxBytes, io.SeekStart); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		br := bufio.NewReader(f)
		for {
			_, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil {
				return nil, nil // no whole line in the end
			}
			break
		}
		r = br
		s.log.Warn("event history: file larger than the retention size, read its end only", "file", path, "bytes", fi.Size())
	}
	var evs []health.Event
	bad, firstBad, line := 0, 0, 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line++
		var ev health.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.ID == 0 || ev.Kind == "" || ev.Time.IsZero() {
			if bad == 0 {
				firstBad = line
			}
			bad++
			continue
		}
		if ev.Time.Before(cutoff) {
			continue
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		// A line beyond maxLine: not ours; what came before it is kept.
		bad++
		if firstBad == 0 {
			firstBad = line + 1
		}
		s.log.Warn("event history: stopped reading a damaged file", "file", path, "line", line+1, "err", err)
	}
	if bad > 0 {
		s.errs.WithLabelValues("read").Add(float64(bad))
		s.log.Warn("event history: skipped records that do not decode; the good ones are kept",
			"file", path, "skipped", bad, "first_line", firstBad, "kept", len(evs))
	}
	return evs, nil
}

// Events returns the events Open read back, oldest first, once: the store
// does not keep them.
func (s *Store) Events() []health.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.events
	s.events = nil
	return evs
}

// Append writes ev at the end of the history, rotating the file when it
// passes half of MaxBytes. It is the health model's event hook: it does
// not wait for the disk (no fsync), and a failure is logged once until a
// write succeeds again.
func (s *Store) Append(ev health.Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		s.writeFailed(fmt.Errorf("encode event %d: %w", ev.ID, err))
		return
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return
	}
	if s.size > 0 && s.size+int64(len(b)) > s.opts.MaxBytes/2 {
		if err := s.rotate(); err != nil {
			s.writeFailedLocked(err)
			return
		}
	}
	n, err := s.f.Write(b)
	s.size += int64(n)
	if err != nil {
		s.writeFailedLocked(fmt.Errorf("append event %d: %w", ev.ID, err))
		return
	}
	if s.failed {
		s.failed = false
		s.ok.Set(1)
		s.log.Info("event history: writing again", "dir", s.dir)
	}
}

// rotate makes the current file the previous one (dropping the one
// before) and starts a new current file.
func (s *Store) rotate() error {
	cur := filepath.Join(s.dir, CurrentFile)
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("rotate history: %w", err)
	}
	if err := os.Rename(cur, filepath.Join(s.dir, PreviousFile)); err != nil {
		s.f = nil
		return fmt.Errorf("rotate history: %w", err)
	}
	f, err := os.OpenFile(cur, os.O_CREATE|os.O_APPEND|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		s.f = nil
		return fmt.Errorf("rotate history: %w", err)
	}
	s.f, s.size = f, 0
	return nil
}

func (s *Store) writeFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeFailedLocked(err)
}

func (s *Store) writeFailedLocked(err error) {
	s.errs.WithLabelValues("write").Inc()
	s.ok.Set(0)
	if !s.failed {
		s.failed = true
		s.log.Error("event history: write failed; events stay in memory only", "dir", s.dir, "err", err)
	}
}

// Close closes the file. The store does nothing afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Describe implements prometheus.Collector.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	s.ok.Describe(ch)
	s.errs.Describe(ch)
	s.kept.Describe(ch)
}

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	s.ok.Collect(ch)
	s.errs.Collect(ch)
	s.kept.Collect(ch)
}
