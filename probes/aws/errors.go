package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// errKind is what a failed call means for the operator: each kind has its
// own fix, and only kindAuth is about credentials.
type errKind int

const (
	// kindOther is a client error: the request or the resource is wrong.
	kindOther errKind = iota
	// kindAuth: the credentials do not work (invalid, expired, badly
	// signed, or the role cannot be assumed).
	kindAuth
	// kindDenied: the credentials work but lack an IAM permission.
	kindDenied
	// kindUnavailable: throttled, a server error, no answer in time, an
	// answer that could not be read, or an unreachable endpoint, after the
	// SDK's retries.
	kindUnavailable
)

// authCodes are the error codes that say the credentials themselves do not
// work, whatever the service.
var authCodes = []string{"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
	"UnrecognizedClientException", "AuthFailure", "InvalidAccessKeyId", "MissingAuthenticationToken",
	"IncompleteSignature", "InvalidSignatureException", "RequestExpired"}

// deniedCodes are the error codes of a missing IAM permission.
var deniedCodes = []string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}

var throttleCodes = []string{"ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException",
	"RequestThrottled", "RequestThrottledException", "SlowDown", "ProvisionedThroughputExceededException"}

// resultClass sorts an attempt's (or a call's) error into a bounded label
// value: success, throttled, denied, auth, server_error, timeout,
// malformed, unreachable or error.
func resultClass(err error) string {
	if err == nil {
		return "success"
	}
	if assumeRoleFailed(err) {
		return "auth"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); {
		case slices.Contains(throttleCodes, code):
			return "throttled"
		case slices.Contains(authCodes, code):
			return "auth"
		case slices.Contains(deniedCodes, code):
			// STS has no permission to deny on GetCallerIdentity: an
			// AccessDenied from it is about the credentials.
			if strings.HasPrefix(operationAction(err), "sts:") {
				return "auth"
			}
			return "denied"
		}
	}
	var se *v4.SigningError
	if errors.As(err, &se) {
		return "auth" // no credentials could be retrieved
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return "server_error"
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "malformed"
	}
	var qe ratelimit.QuotaExceededError
	if errors.As(err, &qe) {
		return "throttled" // the client's own retry budget ran out
	}
	var oe *net.OpError
	if errors.As(err, &oe) || errors.Is(err, io.EOF) {
		return "unreachable"
	}
	return "error"
}

// classify returns the kind of a call's error.
func classify(err error) errKind {
	switch resultClass(err) {
	case "auth":
		return kindAuth
	case "denied":
		return kindDenied
	case "throttled", "server_error", "timeout", "malformed", "unreachable":
		return kindUnavailable
	}
	return kindOther
}

// assumeRoleFailed says whether err comes from sts:AssumeRole, called by the
// credentials provider before (or as) the operation itself.
func assumeRoleFailed(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if oe, ok := e.(*smithy.OperationError); ok && oe.Operation() == "AssumeRole" {
			return true
		}
	}
	return false
}

// operationAction is the IAM action of the innermost operation in err:
// "sts:GetCallerIdentity".
func operationAction(err error) string {
	var action string
	for e := err; e != nil; e = errors.Unwrap(e) {
		if oe, ok := e.(*smithy.OperationError); ok {
			svc := oe.Service()
			if p, ok := serviceActions[svc]; ok {
				svc = p
			}
			action = strings.ToLower(svc) + ":" + oe.Operation()
		}
	}
	return action
}

// errorCode is the API error code in err, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// unavailableCause says in a few words why a call of kindUnavailable
// failed: "throttled (ThrottlingException)", "HTTP 503 (Unavailable)".
func unavailableCause(err error) string {
	code := errorCode(err)
	withCode := func(s string) string {
		if code == "" {
			return s
		}
		return s + " (" + code + ")"
	}
	switch resultClass(err) {
	case "throttled":
		return withCode("throttled")
	case "server_error":
		var re *smithyhttp.ResponseError
		errors.As(err, &re)
		return withCode(fmt.Sprintf("HTTP %d", re.HTTPStatusCode()))
	case "timeout":
		return "no answer in time"
	case "malformed":
		return "an answer that could not be read (malformed or cut short)"
	case "unreachable":
		return "the endpoint could not be reached"
	}
	return withCode("error")
}

