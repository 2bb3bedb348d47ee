package report

import (
	"fmt"
	"strings"
)

// attribute says which side the evidence recorded with an incident's down
// changes points to, and why. It claims a side only on evidence that
// names one: the edge router closing the session itself (an operator
// stop, a de-configured peer, an administrative shutdown it sent), or
// AWS's side closing it or AWS's own API and CloudWatch reporting the
// connection, the VIF or its BGP session down. Lost echoes and an expired
// hold timer say the path between the edge and AWS failed, not where:
// undetermined. Evidence for both sides is undetermined too, with both
// named. A peering's change reads the facts of its family and those about
// the whole link (the connection, the VIF), not the other family's.
func attribute(trs []Transition) (side, why string) {
	var edge, dx []string
	for _, t := range trs {
		if t.Evidence == nil {
			continue
		}
		who, session := t.Link, t.Link+"'s BGP session"
		if t.Family != "" {
			who, session = t.Link+"'s "+familyName(t.Family)+" peering", t.Link+"'s "+familyName(t.Family)+" BGP session"
		}
		for _, f := range t.Evidence.Facts {
			if f.OK || (t.Family != "" && f.Family != "" && f.Family != t.Family) {
				continue
			}
			d := strings.ToLower(f.Detail)
			switch f.Source {
			case "bgp_session":
				switch {
				case strings.Contains(d, "manualstop") || strings.Contains(d, "stopped by an operator") || strings.Contains(d, "de-configured") ||
					(strings.Contains(d, "local system closed") && strings.Contains(d, "shutdown")):
					edge = appendNew(edge, fmt.Sprintf("the edge router closed %s with AWS itself (%s)", session, f.Detail))
				case strings.Contains(d, "remote system closed the session with a notification"):
					dx = appendNew(dx, fmt.Sprintf("AWS's router closed %s (%s)", session, f.Detail))
				}
			case "aws":
				dx = appendNew(dx, fmt.Sprintf("AWS reported %s failing for %s (%s)", f.Name, who, f.Detail))
			}
		}
	}
	switch {
	case len(edge) > 0 && len(dx) > 0:
		return SideUndetermined, "the evidence points both ways: " + strings.Join(append(edge, dx...), "; ")
	case len(edge) > 0:
		return SideEdge, strings.Join(edge, "; ")
	case len(dx) > 0:
		return SideDX, strings.Join(dx, "; ") + "; AWS sees a link down whichever end failed, but this is AWS's own record of the outage"
	}
	return SideUndetermined, "the recorded evidence (lost echoes, an expired hold timer, withdrawn routes) shows the path between the edge and AWS failed, not on which side; no AWS state was recorded failing, and nothing recorded says the edge closed the session by choice (an operator stop, a de-configured peer, an administrative shutdown)"
}

func appendNew(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

// familyName writes an address family as a person reads it: IPv4, IPv6.
func familyName(family string) string {
	switch family {
	case "ipv4":
		return "IPv4"
	case "ipv6":
		return "IPv6"
	}
	return family
}
