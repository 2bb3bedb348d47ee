package bgp

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
	"github.com/dxwatch/dxwatch/probes/problem"
)

// Config is the `bgp:` section: how dxwatch peers with the on-prem edge
// routers and, optionally, where it listens for BMP from them.
type Config struct {
	// LocalASN is dxwatch's own ASN on the sessions to the edge routers
	// (usually the on-prem ASN: iBGP, so the routers keep the Amazon next
	// hops and local preference).
	LocalASN uint32 `yaml:"local_asn"`
	// RouterID is dxwatch's BGP identifier, an IPv4 address.
	RouterID string `yaml:"router_id"`
	// ListenPort is the TCP port for passive peers; 0 opens no listener
	// (active peering only, no port-179 privilege needed).
	ListenPort int `yaml:"listen_port"`
	// Peers are the edge routers.
	Peers []PeerConfig `yaml:"peers"`
	// BMP is the BMP station; off when ListenAddress is empty.
	BMP BMPConfig `yaml:"bmp"`
	// KeepOnlyRelevant keeps only the expected VPC prefixes, the prefixes
	// covering them and their more-specifics, and drops everything else on
	// arrival in dxwatch's own table. On a BGP session GoBGP still stores
	// every path the edge sends (a full Internet table: over 1 GB); the fix
	// is the edge's outbound prefix-list, or peers[].session: lean, which
	// stores nothing else (probes/bgp README, "A full-table edge"). Over
	// BMP, nothing else is stored.
	KeepOnlyRelevant bool `yaml:"keep_only_relevant"`
}

// PeerConfig is one edge router dxwatch peers with.
type PeerConfig struct {
	// Name labels the peer in metrics and checks ("edge1").
	Name string `yaml:"name"`
	// Address is the router's address, IPv4 or IPv6.
	Address string `yaml:"address"`
	// ASN is the router's ASN; 0 means local_asn (iBGP, the usual case:
	// the router then keeps the Amazon next hops and local preference).
	ASN uint32 `yaml:"asn"`
	// Port is the router's BGP port; 0 means 179.
	Port int `yaml:"port"`
	// Passive waits for the router to connect (needs listen_port).
	Passive bool `yaml:"passive"`
	// HoldTime is the proposed hold time; 0 means 90s.
	HoldTime time.Duration `yaml:"hold_time"`
	// AddPathReceive asks the router for every path (ADD-PATH receive),
	// so that the backup link's path is visible; unset means true.
	AddPathReceive *bool `yaml:"add_path_receive"`
	// MD5KeyFile is a file holding the TCP MD5 key (trailing newline
	// ignored).
	MD5KeyFile string `yaml:"md5_key_file"`
	// MD5KeyEnv is an environment variable holding the TCP MD5 key.
	MD5KeyEnv string `yaml:"md5_key_env"`
	// MD5Key exists only to refuse an inline key with a clear message:
	// keys come from md5_key_file or md5_key_env.
	MD5Key Secret `yaml:"md5_key"`
	// GracefulRestart enables the graceful restart helper: the router's
	// paths are kept (reported as stale) while it restarts. Off by
	// default, since stale paths would hide a failure.
	GracefulRestart bool `yaml:"graceful_restart"`
	// SettleTime is when a session without End-of-RIB counts as having
	// its initial table (for `dxwatch drill`): established, and no UPDATE
	// for this long. Used only when End-of-RIB was not negotiated (graceful
	// restart not offered by both sides); 0 means 10s.
	SettleTime time.Duration `yaml:"settle_time"`
	// Session is the BGP implementation that holds the session: "gobgp"
	// (the default: GoBGP's server, which stores every path the router
	// sends) or "lean" (dxwatch's own receive-only session, which keeps
	// only the paths of the expected VPC prefixes and what overlaps them:
	// a full-table edge in tens of MB; active only, needs
	// routing.expected_prefixes; probes/bgp README, "A full-table edge").
	Session string `yaml:"session"`
}