// errBudget marks a call cut short by the end of the poll's budget.
var errBudget = errors.New("the poll's budget ran out")

// credentialsFix is the fix of an authentication failure.
func credentialsFix(a AccountConfig, err error) string {
	if assumeRoleFailed(err) {
		fix := fmt.Sprintf("allow sts:AssumeRole on %s for the dxwatch identity, and trust that identity in the role's trust policy", a.RoleARN)
		if a.ExternalIDFile != "" {
			fix += " with the external ID in " + a.ExternalIDFile
		}
		return fix
	}
	switch errorCode(err) {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return "the session credentials expired: refresh them (aws sso login, a new role session) or use credentials that renew themselves (an instance, task or web-identity role); check the host's clock too"
	case "SignatureDoesNotMatch", "InvalidSignatureException":
		return "the secret access key does not match the access key ID: set the right AWS_SECRET_ACCESS_KEY (or profile), and check the host's clock"
	}
	return "give dxwatch working credentials through the SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an instance or task role, web identity); the access key may be deleted or inactive"
}

// describe says what a failure is and what to do about it: the reason
// names the action (and, when AWS was unavailable, the attempts and the
// time taken); the fix is empty for an outage, which only waiting cures.
func (f failure) describe(who string) (reason, fix string) {
	switch f.kind {
	case kindDenied:
		return fmt.Sprintf("access denied to %s", f.action),
			fmt.Sprintf("allow %s in the IAM policy of %s (deploy/iam-policy.json lists every action dxwatch needs)", f.action, who)
	case kindAuth:
		return fmt.Sprintf("%s: the credentials do not work: %s", f.action, orDefault(errorCode(f.err), "no credentials")), ""
	case kindUnavailable:
		attempts := fmt.Sprintf("%d attempts", f.attempts)
		if f.attempts == 1 {
			attempts = "1 attempt"
		}
		cause := unavailableCause(f.err)
		if f.unreachable() {
			cause = "the endpoint could not be reached (" + netCause(f.err) + ")"
		}
		if errors.Is(f.err, errBudget) {
			cause = "the poll's budget (aws.timeout) ran out"
			if f.last != nil && f.unreachable() {
				cause += "; the last attempt: " + netCause(f.last)
			}
			if f.attempts == 0 {
				return fmt.Sprintf("AWS API unavailable: %s not tried: %s", f.action, cause), ""
			}
		}
		return fmt.Sprintf("AWS API unavailable: %s failed after %s in %s: %s",
			f.action, attempts, f.elapsed.Round(10*time.Millisecond), cause), ""
	}
	return fmt.Sprintf("%s failed: %v", f.action, f.err), ""
}

// unreachable says whether the call failed because the host could not
// reach the endpoint (no route, refused, no DNS answer), itself or in its
// last attempt before the budget ran out.
func (f failure) unreachable() bool {
	return resultClass(f.err) == "unreachable" || (errors.Is(f.err, errBudget) && f.last != nil && resultClass(f.last) == "unreachable")
}

// netCause is the socket's or the resolver's own words for a network
// error: "lookup sts.eu-central-1.amazonaws.com: no such host", "connect:
// network is unreachable".
func netCause(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		return "DNS lookup of " + de.Name + ": " + de.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}

// unreachableFix is the fix when the host cannot reach the AWS endpoints
// of region.
func unreachableFix(region string) string {
	return fmt.Sprintf("dxwatch's host cannot reach the AWS API endpoints of %[1]s (directconnect.%[1]s.amazonaws.com, ec2.%[1]s.amazonaws.com, sts.%[1]s.amazonaws.com and monitoring.%[1]s.amazonaws.com, TCP 443): "+
		"give it DNS and a route to them, an HTTPS proxy (HTTPS_PROXY), or VPC interface endpoints (AWS_ENDPOINT_URL_DIRECT_CONNECT, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_CLOUDWATCH)", region)
}
