package bgp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

// TestMD5 peers with TCP MD5 in both directions, from a key file and from
// an environment variable, and shows that a wrong key never comes up.
func TestMD5(t *testing.T) {
	slow(t)
	noLeaks(t)
	const key = "dx-agent-md5"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "edge1.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DXWATCH_TEST_MD5", key)

	t.Run("active, key file", func(t *testing.T) {
		port := freePort(t)
		edge := newSpeaker(t, 65000, edge1Addr, port)
		edge.addPeer(t, dxAddr, 65000, passive(), withKey(key))
		p := newTestProbe(t, edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port, MD5KeyFile: keyFile}), labsite.Site(), nil)
		runProbe(t, p)
		eventually(t, 20*time.Second, "session with md5", func() bool { return p.peerView("edge1").Up })
	})

	t.Run("passive, key env", func(t *testing.T) {
		// dxwatch listens (GoBGP v4 disables MPTCP on its listeners, which
		// TCP MD5 needs); the edge connects from 127.0.0.2.
		listen := freePort(t)
		edge := newSpeaker(t, 65000, edge1Addr, -1)
		edge.addPeer(t, dxAddr, 65000, withKey(key), from(edge1Addr), remotePort(listen))
		cfg := edgeConfig(0, PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Passive: true, MD5KeyEnv: "DXWATCH_TEST_MD5"})
		cfg.ListenPort = listen
		p := newTestProbe(t, cfg, labsite.Site(), nil)
		runProbe(t, p)
		eventually(t, 20*time.Second, "passive session with md5", func() bool { return p.peerView("edge1").Up })
	})

	t.Run("wrong key", func(t *testing.T) {
		port, portOK := freePort(t), freePort(t)
		// Two edges side by side: the one with the right key is the
		// clock; the other must still be down when it is up.
		edge := newSpeaker(t, 65000, edge1Addr, port)
		edge.addPeer(t, dxAddr, 65000, passive(), withKey("not-the-key"))
		edgeOK := newSpeaker(t, 65000, edge2Addr, portOK)
		edgeOK.addPeer(t, dxAddr, 65000, passive(), withKey(key))
		p := newTestProbe(t, edgeConfig(0,
			PeerConfig{Name: "edge1", Address: edge1Addr, ASN: 65000, Port: port, MD5KeyFile: keyFile},
			PeerConfig{Name: "edge2", Address: edge2Addr, ASN: 65000, Port: portOK, MD5KeyEnv: "DXWATCH_TEST_MD5"},
		), labsite.Site(), nil)
		runProbe(t, p)
		eventually(t, 20*time.Second, "the right-key session", func() bool { return p.peerView("edge2").Up })
		time.Sleep(2 * time.Second)
		if pv := p.peerView("edge1"); pv.Up {
			t.Fatalf("edge1 with a wrong key is up: %+v", pv)
		}
		c := p.check("bgp.session.edge1")
		if c.Status == probes.Pass || !strings.Contains(c.Fix, "MD5") {
			t.Errorf("check = %+v, want not pass, with a fix naming MD5", c)
		}
		if strings.Contains(c.Reason+c.Fix, key) {
			t.Errorf("check shows the key: %+v", c)
		}
	})
}

// TestMD5KeyErrors: key errors name the file or variable, never a key.
func TestMD5KeyErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(dir, "long")
	secret := strings.Repeat("s3cr3t", 20)
	if err := os.WriteFile(long, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DXWATCH_TEST_LONG", secret)
	for _, tc := range []struct {
		name string
		pc   PeerConfig
		want string
	}{
		{"missing file", PeerConfig{MD5KeyFile: filepath.Join(dir, "nope")}, "peers[0].md5_key_file: cannot read " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"empty file", PeerConfig{MD5KeyFile: empty}, "peers[0].md5_key_file: " + empty + " is empty"},
		{"long file", PeerConfig{MD5KeyFile: long}, "peers[0].md5_key_file: the key in " + long + " is longer than 80 bytes (the TCP MD5 maximum)"},
		{"directory", PeerConfig{MD5KeyFile: dir}, "peers[0].md5_key_file: cannot read " + dir + ": is a directory"},
		{"unset env", PeerConfig{MD5KeyEnv: "DXWATCH_TEST_UNSET"}, "peers[0].md5_key_env: environment variable DXWATCH_TEST_UNSET is not set or empty"},
		{"long env", PeerConfig{MD5KeyEnv: "DXWATCH_TEST_LONG"}, "peers[0].md5_key_env: the key in environment variable DXWATCH_TEST_LONG is longer than 80 bytes (the TCP MD5 maximum)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := tc.pc
			pc.Name, pc.Address, pc.ASN = "edge1", edge1Addr, 65000
			_, err := New("bgp", edgeConfig(0, pc), probes.Deps{Site: labsite.Site()})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("New error = %v\nwant %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the key")
			}
		})
	}
}