// Session implementations (peers[].session).
const (
	SessionGoBGP = "gobgp"
	SessionLean  = "lean"
)

func (p PeerConfig) lean() bool { return p.Session == SessionLean }

func (p PeerConfig) session() string {
	if p.Session == "" {
		return SessionGoBGP
	}
	return p.Session
}

// BMPConfig is the BMP station.
type BMPConfig struct {
	// ListenAddress is the station's TCP address (":11019"); empty is off.
	ListenAddress string `yaml:"listen_address"`
	// Routers are the addresses or prefixes the station accepts
	// connections from; empty means the BGP peers' addresses. A BMP feed
	// is evidence for the links' health (a Peer Down takes a link down),
	// so anything else that connects is refused.
	Routers []string `yaml:"routers"`
}

// maxBMPRouters bounds bmp.routers.
const maxBMPRouters = 256

// allowed returns the prefixes the station accepts connections from:
// bmp.routers, else the BGP peers' addresses. Entries that do not parse
// are left out (Validate reports them).
func (c Config) allowed() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range c.BMP.Routers {
		if p, err := parseRouter(r); err == nil {
			out = append(out, p)
		}
	}
	if len(c.BMP.Routers) > 0 {
		return out
	}
	for _, pc := range c.Peers {
		if a, err := netip.ParseAddr(pc.Address); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// parseRouter parses one bmp.routers entry: an address or a prefix
// without host bits.
func parseRouter(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or prefix: %q", s)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set: want %s", s, p.Masked())
	}
	return p, nil
}

// Secret is a string that never prints: fmt, slog, JSON and YAML output
// show "[redacted]".
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string { return redact(s) }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return strconv.Quote(redact(s)) }

// MarshalText implements encoding.TextMarshaler (JSON, YAML and slog).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redact(s)), nil }

func redact(s Secret) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Defaults.
const (
	DefaultPort     = 179
	DefaultHoldTime = 90 * time.Second
	// DefaultSettleTime is peers[].settle_time's default: a router sends
	// its initial table in one burst, with gaps of milliseconds between
	// UPDATEs; 10s without one is well past the burst.
	DefaultSettleTime = 10 * time.Second
	maxPeers          = 64
)

// DefaultConfig returns the defaults the agent decodes the section onto.
func DefaultConfig() Config {
	return Config{}
}

func (p PeerConfig) port() int {
	if p.Port == 0 {
		return DefaultPort
	}
	return p.Port
}

func (p PeerConfig) holdTime() time.Duration {
	if p.HoldTime == 0 {
		return DefaultHoldTime
	}
	return p.HoldTime
}

func (p PeerConfig) settleTime() time.Duration {
	if p.SettleTime == 0 {
		return DefaultSettleTime
	}
	return p.SettleTime
}

func (p PeerConfig) asn(local uint32) uint32 {
	if p.ASN == 0 {
		return local
	}
	return p.ASN
}

func (p PeerConfig) addPathReceive() bool {
	return p.AddPathReceive == nil || *p.AddPathReceive
}

