package bgp

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dxwatch/dxwatch/lab/labsite"
	"github.com/dxwatch/dxwatch/probes"
)

func TestValidate(t *testing.T) {
	ok := edgeConfig(0, PeerConfig{Name: "edge1", Address: "192.0.2.1", ASN: 65000})
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"ok", func(*Config) {}, nil},
		{"nothing", func(c *Config) { c.Peers = nil }, []string{"peers: no peer and no bmp.listen_address: configure at least one edge router to peer with, or the BMP station"}},
		{"bmp only", func(c *Config) {
			c.Peers, c.LocalASN, c.RouterID, c.BMP.ListenAddress, c.BMP.Routers = nil, 0, "", ":11019", []string{"192.0.2.1", "192.0.2.64/26", "2001:db8::/64"}
		}, nil},
		{"bmp only, no router", func(c *Config) { c.Peers, c.LocalASN, c.RouterID, c.BMP.ListenAddress = nil, 0, "", ":11019" }, []string{
			"bmp.routers: empty and no BGP peers: the station would refuse every router; list the edge routers' addresses or prefixes",
		}},
		{"bmp routers", func(c *Config) {
			c.BMP.ListenAddress, c.BMP.Routers = ":11019", []string{"edge1", "192.0.2.1/24", "192.0.2.0/24"}
		}, []string{
			`bmp.routers[0]: not an IP address or prefix: "edge1"`,
			"bmp.routers[1]: 192.0.2.1/24 has host bits set: want 192.0.2.0/24",
		}},
		{"bmp routers without station", func(c *Config) { c.BMP.Routers = []string{"192.0.2.1"} }, []string{
			"bmp.routers: set, but the BMP station is off: set bmp.listen_address too",
		}},
		{"global", func(c *Config) { c.LocalASN, c.RouterID, c.ListenPort = 0, "2001:db8::1", 70000 }, []string{
			"local_asn: missing: set dxwatch's ASN on the sessions to the edge routers (usually the on-prem ASN, for iBGP)",
			`router_id: not an IPv4 address: "2001:db8::1"`,
			"listen_port: 70000 is out of range: use 0 (no listener) or a port up to 65535",
		}},
		{"peer", func(c *Config) {
			c.Peers = append(c.Peers, PeerConfig{Name: "edge1", Address: "10.0.0.300", Port: -1, Passive: true, HoldTime: 1500 * time.Millisecond, MD5Key: "hunter2"},
				PeerConfig{Name: "bad name", Address: "192.0.2.1", ASN: 1, MD5KeyFile: "/k", MD5KeyEnv: "K", HoldTime: 100000 * time.Second})
		}, []string{
			`peers[1].name: "edge1" is already the name of peers[0]: edge router names must be unique`,
			`peers[1].address: not an IP address: "10.0.0.300"`,
			"peers[1].port: -1 is out of range 1-65535",
			"peers[1].passive: a passive peer needs listen_port (e.g. 179): with listen_port 0 dxwatch opens no listener",
			"peers[1].hold_time: hold_time 1.5s is below the minimum 3s",
			"peers[1].md5_key: an inline MD5 key is not allowed: put the key in a file (md5_key_file) or an environment variable (md5_key_env)",
			`peers[2].name: "bad name" is not a valid name: use letters, digits, '-', '_' or '.' (at most 63)`,
			"peers[2].address: 192.0.2.1 is already the address of peers[0]",
			"peers[2].hold_time: hold_time 27h46m40s is above the maximum 65535s",
			"peers[2].md5_key_file: both md5_key_file and md5_key_env are set: keep one",
		}},
		{"bmp", func(c *Config) { c.BMP.ListenAddress = "host:x" }, []string{
			`bmp.listen_address: not an IP address: "host"`,
			`bmp.listen_address: port "x" is not a number from 1 to 65535`,
		}},
		{"keep without prefixes", func(c *Config) { c.KeepOnlyRelevant = true }, []string{
			"keep_only_relevant: needs the expected VPC prefixes (routing.expected_prefixes): with none, nothing would be kept",
		}},
		{"session", func(c *Config) {
			c.ListenPort = 179
			c.Peers[0].Session = SessionLean
			c.Peers = append(c.Peers, PeerConfig{Name: "edge2", Address: "192.0.2.2", Session: "frr"},
				PeerConfig{Name: "edge3", Address: "192.0.2.3", Session: SessionLean, Passive: true},
				PeerConfig{Name: "edge4", Address: "192.0.2.4", Session: SessionGoBGP})
		}, []string{
			`peers[1].session: unknown session "frr": use gobgp (the default) or lean (receive-only, keeps only the expected prefixes' paths)`,
			"peers[2].session: session lean connects to the router and cannot be passive: remove passive (the router must then accept dxwatch's connection, as for any active peer) or use session gobgp",
		}},
		{"lean without prefixes", func(c *Config) { c.Peers[0].Session = SessionLean }, []string{
			"peers[0].session: session lean keeps only the paths of the expected VPC prefixes and needs them: set routing.expected_prefixes, or use session gobgp",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.Peers = append([]PeerConfig(nil), ok.Peers...)
			tc.edit(&c)
			site := labsite.Site()
			if strings.HasSuffix(tc.name, "without prefixes") {
				site.Routing.ExpectedPrefixes = nil
			}
			err := c.Validate(site)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if strings.Contains(fmt.Sprint(err), "hunter2") {
				t.Error("an error shows the inline key")
			}
		})
	}
}

// TestSecretNeverPrints: an inline key, refused by Validate, still never
// shows in fmt, slog, YAML or JSON output of the config.
func TestSecretNeverPrints(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte("peers:\n- name: edge1\n  md5_key: hunter2\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Peers[0].MD5Key != "hunter2" {
		t.Fatalf("decoded %q", string(c.Peers[0].MD5Key))
	}
	var sb strings.Builder
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("cfg", "cfg", c)
	y, _ := yaml.Marshal(c)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Peers[0].MD5Key), sb.String(), string(y)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("key printed: %s", s)
		}
	}
}

func TestNewRejectsInvalid(t *testing.T) {
	_, err := New("bgp", Config{}, probes.Deps{})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
}
