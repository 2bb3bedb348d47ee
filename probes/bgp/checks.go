package bgp

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/probes"
)

// agentURLHint is where `dxwatch verify --agent` finds a daemon on the
// same host, with the default listen address.
const agentURLHint = "http://localhost:9479"

// sessionFix is the fix of an edge session that is not established. The
// router's configuration is one cause; the other is that another speaker
// with dxwatch's address already holds the session (a router keeps one
// session per neighbour address): the dxwatch daemon, when this is
// `dxwatch verify` run on its host, or a second agent.
func sessionFix(c Config, pc PeerConfig) string {
	mode := fmt.Sprintf("dxwatch connects to %s port %d", pc.Address, pc.port())
	if pc.Passive {
		mode = fmt.Sprintf("the router connects to dxwatch's port %d", c.ListenPort)
	}
	return fmt.Sprintf("on %s, configure a neighbor for dxwatch (router id %s) with remote-as %d and the same MD5 key (if any), and check that %s; `show bgp neighbors` on the router says why the session is down. "+
		"If the router shows that neighbor established, another BGP speaker with this address holds the session (the router accepts one per address): "+
		"the dxwatch daemon, if this is `dxwatch verify` on its host; then read the daemon's checks with `dxwatch verify --agent %s`",
		pc.Name, c.RouterID, c.LocalASN, mode, agentURLHint)
}

// checks evaluates the verification checks from the current state.
func (w *worker) checks(now time.Time) []probes.CheckResult {
	s, p := w.s, w.p
	var out []probes.CheckResult
	add := func(name, link string, st probes.CheckStatus, reason, fix string) {
		if st == probes.Pass {
			fix = ""
		}
		out = append(out, probes.CheckResult{Name: name, Order: probes.OrderBGP, Link: link, Status: st, Reason: reason, Fix: fix, Time: now})
	}
	for _, pr := range w.peers {
		name := "bgp.session." + pr.cfg.Name
		switch {
		case pr.up:
			add(name, "", probes.Pass, fmt.Sprintf("session with %s (%s) established since %s", pr.cfg.Name, pr.addr, pr.since.UTC().Format(time.RFC3339)), "")
		default:
			st := probes.Fail
			reason := fmt.Sprintf("session with %s (%s) is %s", pr.cfg.Name, pr.addr, pr.state)
			if !pr.everUp && now.Sub(p.started) < connectGrace && pr.connErr == "" {
				st = probes.Warn
				reason += " (still connecting)"
			}
			fix := sessionFix(p.cfg, pr.cfg)
			switch {
			case pr.connErr != "":
				reason += "; dxwatch cannot open its TCP connection: " + pr.connErr
				if f := connectFix(pr.cfg, pr.connErr); f != "" {
					fix = f
				}
			case pr.reason != "":
				reason += "; last error: " + pr.reason
			}
			add(name, "", st, reason, fix)
		}
	}
	w.tableChecks(add)
	// The Direct Connect sessions themselves, from BMP.
	for l, link := range s.site.Links {
		sv := w.linkSession(l)
		if sv.Source != "bmp" {
			continue
		}
		if *sv.Up {
			add("bgp.dx_session."+link.Name, link.Name, probes.Pass, fmt.Sprintf("BMP from %s: the session with AWS (%s) is up", sv.Router, link.AmazonAddress.Addr()), "")
		} else {
			add("bgp.dx_session."+link.Name, link.Name, probes.Fail, fmt.Sprintf("BMP from %s: the session with AWS (%s) is down: %s", sv.Router, link.AmazonAddress.Addr(), sv.Reason),
				fmt.Sprintf("check the %s link: the connection and virtual interface state in the Direct Connect console, the VLAN %d and the BGP MD5 key and ASN on %s", link.Name, link.VLAN, sv.Router))
		}
	}
	w.returnPathCheck(add)
	expected := s.site.Routing.ExpectedPrefixes
	if len(expected) == 0 {
		return out
	}
	feed := w.feedUp()
	noFeed := "no routing feed yet: no BGP session established and no BMP router connected"
	for l, link := range s.site.Links {
		name := "bgp.prefix." + link.Name
		if !feed {
			add(name, link.Name, probes.Skip, noFeed, "")
			continue
		}
		var missing []string
		for i, e := range expected {
			if !s.present[i][l] {
				missing = append(missing, e.String())
			}
		}
		if len(missing) == 0 {
			add(name, link.Name, probes.Pass, fmt.Sprintf("every expected prefix arrives over %s (next hop %s)", link.Name, link.AmazonAddress.Addr()), "")
		} else {
			add(name, link.Name, probes.Fail, fmt.Sprintf("%s not received over %s (next hop %s)", strings.Join(missing, ", "), link.Name, link.AmazonAddress.Addr()),
				fmt.Sprintf("check that the %s virtual interface's BGP session is up and that AWS advertises these prefixes: the VGW route propagation or the DX gateway association's allowed prefixes; then the edge router's inbound filter towards %s, and that it sends these paths to dxwatch (ADD-PATH, next hop unchanged)", link.Name, link.AmazonAddress.Addr()))
		}
	}
	w.intentChecks(add, feed, noFeed)
	w.locRIBCheck(add)
	return out
}

