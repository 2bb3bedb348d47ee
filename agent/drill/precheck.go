package drill

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/probes"
)

// Pre-check names.
const (
	CheckLinksUp           = "drill.links_up"
	CheckPrimaryActive     = "drill.primary_active"
	CheckSecondaryPrefixes = "drill.secondary_prefixes"
	CheckQuiet             = "drill.no_recent_failover"
	CheckConfirmed         = "drill.confirmed"
	CheckMethod            = "drill.method"
	CheckFamily            = "drill.family"
)

// PreCheck is one pre-check's verdict and the evidence it read.
type PreCheck struct {
	probes.CheckResult
	// Evidence names each source the check read, with its state: "bgp
	// edge1 (established 12.3s, End-of-RIB)", "ping primary 20/20".
	Evidence []string `json:"evidence,omitempty"`
	// Refuses is set when the check stops the drill: a fail, or a skip
	// the caller did not accept (--allow-unconfirmed-secondary).
	Refuses bool `json:"refuses"`
}

// Evidence is what the pre-checks read.
type Evidence struct {
	Status health.Status
	Events []health.Event
	// Sources is the readiness of every configured source of evidence
	// (the Watcher's Sources).
	Sources []probes.Readiness
	// Watched is how long the health model has been watching: the span
	// its events cover.
	Watched time.Duration
	// Past is the running daemon's record, when the drill was given one
	// (--agent): its events cover what happened before the drill started.
	Past *DaemonRecord
}

// DaemonRecord is a running dxwatch daemon's record of the site: the events it
// recorded (its history on disk included) and since when it has watched
// without a break.
type DaemonRecord struct {
	Source string // where it was read, for the evidence ("dxwatch at http://localhost:9479")
	Events []health.Event
	Since  time.Time
}

