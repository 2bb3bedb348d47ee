package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// owner names the process a lab belongs to: its pid and its start time in
// clock ticks since boot (field 22 of /proc/<pid>/stat), so that a pid
// reused by another process does not keep a dead owner's lab alive.
type owner struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// self returns this process as an owner.
func self() (owner, error) {
	pid := os.Getpid()
	start, err := processStart(pid)
	if err != nil {
		return owner{}, fmt.Errorf("lab owner: %w", err)
	}
	return owner{PID: pid, Start: start}, nil
}

// gone reports whether the owner process has ended.
func (o owner) gone() bool {
	start, err := processStart(o.PID)
	return err != nil || start != o.Start
}

// processStart reads a process's start time from /proc.
func processStart(pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from after its closing parenthesis, which is field 3.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("/proc stat without a command name")
	}
	f := strings.Fields(s[i+1:])
	const startField = 22 - 3
	if len(f) <= startField {
		return 0, fmt.Errorf("/proc stat of %d has %d fields after the name", pid, len(f))
	}
	return strconv.ParseUint(f[startField], 10, 64)
}