func (w *worker) intentChecks(add func(name, link string, st probes.CheckStatus, reason, fix string), feed bool, noFeed string) {
	s := w.s
	r := s.site.Routing
	expected := r.ExpectedPrefixes
	primary := -1
	for i, l := range s.site.Links {
		if r.Mode == probes.ModeActivePassive && l.Name == r.Primary {
			primary = i
		}
	}
	switch r.Mode {
	case probes.ModeActivePassive:
		const name = "bgp.intent.primary_preferred"
		fix := fmt.Sprintf("make %s preferred: set a higher local preference on the routes learned from the %s link's AWS neighbor (route-map in), or AS_PATH-prepend on the other link's; AWS's own choice towards you is set with the 7224:7100/7200/7300 communities or prepends on what you advertise", r.Primary, r.Primary)
		if !feed {
			add(name, "", probes.Skip, noFeed, "")
			break
		}
		if primary < 0 {
			add(name, "", probes.Skip, fmt.Sprintf("primary link %q is not among the links", r.Primary), "")
			break
		}
		var bad []string
		for _, e := range expected {
			_, pool := s.pool(e)
			pb := s.bestOnLink(pool, primary)
			if pb == nil {
				bad = append(bad, fmt.Sprintf("%s: no path over %s", e, r.Primary))
				continue
			}
			for l := range s.site.Links {
				if l == primary {
					continue
				}
				ob := s.bestOnLink(pool, l)
				if ob == nil {
					continue
				}
				c, why := compare(&pb.attrs, &ob.attrs, s.localASN)
				switch {
				case c == 0:
					bad = append(bad, fmt.Sprintf("%s: %s and %s are equally preferred (local preference %d, AS_PATH length %d): a tie-break decides", e, r.Primary, s.linkName(l), pb.attrs.effectiveLocalPref(), pb.attrs.ASPathLen))
				case c > 0:
					bad = append(bad, fmt.Sprintf("%s: %s is preferred over %s by %s", e, s.linkName(l), r.Primary, why))
				}
			}
		}
		if len(bad) == 0 {
			add(name, "", probes.Pass, fmt.Sprintf("%s is strictly preferred for every expected prefix", r.Primary), "")
		} else {
			add(name, "", probes.Fail, strings.Join(bad, "; "), fix)
		}
	case probes.ModeActiveActive:
		const name = "bgp.intent.links_equal"
		if !feed {
			add(name, "", probes.Skip, noFeed, "")
			break
		}
		var bad []string
		for _, e := range expected {
			_, pool := s.pool(e)
			var bests []*relPath
			var links []int
			for l := range s.site.Links {
				if b := s.bestOnLink(pool, l); b != nil {
					bests = append(bests, b)
					links = append(links, l)
				}
			}
			for j := 1; j < len(bests); j++ {
				if c, why := compare(&bests[0].attrs, &bests[j].attrs, s.localASN); c != 0 {
					winner := links[0]
					if c > 0 {
						winner = links[j]
					}
					bad = append(bad, fmt.Sprintf("%s: %s is preferred by %s", e, s.linkName(winner), why))
				}
			}
		}
		if len(bad) == 0 {
			add(name, "", probes.Pass, "the links are equally preferred for every expected prefix received over several links", "")
		} else {
			add(name, "", probes.Fail, strings.Join(bad, "; "), "for active/active, give both links' routes the same local preference and AS_PATH length on the edge router, and enable multipath (maximum-paths 2)")
		}
	}

	{
		const name = "bgp.intent.no_more_specifics"
		if !feed {
			add(name, "", probes.Skip, noFeed, "")
		} else if ms := s.moreSpecifics(); len(ms) == 0 {
			add(name, "", probes.Pass, "no prefix more specific than an expected one is received", "")
		} else {
			var list []string
			seen := map[string]bool{}
			for _, m := range ms {
				k := m.Prefix + " over " + cmp.Or(m.Link, "no link")
				if !seen[k] {
					seen[k] = true
					list = append(list, k)
				}
			}
			if len(list) > 10 {
				list = append(list[:10], fmt.Sprintf("and %d more", len(list)-10))
			}
			add(name, "", probes.Warn, "unexpected more-specifics steer part of the VPC traffic: "+strings.Join(list, ", "),
				"if they are intended, add them to routing.expected_prefixes; otherwise find who advertises them (a VPC or transit gateway route, the DX gateway association's allowed prefixes) and remove them")
		}
	}

	if r.AmazonASN != 0 {
		const name = "bgp.intent.amazon_asn"
		var bad []string
		seen := 0
		for _, e := range expected {
			for _, x := range s.rel[e] {
				if x.link < 0 {
					continue
				}
				seen++
				if as := x.attrs.neighborAS(s.localASN); as != r.AmazonASN {
					bad = append(bad, fmt.Sprintf("%s over %s comes from AS %d", e, s.linkName(x.link), as))
				}
			}
		}
		slices.Sort(bad)
		bad = slices.Compact(bad)
		switch {
		case seen == 0:
			add(name, "", probes.Skip, "no expected prefix received over a link yet", "")
		case len(bad) == 0:
			add(name, "", probes.Pass, fmt.Sprintf("every path over a link comes from AS %d", r.AmazonASN), "")
		default:
			add(name, "", probes.Fail, fmt.Sprintf("%s, not the configured Amazon ASN %d", strings.Join(bad, "; "), r.AmazonASN),
				"set routing.amazon_asn to the virtual interface's Amazon side ASN (Direct Connect console, Virtual interfaces, the VIF's 'Amazon side ASN'; for a DX gateway, its ASN), or fix the edge router if it rewrites the AS_PATH")
		}
	}
}

// Checks implements probes.Checker.
func (p *Probe) Checks() []probes.CheckResult {
	return slices.Clone(p.view.Load().checks)
}
