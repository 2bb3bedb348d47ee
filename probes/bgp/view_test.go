package bgp

import (
	"strings"
	"testing"
)

// TestSessionFix: a session that does not establish has two causes the fix
// must name: the router's configuration, and another speaker with this
// address holding the session (the daemon, beside `dxwatch verify`).
func TestSessionFix(t *testing.T) {
	c := Config{LocalASN: 65000, RouterID: "192.0.2.10", ListenPort: 179}
	for _, tc := range []struct {
		name string
		peer PeerConfig
		want []string
	}{
		{"active", PeerConfig{Name: "edge1", Address: "192.0.2.1"}, []string{
			"on edge1, configure a neighbor for dxwatch (router id 192.0.2.10) with remote-as 65000",
			"dxwatch connects to 192.0.2.1 port 179",
			"another BGP speaker with this address holds the session",
			"`dxwatch verify --agent http://localhost:9479`",
		}},
		{"passive", PeerConfig{Name: "edge2", Address: "192.0.2.2", Passive: true}, []string{
			"the router connects to dxwatch's port 179",
			"`dxwatch verify --agent http://localhost:9479`",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fix := sessionFix(c, tc.peer)
			for _, w := range tc.want {
				if !strings.Contains(fix, w) {
					t.Errorf("fix lacks %q:\n%s", w, fix)
				}
			}
		})
	}
}
