package history

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/lab/syncbuf"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func event(id uint64, at time.Time) health.Event {
	return health.Event{ID: id, Kind: health.KindLinkState, Time: at, Link: "primary", State: health.StateDown, Previous: health.StateUp,
		Reasons: []string{"BGP session down"}}
}

func ids(evs []health.Event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func open(t *testing.T, dir string, o Options) (*Store, *syncbuf.Buffer) {
	t.Helper()
	var logs syncbuf.Buffer
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	s := Open(dir, o, slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { s.Close() })
	return s, &logs
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{})
	for i := range 3 {
		s.Append(event(uint64(i+1), t0.Add(time.Duration(i)*time.Second)))
	}
	s.Close()
	s, _ = open(t, dir, Options{})
	if got := ids(s.Events()); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("events read back %v, want [1 2 3]", got)
	}
	if got := testutil.ToFloat64(s.ok); got != 1 {
		t.Errorf("dxwatch_storage_ok %v, want 1", got)
	}
}

func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := func(id uint64) string {
		b, _ := json.Marshal(event(id, t0))
		return string(b) + "\n"
	}
	// Garbage, a record of another shape, and a last write torn in half.
	content := good(1) + "\x00\x01garbage\n" + `{"foo":1}` + "\n" + good(2) + good(3)[:40]
	if err := os.WriteFile(filepath.Join(dir, CurrentFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s, logs := open(t, dir, Options{})
	if got := ids(s.Events()); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("events read back %v, want [1 2]", got)
	}
	if got := testutil.ToFloat64(s.errs.WithLabelValues("read")); got != 3 {
		t.Errorf(`dxwatch_storage_errors_total{op="read"} %v, want 3`, got)
	}
	if !strings.Contains(logs.String(), "skipped=3 first_line=2") {
		t.Errorf("log does not report the skipped records: %s", logs)
	}
	// The store works on, and the damaged lines are gone from disk.
	s.Append(event(4, t0))
	s.Close()
	s, _ = open(t, dir, Options{})
	if got := ids(s.Events()); len(got) != 3 || got[2] != 4 {
		t.Errorf("events after a rewrite %v, want [1 2 4]", got)
	}
	if got := testutil.ToFloat64(s.errs.WithLabelValues("read")); got != 0 {
		t.Errorf("damaged records still on disk after the rewrite: %v read errors", got)
	}
}

func TestLineTooLong(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.Marshal(event(1, t0))
	content := string(b) + "\n" + strings.Repeat("x", maxLine+10) + "\n"
	if err := os.WriteFile(filepath.Join(dir, CurrentFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := open(t, dir, Options{})
	if got := ids(s.Events()); len(got) != 1 {
		t.Errorf("events read back %v, want [1]", got)
	}
	if got := testutil.ToFloat64(s.errs.WithLabelValues("read")); got != 1 {
		t.Errorf(`dxwatch_storage_errors_total{op="read"} %v, want 1`, got)
	}
}

func TestBounds(t *testing.T) {
	t.Run("age", func(t *testing.T) {
		dir := t.TempDir()
		s, _ := open(t, dir, Options{})
		s.Append(event(1, t0.Add(-48*time.Hour)))
		s.Append(event(2, t0.Add(-2*time.Hour)))
		s.Close()
		s, _ = open(t, dir, Options{MaxAge: 24 * time.Hour})
		if got := ids(s.Events()); len(got) != 1 || got[0] != 2 {
			t.Errorf("events read back with a 24h retention %v, want [2]", got)
		}
	})
	t.Run("size", func(t *testing.T) {
		dir := t.TempDir()
		b, _ := json.Marshal(event(1, t0))
		line := int64(len(b) + 1)
		max := 10 * line // two files of 5 lines
		s, _ := open(t, dir, Options{MaxBytes: max})
		for i := range 100 {
			s.Append(event(uint64(i+1), t0))
		}
		var total int64
		for _, name := range []string{CurrentFile, PreviousFile} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
				total += fi.Size()
			}
		}
		if total > max {
			t.Errorf("history takes %d bytes on disk, the bound is %d", total, max)
		}
		s.Close()
		s, _ = open(t, dir, Options{MaxBytes: max})
		got := ids(s.Events())
		if len(got) == 0 || got[len(got)-1] != 100 || int64(len(got))*line > max/2 {
			t.Errorf("events read back %v: want the newest (ending with 100) within %d bytes", got, max/2)
		}
	})
}

