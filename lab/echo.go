package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// EchoPath is what Echo saw of a burst of echoes: how many were answered,
// and over which links the requests left and the replies came back,
// counted at the links' customer ends.
type EchoPath struct {
	Sent, Answered int
	Out            map[string]int // link name -> echo requests sent onto it by its edge
	Back           map[string]int // link name -> echo replies its edge received from it
}

// OutLinks names the links at least one request left over, primary first.
func (p EchoPath) OutLinks() []string { return p.links(p.Out) }

// BackLinks names the links at least one reply came back over, primary first.
func (p EchoPath) BackLinks() []string { return p.links(p.Back) }

func (p EchoPath) links(m map[string]int) []string {
	var r []string
	for _, n := range []string{LinkPrimary, LinkSecondary} {
		if m[n] > 0 {
			r = append(r, n)
		}
	}
	return r
}

// echoTable is the nftables table Echo counts in, on each edge router.
const echoTable = "dxlab_echo"

// fpingSummary matches fping -c -q's summary line:
// "169.254.20.1 : xmt/rcv/%loss = 5/5/0%, min/avg/max = …".
var fpingSummary = regexp.MustCompile(`xmt/rcv/%loss = (\d+)/(\d+)/`)

// Echo sends count ICMP echoes (fping, one every 100 ms) from the agent
// host to dst, from source address src (an address of the agent host; ""
// for AgentAddress), and reports which links the requests left over and
// which links the replies came back over, from nftables counters at each
// link's customer end: a request is counted as it leaves the edge onto the
// link (before a silent cut drops it), a reply as the edge receives it.
// This is how tests see AWS's return routing: a reply's link is chosen by
// the Amazon side, not by the link its request crossed.
func (l *Lab) Echo(ctx context.Context, src, dst string, count int) (EchoPath, error) {
	if src == "" {
		src = AgentAddress
	}
	p := EchoPath{Out: map[string]int{}, Back: map[string]int{}}
	byEdge := map[string][]link{}
	for _, lk := range l.topo.Links {
		byEdge[lk.Edge] = append(byEdge[lk.Edge], lk)
	}
	nft := func(h, script string) error {
		cmd := l.Command(ctx, h, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("echo counters in %s: %w: %s", h, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	drop := fmt.Sprintf("add table inet %s\ndelete table inet %s\n", echoTable, echoTable)
	for h, lks := range byEdge {
		script := drop + fmt.Sprintf("add table inet %[1]s\n"+
			"add chain inet %[1]s out { type filter hook postrouting priority -10; policy accept; }\n"+
			"add chain inet %[1]s in { type filter hook prerouting priority -10; policy accept; }\n", echoTable)
		for _, lk := range lks {
			script += fmt.Sprintf("add counter inet %[1]s out_%[2]s\nadd counter inet %[1]s back_%[2]s\n"+
				"add rule inet %[1]s out oifname %[3]q ip saddr %[4]s ip daddr %[5]s icmp type echo-request counter name out_%[2]s\n"+
				"add rule inet %[1]s in iifname %[3]q ip saddr %[5]s ip daddr %[4]s icmp type echo-reply counter name back_%[2]s\n",
				echoTable, lk.Name, lk.EdgeIf, src, dst)
		}
		if err := nft(h, script); err != nil {
			return p, err
		}
		defer nft(h, drop) //nolint:errcheck // best effort; the next Echo replaces the table anyway
	}

	// fping exits 1 when an echo went unanswered: its summary says how many.
	out, _ := l.Command(ctx, HostAgent, "fping", "-q", "-c", strconv.Itoa(count), "-p", "100", "-t", "500",
		"-S", src, dst).CombinedOutput()
	m := fpingSummary.FindSubmatch(out)
	if m == nil {
		return p, fmt.Errorf("echo %s -> %s: fping: %s", src, dst, strings.TrimSpace(string(out)))
	}
	p.Sent, _ = strconv.Atoi(string(m[1]))
	p.Answered, _ = strconv.Atoi(string(m[2]))

	for h, lks := range byEdge {
		b, err := l.Command(ctx, h, "nft", "-j", "list", "counters", "table", "inet", echoTable).Output()
		if err != nil {
			return p, fmt.Errorf("echo counters in %s: %w", h, err)
		}
		var doc struct {
			Nftables []struct {
				Counter *struct {
					Name    string `json:"name"`
					Packets int    `json:"packets"`
				} `json:"counter"`
			} `json:"nftables"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return p, fmt.Errorf("echo counters in %s: %w", h, err)
		}
		for _, x := range doc.Nftables {
			if x.Counter == nil {
				continue
			}
			for _, lk := range lks {
				switch x.Counter.Name {
				case "out_" + lk.Name:
					p.Out[lk.Name] = x.Counter.Packets
				case "back_" + lk.Name:
					p.Back[lk.Name] = x.Counter.Packets
				}
			}
		}
	}
	return p, nil
}