// Validate reports every problem of the section, with paths relative to it.
// It reads no secret.
func (c Config) Validate(site probes.Site) error {
	var ps problem.List
	if len(c.Peers) == 0 && c.BMP.ListenAddress == "" {
		ps.Addf("peers", "no peer and no bmp.listen_address: configure at least one edge router to peer with, or the BMP station")
	}
	if len(c.Peers) > 0 {
		if c.LocalASN == 0 {
			ps.Addf("local_asn", "missing: set dxwatch's ASN on the sessions to the edge routers (usually the on-prem ASN, for iBGP)")
		}
		if c.RouterID == "" {
			ps.Addf("router_id", "missing: set an IPv4 address, e.g. the agent's own address")
		} else if a, err := netip.ParseAddr(c.RouterID); err != nil || !a.Is4() {
			ps.Addf("router_id", "not an IPv4 address: %q", c.RouterID)
		}
	}
	if c.ListenPort < 0 || c.ListenPort > 65535 {
		ps.Addf("listen_port", "%d is out of range: use 0 (no listener) or a port up to 65535", c.ListenPort)
	}
	if len(c.Peers) > maxPeers {
		ps.Addf("peers", "%d peers is more than the maximum %d", len(c.Peers), maxPeers)
	}
	names := problem.NewNames("peers", "edge router", "edge1")
	addrs := map[netip.Addr]int{}
	for i, p := range c.Peers {
		path := fmt.Sprintf("peers[%d]", i)
		at := func(k string) string { return problem.JoinPath(path, k) }
		names.Check(&ps, at("name"), i, p.Name)
		if p.Address == "" {
			ps.Addf(at("address"), "missing: the edge router's address")
		} else if a, err := netip.ParseAddr(p.Address); err != nil {
			ps.Addf(at("address"), "not an IP address: %q", p.Address)
		} else {
			a = a.Unmap()
			if j, ok := addrs[a]; ok {
				ps.Addf(at("address"), "%s is already the address of peers[%d]", a, j)
			}
			addrs[a] = i
		}
		if p.Port < 0 || p.Port > 65535 {
			ps.Addf(at("port"), "%d is out of range 1-65535", p.Port)
		}
		if p.Passive && c.ListenPort == 0 {
			ps.Addf(at("passive"), "a passive peer needs listen_port (e.g. 179): with listen_port 0 dxwatch opens no listener")
		}
		if h := p.HoldTime; h != 0 {
			switch {
			case h < 3*time.Second:
				ps.Addf(at("hold_time"), "hold_time %s is below the minimum 3s", h)
			case h > 65535*time.Second:
				ps.Addf(at("hold_time"), "hold_time %s is above the maximum 65535s", h)
			case h%time.Second != 0:
				ps.Addf(at("hold_time"), "hold_time %s is not a whole number of seconds", h)
			}
		}
		if st := p.SettleTime; st != 0 && (st < time.Second || st > time.Hour) {
			ps.Addf(at("settle_time"), "settle_time %s is out of range 1s-1h: it is how long a session without End-of-RIB must go without an UPDATE before the drill takes its table as complete", st)
		}
		switch p.Session {
		case "", SessionGoBGP:
		case SessionLean:
			if p.Passive {
				ps.Addf(at("session"), "session lean connects to the router and cannot be passive: remove passive (the router must then accept dxwatch's connection, as for any active peer) or use session gobgp")
			}
			if len(site.Routing.ExpectedPrefixes) == 0 {
				ps.Addf(at("session"), "session lean keeps only the paths of the expected VPC prefixes and needs them: set routing.expected_prefixes, or use session gobgp")
			}
		default:
			ps.Addf(at("session"), "unknown session %q: use gobgp (the default) or lean (receive-only, keeps only the expected prefixes' paths)", p.Session)
		}
		if p.MD5Key != "" {
			ps.Addf(at("md5_key"), "an inline MD5 key is not allowed: put the key in a file (md5_key_file) or an environment variable (md5_key_env)")
		}
		if p.MD5KeyFile != "" && p.MD5KeyEnv != "" {
			ps.Addf(at("md5_key_file"), "both md5_key_file and md5_key_env are set: keep one")
		}
	}
	if a := c.BMP.ListenAddress; a != "" {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			ps.Addf("bmp.listen_address", "not host:port: %q (e.g. \":11019\")", a)
		} else {
			if host != "" {
				if _, err := netip.ParseAddr(host); err != nil {
					ps.Addf("bmp.listen_address", "not an IP address: %q", host)
				}
			}
			// Port 0 picks a free port (tests); Probe.BMPAddr tells which.
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				ps.Addf("bmp.listen_address", "port %q is not a number from 1 to 65535", port)
			}
		}
	}
	for i, r := range c.BMP.Routers {
		if i == maxBMPRouters {
			ps.Addf("bmp.routers", "%d entries, more than the maximum %d: use prefixes", len(c.BMP.Routers), maxBMPRouters)
			break
		}
		if _, err := parseRouter(r); err != nil {
			ps.Addf(fmt.Sprintf("bmp.routers[%d]", i), "%v", err)
		}
	}
	switch {
	case len(c.BMP.Routers) > 0 && c.BMP.ListenAddress == "":
		ps.Addf("bmp.routers", "set, but the BMP station is off: set bmp.listen_address too")
	case c.BMP.ListenAddress != "" && len(c.BMP.Routers) == 0 && len(c.Peers) == 0:
		ps.Addf("bmp.routers", "empty and no BGP peers: the station would refuse every router; list the edge routers' addresses or prefixes")
	}
	if c.KeepOnlyRelevant && len(site.Routing.ExpectedPrefixes) == 0 {
		ps.Addf("keep_only_relevant", "needs the expected VPC prefixes (routing.expected_prefixes): with none, nothing would be kept")
	}
	return ps.Err()
}

