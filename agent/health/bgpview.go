package health

import "strings"

// isAWSBGPCheck says whether an AWS check reports AWS's view of a link's
// BGP session: aws.vif.<link>.bgp (the Direct Connect API's bgpStatus) and
// aws.cloudwatch.<link>.bgp (CloudWatch's VirtualInterfaceBgpStatus).
func isAWSBGPCheck(check string) bool {
	return strings.HasPrefix(check, "aws.") && strings.HasSuffix(check, ".bgp")
}

// bgpDisagreement names a disagreement between AWS's view of a session
// and the edge's.
func bgpDisagreement(a *boolEv, edgeUp bool) string {
	aws, edge := "down", "up"
	if !edgeUp {
		aws, edge = "up", "down"
	}
	return "AWS and the edge disagree on BGP: " + a.key + " says " + aws + ", the edge's session is " + edge +
		" (one view is stale, CloudWatch lags by minutes, or the session flaps)"
}