// PreChecks evaluates whether a drill may start: every link up, the
// primary carrying the traffic, the secondary carrying every expected
// prefix, no failover within o.Quiet, the caller's confirmation. A check
// whose sources are not ready (a configured BGP session not established or
// without its initial table, no first AWS poll with --method aws, a link
// without a fresh echo) fails: it refuses the drill, it never passes on a
// guess. Each check lists the evidence it read.
func PreChecks(site probes.Site, pic Evidence, now time.Time, o Options) []PreCheck {
	o.defaults()
	primary, secondary := roles(site)
	st := pic.Status
	src := sources(pic, o)
	var out []PreCheck
	add := func(name string, status probes.CheckStatus, reason, fix string, evidence ...string) {
		out = append(out, PreCheck{CheckResult: probes.CheckResult{Name: name, Status: status, Reason: reason, Fix: fix, Time: now},
			Evidence: evidence, Refuses: status == probes.Fail})
	}
	// notReady fails a check that reads the given kinds of source when
	// one of them is not ready; it reports whether it did.
	notReady := func(name string, kinds ...string) bool {
		var waiting, ready []string
		for _, r := range src {
			if !slices.Contains(kinds, r.Kind) {
				continue
			}
			if r.Ready {
				ready = append(ready, describe(r, now))
			} else {
				waiting = append(waiting, describe(r, now))
			}
		}
		if len(waiting) == 0 {
			return false
		}
		add(name, probes.Fail, "cannot be evaluated: not ready: "+strings.Join(waiting, "; "),
			"wait until every configured source is ready (a longer --warmup), or fix the one that is not: "+readyFix, append(waiting, ready...)...)
		return true
	}

	switch {
	case o.Method == nil:
		add(CheckMethod, probes.Fail, "no way to fail the primary over", "pass --method aws (StartBgpFailoverTest on the primary VIF) or --method exec --cut <command> --restore <command>")
	default:
		add(CheckMethod, probes.Pass, "the primary is failed over with "+o.Method.Name(), "")
	}

	out = append(out, familyCheck(site, primary, secondary, now, o))

	if !notReady(CheckLinksUp, kindBGP, kindBMP, kindAWS, kindPing) {
		var notUp []string
		for _, l := range st.Links {
			name, state, reasons := o.peeringOf(l)
			if state != health.StateUp {
				why := string(state)
				if len(reasons) > 0 {
					why += ": " + strings.Join(reasons, "; ")
				}
				notUp = append(notUp, name+" is "+why)
			}
		}
		ev := describeAll(src, now, kindPing, kindBGP, kindBMP, kindAWS)
		switch {
		case len(st.Links) < 2 || primary == "" || secondary == "":
			add(CheckLinksUp, probes.Fail, fmt.Sprintf("a drill needs a primary and a secondary link; the site has %d", len(st.Links)), "configure both links with their roles", ev...)
		case len(notUp) > 0:
			add(CheckLinksUp, probes.Fail, strings.Join(notUp, "; "), "fix the link first (dxwatch verify): failing over onto a link that is not up cuts the traffic", ev...)
		default:
			add(CheckLinksUp, probes.Pass, "every link is up", "", ev...)
		}
	}

	if !notReady(CheckPrimaryActive, kindBGP, kindBMP, kindPing) {
		ev := append(targetEvidence(st), describeAll(src, now, kindBGP, kindBMP)...)
		var fails []string
		var fix string
		measured := o.measured(st)
		for _, f := range measured {
			what := "the traffic"
			if len(st.Families) > 1 {
				what = "the " + probes.FamilyName(f.Family) + " traffic"
			}
			switch {
			case f.InProgress != nil:
				fails, fix = append(fails, "a failover of "+what+" is in progress"), "wait until it is over"
			case !f.ActiveKnown:
				fails = append(fails, "which link carries "+what+" is not known: nothing to measure a failover against")
				fix = "configure VPC targets (of each family the drill measures) and the trace or bgp probe so dxwatch can tell the active link"
			case len(f.Active) != 1 || f.Active[0] != primary:
				fails = append(fails, fmt.Sprintf("%s crosses %s, not the primary %s alone", what, strings.Join(f.Active, "+"), primary))
				fix = "a drill starts from the primary carrying the traffic; in active/active mode the failover moves part of it only"
			}
		}
		switch {
		case len(fails) > 0:
			add(CheckPrimaryActive, probes.Fail, strings.Join(fails, "; "), fix, ev...)
		case len(measured) > 1:
			add(CheckPrimaryActive, probes.Pass, "the primary "+primary+" carries the traffic of every family", "", ev...)
		default:
			add(CheckPrimaryActive, probes.Pass, "the primary "+primary+" carries the traffic", "", ev...)
		}
	}

	if !notReady(CheckSecondaryPrefixes, kindBGP, kindBMP) {
		out = append(out, secondaryPrefixes(site, st, src, secondary, now, o))
	}

	quiet := *o.Quiet
	var recent *health.Event
	events, span := pic.Events, pic.Watched
	watched := fmt.Sprintf("health events over the %s watched", pic.Watched.Round(100*time.Millisecond))
	if p := pic.Past; p != nil {
		events = append(slices.Clone(p.Events), events...)
		span = max(span, now.Sub(p.Since))
		watched += fmt.Sprintf("; %s, watching since %s (%d events)", p.Source, p.Since.UTC().Format(time.RFC3339), len(p.Events))
	}
	for i := range events {
		e := &events[i]
		if e.Kind != health.KindLinkState && now.Sub(e.Time) < quiet && (recent == nil || e.Time.After(recent.Time)) {
			recent = e
		}
	}
	switch {
	case recent != nil:
		add(CheckQuiet, probes.Fail, fmt.Sprintf("a %s %s → %s happened %s ago, within %s", recent.Kind,
			strings.Join(recent.From, "+"), strings.Join(recent.To, "+"), now.Sub(recent.Time).Round(time.Second), quiet),
			"wait, or lower --quiet if the network has settled", watched)
	case quiet == 0:
		add(CheckQuiet, probes.Pass, "--quiet 0s: recent failovers not checked", "", watched)
	case span < quiet:
		// Only what was watched is known: a failover before that is not
		// in the events.
		add(CheckQuiet, probes.Fail, fmt.Sprintf("cannot be evaluated: the links have been watched for %s, not the %s of --quiet: a failover before that would not be seen",
			span.Round(100*time.Millisecond), quiet),
			"give the drill the running dxwatch's record with --agent http://localhost:9479 (its events and how long it has watched), or pass a --quiet no longer than the drill watches (--warmup)", watched)
	default:
		add(CheckQuiet, probes.Pass, fmt.Sprintf("no failover in the last %s", quiet), "", watched)
	}

	switch {
	case o.Yes || o.DryRun:
		add(CheckConfirmed, probes.Pass, map[bool]string{true: "dry run: nothing will be failed over", false: "confirmed with --yes"}[o.DryRun], "")
	default:
		add(CheckConfirmed, probes.Fail, "a drill cuts the primary link: it needs --yes", "rehearse with --dry-run, then run again with --yes in a change window")
	}
	return out
}

