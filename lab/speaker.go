package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A speaker is a throwaway FRR bgpd on the agent host that peers with the
// edge routers the way dxwatch does (iBGP from AgentAddress, ADD-PATH
// receive), so the lab's own test sees what the edges send the agent
// without importing a BGP library. It runs without zebra and without a
// listener, and installs nothing.

// startSpeaker starts the speaker; stopSpeaker stops it.
func (l *Lab) startSpeaker(ctx context.Context) error {
	cfg, err := l.topo.renderSpeaker()
	if err != nil {
		return err
	}
	dir := l.hostDir(HostAgent)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bgpd.conf"), []byte(cfg), 0o640); err != nil {
		return err
	}
	if err := chownFRR(dir); err != nil {
		return err
	}
	return l.startDaemon(ctx, HostAgent, "bgpd", "-Z", "-n", "-p", "0")
}

func (l *Lab) stopSpeaker() error {
	pidFile := filepath.Join(l.hostDir(HostAgent), "bgpd.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("speaker pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("speaker pid: %w", err)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if zombie(pid) {
			return nil
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
	return nil
}

// speakerPaths returns the paths the speaker holds for prefix, from
// `show bgp ipv4 unicast <prefix> json`: for each path, the next hop and
// the address of the edge it came from.
func (l *Lab) speakerPaths(ctx context.Context, prefix string) ([]speakerPath, error) {
	out, err := l.vtysh(ctx, HostAgent, "show bgp ipv4 unicast "+prefix+" json")
	if err != nil {
		return nil, err
	}
	var r struct {
		Paths []struct {
			Nexthops []struct {
				IP string `json:"ip"`
			} `json:"nexthops"`
			Peer struct {
				PeerID string `json:"peerId"`
			} `json:"peer"`
			AddPathRxID int `json:"addpathRxId"`
			ASPath      struct {
				String string `json:"string"`
			} `json:"aspath"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("speaker paths: %w: %s", err, out)
	}
	var ps []speakerPath
	for _, p := range r.Paths {
		sp := speakerPath{From: p.Peer.PeerID, ASPath: p.ASPath.String, AddPathID: p.AddPathRxID}
		if len(p.Nexthops) > 0 {
			sp.NextHop = p.Nexthops[0].IP
		}
		ps = append(ps, sp)
	}
	return ps, nil
}

type speakerPath struct {
	From, NextHop, ASPath string
	AddPathID             int
}
