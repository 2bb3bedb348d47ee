package lab

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// writeLab writes the state file of a lab that has no namespaces, as a
// killed test leaves one whose hosts are gone too.
func writeLab(t *testing.T, dir, prefix string, o *owner) string {
	t.Helper()
	d := filepath.Join(dir, prefix)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(state{Prefix: prefix, Dir: d, Edge: EdgeOne, Links: map[string]string{}, Owner: o})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "state.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestStaleLabs(t *testing.T) {
	me, err := self()
	if err != nil {
		t.Fatal(err)
	}
	// A process that has ended: its pid and start time name nobody now.
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start, err := processStart(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dead := owner{PID: cmd.Process.Pid, Start: start}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// This process's pid with another start time: a reused pid.
	reused := owner{PID: me.PID, Start: me.Start + 1}

	dir := t.TempDir()
	writeLab(t, dir, "dxl0001", &me)
	writeLab(t, dir, "dxl0002", &dead)
	writeLab(t, dir, "dxl0003", nil) // dxlab up: never stale
	writeLab(t, dir, "dxl0004", &reused)

	got, err := Stale(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range got {
		names = append(names, filepath.Base(d))
	}
	if want := []string{"dxl0002", "dxl0004"}; !slices.Equal(names, want) {
		t.Fatalf("Stale = %v, want %v", names, want)
	}

	reaped, err := ReapStale(dir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dxl0002", "dxl0004"}; !slices.Equal(reaped, want) {
		t.Fatalf("ReapStale = %v, want %v", reaped, want)
	}
	left, err := Running(dir)
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, d := range left {
		names = append(names, filepath.Base(d))
	}
	if want := []string{"dxl0001", "dxl0003"}; !slices.Equal(names, want) {
		t.Fatalf("after reaping, running = %v, want %v", names, want)
	}
}

func TestProcessStartOfSelf(t *testing.T) {
	me, err := self()
	if err != nil {
		t.Fatal(err)
	}
	if me.Start == 0 || me.gone() {
		t.Fatalf("self = %+v, gone %v", me, me.gone())
	}
	if _, err := processStart(-1); err == nil {
		t.Fatal("processStart(-1): no error")
	}
}