// familyCheck says which peerings the drill fails over: with --family
// ipv4 or ipv6 both links need a peering of that family, else the drill
// is refused naming the link and the fix.
func familyCheck(site probes.Site, primary, secondary string, now time.Time, o Options) PreCheck {
	pc := PreCheck{CheckResult: probes.CheckResult{Name: CheckFamily, Time: now, Status: probes.Pass}}
	fail := func(reason, fix string) PreCheck {
		pc.Status, pc.Reason, pc.Fix, pc.Refuses = probes.Fail, reason, fix, true
		return pc
	}
	var peerings []string
	for _, name := range []string{primary, secondary} {
		l, ok := site.Link(name)
		if !ok {
			continue
		}
		for _, p := range l.Peerings() {
			if o.Family == FamilyBoth || p.Family == o.Family {
				peerings = append(peerings, fmt.Sprintf("%s %s (Amazon %s)", name, p.Family, p.AmazonAddress.Addr()))
			}
		}
	}
	pc.Evidence = peerings
	switch o.Family {
	case FamilyBoth:
		pc.Reason = "every peering of the primary is failed over (--family both)"
		return pc
	case probes.FamilyIPv4, probes.FamilyIPv6:
	default:
		return fail(fmt.Sprintf("--family %q is not a family", o.Family), "pass --family ipv4, ipv6 or both")
	}
	fam := map[string]string{probes.FamilyIPv4: "IPv4", probes.FamilyIPv6: "IPv6"}[o.Family]
	for i, name := range []string{primary, secondary} {
		l, ok := site.Link(name)
		if !ok {
			continue
		}
		if _, ok := l.Peering(o.Family); !ok {
			role := []string{"primary", "secondary"}[i]
			return fail(fmt.Sprintf("link %s (the %s) has no %s peering: --family %s fails over and measures the %s peering alone, and needs one on both links", name, role, fam, o.Family, fam),
				fmt.Sprintf("drill link %s with --family %s or both, or, if its VIF has an %s peering, add it to the configuration (links[].%s with its customer_address and amazon_address)",
					name, l.Peerings()[0].Family, fam, o.Family))
		}
	}
	pc.Reason = fmt.Sprintf("only the %s peering of the primary %s is failed over and measured (--family %s); the other family stays on it", fam, primary, o.Family)
	return pc
}

