// Package awstest is a fake AWS endpoint for tests and demos: an HTTP server
// that speaks the real wire formats of the three services dxwatch calls —
// Direct Connect (awsJson1_1: a JSON body and X-Amz-Target
// OvertureService.<Operation>), EC2 (the ec2 query protocol with XML
// responses) and STS (the query protocol with XML responses) — so that the
// real aws-sdk-go-v2 clients, pointed at it with BaseEndpoint or the
// AWS_ENDPOINT_URL_* variables, run unchanged.
//
// The served state is a Scenario (a Go model of a Direct Connect setup)
// that tests mutate between polls; faults (throttling, 5xx, access denied,
// delays, malformed and truncated bodies) are injected per action. The
// server records every action requested, which the probe's tests compare
// with deploy/iam-policy.json.
//
// It never talks to AWS and needs no credentials: the caller's account is
// looked up from the access key ID of the SigV4 credential scope.
package awstest
