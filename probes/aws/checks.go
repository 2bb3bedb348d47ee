package aws

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	dxtypes "github.com/aws/aws-sdk-go-v2/service/directconnect/types"

	"github.com/dxwatch/dxwatch/probes"
)

// routeLimit is how many prefixes per address family AWS accepts from
// on-prem on a private or transit VIF by default (a VIF with its own prefix
// allocation takes that many instead: routeQuota); above it the BGP session
// goes idle. Direct Connect User Guide, quotas:
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/limits.html
const routeLimit = 100

// checker evaluates the checks of one snapshot.
type checker struct {
	cfg  Config
	site probes.Site
	s    *snapshot
	now  time.Time
	out  []probes.CheckResult
}

func (c *checker) add(name string, order int, link string, st probes.CheckStatus, fix, format string, args ...any) {
	if st == probes.Pass {
		fix = ""
	}
	c.out = append(c.out, probes.CheckResult{
		Name: name, Order: order, Link: link, Status: st,
		Reason: fmt.Sprintf(format, args...), Fix: fix, Time: c.now,
	})
}

// evaluate turns a snapshot into checks, in checklist order.
func evaluate(cfg Config, site probes.Site, s *snapshot, now time.Time) []probes.CheckResult {
	c := &checker{cfg: cfg, site: site, s: s, now: now}
	c.accounts()
	c.discovery()
	for _, lv := range s.links {
		c.connection(lv)
	}
	c.redundancy()
	for _, lv := range s.links {
		c.vif(lv)
		c.cloudWatch(lv)
		c.macsec(lv)
	}
	c.capacity()
	c.mtu()
	c.returnPath()
	c.probeSources()
	c.monitoredAddresses()
	c.gateway()
	c.vgws()
	c.tgws()
	c.tables()
	slices.SortStableFunc(c.out, func(a, b probes.CheckResult) int { return a.Order - b.Order })
	return c.out
}

// where names the places looked in, for "not found" reasons.
func (c *checker) where() string {
	var names []string
	for _, a := range c.cfg.accounts() {
		n := a.Name
		if id := c.s.idents[a.Name]; id.accountID != "" {
			n += " (" + id.accountID + ")"
		}
		names = append(names, n)
	}
	return fmt.Sprintf("accounts %s, regions %s", strings.Join(names, ", "), strings.Join(c.cfg.Regions, ", "))
}

// who names the identity of an account for IAM fixes: its ARN when known.
func (c *checker) who(account string) string {
	if id := c.s.idents[account]; id.arn != "" {
		return id.arn
	}
	return "the dxwatch identity of account " + account
}

// unread adds a skip for a check whose data the failed call f did not
// return, saying why and, for a denial, which action to allow.
func (c *checker) unread(name string, order int, link, what string, f *failure) {
	reason, fix := f.describe(c.who(f.key.account))
	if f.kind == kindAuth {
		fix = "see aws.account." + f.key.account
	}
	c.add(name, order, link, probes.Skip, fix, "%s could not be read in %s: %s", what, f.key, reason)
}

func (c *checker) accounts() {
	home := c.cfg.Regions[0]
	for i, a := range c.cfg.accounts() {
		name := "aws.account." + a.Name
		id := c.s.idents[a.Name]
		switch {
		case id.err != nil && classify(id.err) == kindAuth:
			c.add(name, probes.OrderConnection, "", probes.Fail, credentialsFix(a, id.err),
				"credentials do not work: %s: %v", orDefault(errorCode(id.err), "no credentials"), id.err)
		case id.err != nil:
			// STS did not answer: nothing is known about the credentials,
			// and the other services are polled regardless.
			f := c.s.failed("sts:GetCallerIdentity", "sts:AssumeRole")
			if f == nil {
				f = &failure{key: tkey{a.Name, home}, action: "sts:GetCallerIdentity", kind: classify(id.err), err: id.err}
			}
			c.unread(name, probes.OrderConnection, "", "the identity", f)
		case a.AccountID != "" && id.accountID != a.AccountID:
			c.add(name, probes.OrderConnection, "", probes.Fail,
				fmt.Sprintf("use credentials (or a role_arn) of account %s, or correct accounts[%d].account_id", a.AccountID, i),
				"the credentials are %s in account %s, accounts[%d].account_id is %s", id.arn, id.accountID, i, a.AccountID)
		default:
			c.add(name, probes.OrderConnection, "", probes.Pass, "", "credentials of %s (account %s)", id.arn, id.accountID)
		}
		for _, r := range c.cfg.Regions {
			c.api(tkey{a.Name, r}, a)
		}
	}
}