func secondaryPrefixes(site probes.Site, st health.Status, src []probes.Readiness, secondary string, now time.Time, o Options) PreCheck {
	pc := PreCheck{CheckResult: probes.CheckResult{Name: CheckSecondaryPrefixes, Time: now}}
	set := func(status probes.CheckStatus, reason, fix string) PreCheck {
		pc.Status, pc.Reason, pc.Fix, pc.Refuses = status, reason, fix, status == probes.Fail
		return pc
	}
	// With one family failed over, the secondary must carry that family's
	// expected prefixes.
	var expected []netip.Prefix
	for _, p := range site.Routing.ExpectedPrefixes {
		if o.Family == FamilyBoth || p.Addr().Is6() == (o.Family == probes.FamilyIPv6) {
			expected = append(expected, p)
		}
	}
	if len(expected) == 0 {
		what, fix := "no expected prefixes configured", "list the VPC CIDRs under routing.expected_prefixes, or pass --allow-unconfirmed-secondary"
		if o.Family != FamilyBoth && len(site.Routing.ExpectedPrefixes) > 0 {
			fam := map[string]string{probes.FamilyIPv4: "IPv4", probes.FamilyIPv6: "IPv6"}[o.Family]
			what = "no " + fam + " expected prefix configured (--family " + o.Family + ")"
			fix = "list the VPC's " + fam + " CIDRs under routing.expected_prefixes, or pass --allow-unconfirmed-secondary"
		}
		pc = set(probes.Skip, what+": dxwatch cannot confirm that the secondary carries the VPC's routes", fix)
		pc.Refuses = !o.AllowUnconfirmedSecondary
		return pc
	}
	pc.Evidence = describeAll(src, now, kindBGP, kindBMP)
	if len(pc.Evidence) == 0 {
		// No feed configured at all: nothing could confirm the
		// secondary's routes.
		pc = set(probes.Skip, "no BGP feed configured: dxwatch cannot confirm that the secondary carries the expected prefixes",
			"add the bgp section (a session with the edge router, or BMP) to check this, or pass --allow-unconfirmed-secondary to fail over without knowing")
		pc.Refuses = !o.AllowUnconfirmedSecondary
		return pc
	}
	have := map[string]bool{}
	if l := linkStatus(st, secondary); l != nil {
		for _, e := range l.Evidence {
			if e.Source == "bgp_prefix" && e.OK && e.Fresh {
				have[e.Name] = true
			}
		}
	}
	var missing []string
	for _, p := range expected {
		if have[p.String()] {
			pc.Evidence = append(pc.Evidence, p.String()+" over "+secondary)
		} else {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return set(probes.Fail, fmt.Sprintf("the secondary %s does not carry %s", secondary, strings.Join(missing, ", ")),
			"check the secondary VIF's routes (DX gateway allowed prefixes, the edge router's inbound policy): after the failover these prefixes would be unreachable")
	}
	return set(probes.Pass, fmt.Sprintf("the secondary %s carries every expected prefix", secondary), "")
}

// Kinds of source.
const (
	kindBGP  = "bgp"
	kindBMP  = "bmp"
	kindAWS  = "aws"
	kindPing = "ping"
)

const readyFix = "for a BGP session, `show bgp neighbors` on the edge router and a firewall letting dxwatch reach TCP port 179 (or the router reach it); for the initial table, End-of-RIB when graceful restart is negotiated (FRR sends it then, unless `bgp graceful-restart disable-eor`), else settle_time without an UPDATE (peers[].settle_time); for AWS, the credentials and regions (dxwatch verify)"

// sources returns the sources the drill waits for: every BGP session and
// BMP router, the AWS poll when the method is aws, and an echo per pinged
// link and target (from the health model).
func sources(pic Evidence, o Options) []probes.Readiness {
	var out []probes.Readiness
	awsSeen := false
	for _, r := range pic.Sources {
		switch r.Kind {
		case kindBGP, kindBMP:
			out = append(out, r)
		case kindAWS:
			awsSeen = true
			if o.Method != nil && o.Method.Name() == kindAWS {
				out = append(out, r)
			}
		}
	}
	if !awsSeen && o.Method != nil && o.Method.Name() == kindAWS {
		out = append(out, probes.Readiness{Kind: kindAWS, Name: kindAWS, State: "not polled", Detail: "no AWS poll runs in the drill"})
	}
	echo := func(e health.EchoStatus) probes.Readiness {
		r := probes.Readiness{Kind: kindPing, Name: e.Target, State: "no fresh echo yet"}
		if e.Fresh && e.Samples > 0 {
			got := e.Samples - int(math.Round(e.LossRatio*float64(e.Samples)))
			r.Ready, r.State = true, fmt.Sprintf("%d/%d", got, e.Samples)
		}
		return r
	}
	for _, l := range pic.Status.Links {
		for _, e := range l.Echo {
			out = append(out, echo(e))
		}
	}
	for _, t := range pic.Status.Targets {
		if t.Echo != nil {
			out = append(out, echo(*t.Echo))
		}
	}
	return out
}

// describe names a source and its state: "bgp edge1 (established 12.3s,
// End-of-RIB)", "bgp edge1 (session active: connect: connection
// refused)", "ping primary 20/20".
func describe(r probes.Readiness, now time.Time) string {
	name := r.Kind
	if r.Name != r.Kind {
		name += " " + r.Name
	}
	if r.Kind == kindPing && r.Ready {
		return name + " " + r.State
	}
	s := r.State
	if r.Ready && !r.Since.IsZero() {
		s += " " + now.Sub(r.Since).Round(100*time.Millisecond).String()
	}
	if r.Detail != "" {
		sep := ", "
		if !r.Ready {
			sep = ": "
		}
		s += sep + r.Detail
	}
	return name + " (" + s + ")"
}

// describeAll describes the sources of the given kinds.
func describeAll(src []probes.Readiness, now time.Time, kinds ...string) []string {
	var out []string
	for _, r := range src {
		if slices.Contains(kinds, r.Kind) {
			out = append(out, describe(r, now))
		}
	}
	return out
}

// targetEvidence says which link carries each VPC target's traffic and how
// that is known.
func targetEvidence(st health.Status) []string {
	var out []string
	for _, t := range st.Targets {
		how := t.Source
		if how == "" {
			how = "unknown"
		}
		out = append(out, fmt.Sprintf("target %s via %s (%s)", t.Name, orNone(t.Active), how))
	}
	return out
}

// waitingFor lists the sources that are not ready and what else the
// warm-up waits for, as the progress line shows them.
func waitingFor(pic Evidence, o Options, now time.Time) []string {
	var out []string
	for _, r := range sources(pic, o) {
		if !r.Ready {
			out = append(out, describe(r, now))
		}
	}
	for _, l := range pic.Status.Links {
		if l.State == health.StateUnknown {
			out = append(out, "link "+l.Name+" (no state yet)")
		}
	}
	if len(pic.Status.Links) == 0 {
		out = append(out, "the health model (no link yet)")
	}
	if !pic.Status.ActiveKnown {
		out = append(out, "the active link (not known yet)")
	}
	return out
}

// peeringOf is what drill.links_up reads of a link: with --family ipv4 or
// ipv6, the link's peering of that family when the link has several
// (named "link IPv6"); else the link as a whole.
func (o Options) peeringOf(l health.LinkStatus) (name string, state health.State, reasons []string) {
	if o.Family != FamilyBoth {
		for _, p := range l.Peerings {
			if p.Family == o.Family {
				return l.Name + " " + probes.FamilyName(p.Family), p.State, p.Reasons
			}
		}
	}
	return l.Name, l.State, l.Reasons
}

// measured returns the families whose traffic the drill measures: the one
// of --family, or every family with VPC targets (the site's first when
// none has any, or when the status comes from a dxwatch that did not
// tell families apart).
func (o Options) measured(st health.Status) []health.FamilyStatus {
	var out []health.FamilyStatus
	for _, f := range st.Families {
		if (o.Family == FamilyBoth && f.Targets > 0) || f.Family == o.Family {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = append(out, health.FamilyStatus{Active: st.Active, ActiveKnown: st.ActiveKnown, InProgress: st.InProgress})
	}
	return out
}