func TestOversizedFile(t *testing.T) {
	// A file far beyond the bound (not written by this store, or by one
	// with a larger bound): only its end is read, from a whole line.
	dir := t.TempDir()
	var b strings.Builder
	for i := range 2000 {
		line, _ := json.Marshal(event(uint64(i+1), t0))
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, CurrentFile), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	bound := int64(b.Len() / 20)
	s, logs := open(t, dir, Options{MaxBytes: bound})
	got := ids(s.Events())
	if len(got) == 0 || got[len(got)-1] != 2000 || got[0] < 1000 {
		t.Errorf("events read from an oversized file: %d, from %v to %v; want the newest only, ending with 2000", len(got), got[:min(1, len(got))], got[max(0, len(got)-1):])
	}
	if n := testutil.ToFloat64(s.errs.WithLabelValues("read")); n != 0 {
		t.Errorf("%v records reported damaged: the cut must fall on a line boundary", n)
	}
	if !strings.Contains(logs.String(), "read its end only") {
		t.Errorf("no log line about the oversized file: %s", logs)
	}
}

func TestUnwritable(t *testing.T) {
	t.Run("not a directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		s, logs := open(t, filepath.Join(file, "state"), Options{})
		if got := testutil.ToFloat64(s.ok); got != 0 {
			t.Errorf("dxwatch_storage_ok %v, want 0", got)
		}
		if got := testutil.ToFloat64(s.errs.WithLabelValues("open")); got != 1 {
			t.Errorf(`dxwatch_storage_errors_total{op="open"} %v, want 1`, got)
		}
		if !strings.Contains(logs.String(), "StateDirectory=dxwatch") {
			t.Errorf("the log does not say how to fix it: %s", logs)
		}
		s.Append(event(8, t0)) // does nothing, does not panic
	})
	t.Run("readable, not writable", func(t *testing.T) {
		// The rewrite cannot happen (its temporary file's name is taken by
		// a directory, which stops root as well as a read-only mode would):
		// the stored events are still shown.
		dir := t.TempDir()
		b, _ := json.Marshal(event(7, t0))
		if err := os.WriteFile(filepath.Join(dir, CurrentFile), append(b, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, CurrentFile+".tmp"), 0o700); err != nil {
			t.Fatal(err)
		}
		s, _ := open(t, dir, Options{})
		if got := ids(s.Events()); len(got) != 1 || got[0] != 7 {
			t.Errorf("events of a history that cannot be rewritten %v, want [7]", got)
		}
		if got := testutil.ToFloat64(s.ok); got != 0 {
			t.Errorf("dxwatch_storage_ok %v, want 0", got)
		}
	})
}

func TestWriteFailureLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	s, logs := open(t, dir, Options{})
	s.f.Close() // every write now fails
	for i := range 5 {
		s.Append(event(uint64(i+1), t0))
	}
	if n := strings.Count(logs.String(), "write failed"); n != 1 {
		t.Errorf("%d log lines for 5 failed writes, want 1", n)
	}
	if got := testutil.ToFloat64(s.errs.WithLabelValues("write")); got != 5 {
		t.Errorf(`dxwatch_storage_errors_total{op="write"} %v, want 5`, got)
	}
	if got := testutil.ToFloat64(s.ok); got != 0 {
		t.Errorf("dxwatch_storage_ok %v, want 0", got)
	}
}