// api sums up the calls in one account and region: every denied action in
// one line, the outages by operation, credentials only when they failed.
func (c *checker) api(k tkey, a AccountConfig) {
	name := "aws.api." + k.account + "." + k.region
	t := c.s.targets[k]
	if t == nil || t.ok() {
		calls := 0
		if t != nil {
			calls = t.calls
		}
		c.add(name, probes.OrderConnection+1, "", probes.Pass, "", "%d calls succeeded", calls)
		return
	}
	var denied, auth, down, other []string
	unreachable := false
	var authErr error
	seen := map[string]bool{}
	for _, f := range t.failures {
		if seen[f.action] {
			continue
		}
		seen[f.action] = true
		reason, _ := f.describe("")
		switch f.kind {
		case kindDenied:
			denied = append(denied, f.action)
		case kindAuth:
			auth = append(auth, f.action)
			authErr = f.err
		case kindUnavailable:
			down = append(down, strings.TrimPrefix(reason, "AWS API unavailable: "))
			unreachable = unreachable || f.unreachable()
		default:
			other = append(other, reason)
		}
	}
	reasons := []string{fmt.Sprintf("%d of %d calls failed", len(t.failures), t.calls)}
	var fixes []string
	if len(denied) > 0 {
		reasons = append(reasons, "access denied to "+strings.Join(denied, ", "))
		fixes = append(fixes, fmt.Sprintf("allow %s in the IAM policy of %s (deploy/iam-policy.json lists every action dxwatch needs)", strings.Join(denied, ", "), c.who(k.account)))
	}
	if len(auth) > 0 {
		reasons = append(reasons, fmt.Sprintf("the credentials do not work (%s: %s)", strings.Join(auth, ", "), orDefault(errorCode(authErr), "no credentials")))
		fixes = append(fixes, credentialsFix(a, authErr))
	}
	switch {
	case unreachable:
		reasons = append(reasons, "AWS API unreachable: "+strings.Join(down, "; "))
		fixes = append(fixes, unreachableFix(k.region))
	case len(down) > 0:
		reasons = append(reasons, "AWS API unavailable: "+strings.Join(down, "; "))
		fixes = append(fixes, fmt.Sprintf("nothing to change in dxwatch: throttling and server errors are retried with adaptive backoff; the daemon (dxwatch run) polls again within %s and keeps the last known values meanwhile, a one-shot run (verify) is to be run again later; if it persists, check the AWS Health Dashboard and the network path to the AWS endpoints", c.cfg.PollInterval))
	}
	if len(other) > 0 {
		reasons = append(reasons, strings.Join(other, "; "))
	}
	c.add(name, probes.OrderConnection+1, "", probes.Fail, strings.Join(fixes, "; "), "%s", strings.Join(reasons, "; "))
}

// failureOf returns the recorded failure of the action, or one made from
// err when none was recorded.
func (c *checker) failureOf(err error, action string) *failure {
	if f := c.s.failed(action); f != nil {
		return f
	}
	return &failure{action: action, kind: classify(err), err: err}
}

// lookupProblem explains why something was not found: when one of the
// calls that would have found it failed, the check is skipped naming that
// call; else it is not there (fail).
func (c *checker) lookupProblem(name string, order int, link, what, fix string, actions ...string) {
	if f := c.s.failed(actions...); f != nil {
		c.unread(name, order, link, what, f)
		return
	}
	c.add(name, order, link, probes.Fail, fix, "%s not found in %s", what, c.where())
}