// ReadKeys reads every peer's TCP MD5 key from its file or environment
// variable, as New does, so that check-config and run agree: a peer whose
// file is missing, unreadable or empty, whose variable is unset or empty, or
// whose key is longer than 80 bytes (the TCP MD5 maximum) is a problem at
// the path of its md5_key_file or md5_key_env. A problem names the file or
// variable, never the key. A peer without a key has "" in keys.
func (c Config) ReadKeys() (keys []string, err error) {
	var ps problem.List
	keys = make([]string, len(c.Peers))
	for i, p := range c.Peers {
		k, setting, err := p.md5Key()
		if err != nil {
			ps = append(ps, problem.Problem{Path: fmt.Sprintf("peers[%d].%s", i, setting), Msg: err.Error()})
			continue
		}
		keys[i] = k
	}
	return keys, ps.Err()
}

// maxKeyFile bounds what is read of a key file: a key is at most 80 bytes,
// and a key file named by mistake (a log, /dev/zero) must not be read whole.
const maxKeyFile = 4096

// md5Key reads the peer's key from its file or variable, and says which
// setting it came from. The error names the file or variable, never the
// content.
func (p PeerConfig) md5Key() (key, setting string, err error) {
	switch {
	case p.MD5KeyFile != "":
		f, err := os.Open(p.MD5KeyFile)
		if err != nil {
			return "", "md5_key_file", fmt.Errorf("cannot read %s: %w", p.MD5KeyFile, unwrapPath(err))
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
		if err != nil {
			return "", "md5_key_file", fmt.Errorf("cannot read %s: %w", p.MD5KeyFile, unwrapPath(err))
		}
		k := strings.TrimRight(string(b), "\r\n")
		if k == "" {
			return "", "md5_key_file", fmt.Errorf("%s is empty", p.MD5KeyFile)
		}
		if len(k) > 80 {
			return "", "md5_key_file", fmt.Errorf("the key in %s is longer than 80 bytes (the TCP MD5 maximum)", p.MD5KeyFile)
		}
		return k, "md5_key_file", nil
	case p.MD5KeyEnv != "":
		k, ok := os.LookupEnv(p.MD5KeyEnv)
		if !ok || k == "" {
			return "", "md5_key_env", fmt.Errorf("environment variable %s is not set or empty", p.MD5KeyEnv)
		}
		if len(k) > 80 {
			return "", "md5_key_env", fmt.Errorf("the key in environment variable %s is longer than 80 bytes (the TCP MD5 maximum)", p.MD5KeyEnv)
		}
		return k, "md5_key_env", nil
	}
	return "", "", nil
}

// unwrapPath drops the *PathError wrapper, whose message repeats the path.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