func (c *checker) discovery() {
	var b strings.Builder
	for _, lv := range c.s.links {
		fmt.Fprintf(&b, "link %s: ", lv.link.Name)
		switch {
		case lv.vif != nil:
			fmt.Fprintf(&b, "VIF %s", deref(lv.vif.VirtualInterfaceId))
			if lv.discoveredVIF {
				b.WriteString(" (discovered)")
			}
		default:
			b.WriteString("no VIF")
		}
		if lv.conn != nil {
			fmt.Fprintf(&b, " on %s", deref(lv.conn.ConnectionId))
			if lv.discoveredConn {
				b.WriteString(" (discovered)")
			}
		}
		b.WriteString("; ")
	}
	if gw := c.s.gw; gw != nil && gw.lookupErr == nil {
		fmt.Fprintf(&b, "DX gateway %s (%s) with %d VIF attachments", c.s.gwID, deref(gw.gw.DirectConnectGatewayName), len(gw.attachments))
		for _, a := range gw.assocs {
			if ag := a.AssociatedGateway; ag != nil {
				fmt.Fprintf(&b, ", associated with %s %s (%s, %s)", ag.Type, deref(ag.Id), deref(ag.OwnerAccount), deref(ag.Region))
			}
		}
		b.WriteString("; ")
	}
	for _, g := range c.s.vgws {
		fmt.Fprintf(&b, "VGW %s", g.id)
		for _, v := range g.vpcs {
			fmt.Fprintf(&b, " -> %s", v)
			if d := c.s.vpcs[v]; d != nil {
				fmt.Fprintf(&b, " %s", joinPrefixes(d.cidrs))
			}
			if c.s.tableErr[v] != nil {
				b.WriteString(" with route tables unread")
				continue
			}
			var rts []string
			for _, t := range c.s.tables {
				if t.vpc == v {
					rts = append(rts, t.id)
				}
			}
			fmt.Fprintf(&b, " with route tables %s", orDefault(strings.Join(rts, ", "), "none"))
		}
		b.WriteString("; ")
	}
	found := strings.TrimSuffix(b.String(), "; ")
	if len(c.s.failures) > 0 {
		// What was not read may hold what was not found: never pass on it.
		var unread []string
		for _, f := range c.s.failures {
			if a := f.action + " in " + f.key.String(); !slices.Contains(unread, a) {
				unread = append(unread, a)
			}
		}
		c.add("aws.discovery", probes.OrderConnection+2, "", probes.Skip, "see aws.api.*",
			"incomplete: %s could not be read; found so far: %s", strings.Join(unread, ", "), found)
		return
	}
	if len(c.s.vifs) > 0 {
		c.add("aws.discovery", probes.OrderConnection+2, "", probes.Pass, "", "%s", found)
		return
	}
	c.add("aws.discovery", probes.OrderConnection+2, "", probes.Warn, c.discoveryFix(), "%s", found)
}

// discoveryFix says what to set, or to check, when no VIF was found: it
// never asks for settings that are already there.
func (c *checker) discoveryFix() string {
	var missing []string
	for i, l := range c.site.Links {
		if l.ConnectionID == "" {
			missing = append(missing, fmt.Sprintf("links[%d].connection_id", i))
		}
		if l.VIFID == "" {
			missing = append(missing, fmt.Sprintf("links[%d].vif_id", i))
		}
	}
	check := fmt.Sprintf("nothing was found in %s: check the configured IDs against the Direct Connect console, or add the account that owns them to aws.accounts and their region to aws.regions", c.where())
	if c.cfg.DXGatewayID != "" || c.cfg.VirtualGatewayID != "" || len(missing) == 0 {
		return check
	}
	return fmt.Sprintf("set aws.dx_gateway_id, or %s, to what the Direct Connect console shows; or %s", strings.Join(missing, ", "), check)
}

func routeCIDRs(rs []dxtypes.Route) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		if cidr := deref(r.Cidr); cidr != "" && !slices.Contains(out, cidr) {
			out = append(out, cidr)
		}
	}
	return out
}

func prefixEqual(aws string, want netip.Prefix) bool {
	got, err := netip.ParsePrefix(aws)
	return err == nil && got == want
}

func stripLen(s string) string {
	a, _, _ := strings.Cut(s, "/")
	return a
}

func joinPrefixes(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// role names a link with its role: "the primary", or "dx-a, the primary".
func role(name, r string) string {
	if name == r {
		return "the " + r
	}
	return name + ", the " + r
}

func head(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
}

func days(d time.Duration) int { return int(d.Hours() / 24) }

// dayHours writes a duration as a person counts it: whole days and hours
// ("9 days 19 hours", "10 days", "1 day 1 hour"), the rest of an hour
// dropped.
func dayHours(d time.Duration) string {
	h := int(d / time.Hour)
	dd, hh := h/24, h%24
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case dd == 0:
		return plural(hh, "hour")
	case hh == 0:
		return plural(dd, "day")
	}
	return plural(dd, "day") + " " + plural(hh, "hour")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cli returns an AWS CLI command line for a fix.
func cli(region string, args ...string) string {
	return "aws " + strings.Join(args, " ") + " --region " + region
}
