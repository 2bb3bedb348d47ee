package awstest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Fault changes how the server answers matching requests: an error in the
// service's own wire format, a raw (malformed) body, a truncated response or
// a delay. Zero fields match anything.
type Fault struct {
	// Action is the IAM-style action, "directconnect:DescribeConnections".
	Action  string
	Account string
	Region  string
	// Times is how many matching requests the fault affects; 0 is all.
	Times int

	// Status is the HTTP status (default 400 for an error, 200 for Body).
	Status int
	// Code and Message make a protocol error (__type for Direct Connect,
	// Errors/Error for EC2, ErrorResponse for STS).
	Code    string
	Message string
	// Body replaces the response body as is.
	Body string
	// Truncate sends the real response cut in half while declaring its
	// full length, then closes the connection.
	Truncate bool
	// Delay holds the response back (the request's context still ends it).
	Delay time.Duration
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter string
}

// RateLimit throttles like AWS: a token bucket per account, region and
// service that refills at Rate requests per second up to Burst; a request
// finding it empty gets the service's throttling error (see Throttle).
type RateLimit struct {
	Rate  float64
	Burst int
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Throttle returns the throttling fault each service really answers with:
// ThrottlingException (Direct Connect), RequestLimitExceeded (EC2, HTTP
// 503), Throttling (STS, CloudWatch).
func Throttle(action string, times int) Fault {
	f := Fault{Action: action, Times: times, Status: 400, Message: "Rate exceeded"}
	switch service(action) {
	case "ec2":
		f.Code, f.Status, f.Message = "RequestLimitExceeded", 503, "Request limit exceeded."
	case "sts", "cloudwatch":
		f.Code = "Throttling"
	default:
		f.Code = "ThrottlingException"
	}
	return f
}

// Server is the fake AWS endpoint: Direct Connect (awsJson1_1 with
// X-Amz-Target), EC2 (ec2 query protocol, XML responses), STS (query
// protocol, XML) and CloudWatch (rpcv2Cbor, as the SDK speaks it), told apart by the service in the SigV4 credential scope.
// The caller's account comes from the access key ID, the region from the
// credential scope. Signatures are not verified.
type Server struct {
	mu       sync.Mutex
	sc       *Scenario
	faults   []*Fault
	calls    map[string]int
	sessions map[string]session // session access key -> identity
	nextID   int
	now      func() time.Time
	limit    *RateLimit
	buckets  map[string]*bucket

	// OnCall, when set before serving, sees every action requested
	// ("ec2:DescribeVpcs"), including ones answered with a fault.
	OnCall func(action string)
}

type session struct {
	account string
	arn     string
}

// New returns a server for sc. The server owns sc from now on: mutate it
// with Update.
func New(sc *Scenario) *Server {
	return &Server{sc: sc, calls: map[string]int{}, sessions: map[string]session{}, now: time.Now}
}

// Start serves a copy of sc on an httptest server on 127.0.0.1, closed when
// the test ends, and returns the server and its URL (the BaseEndpoint of
// every client).
func Start(t testing.TB, sc *Scenario) (*Server, string) {
	t.Helper()
	s := New(sc.Clone())
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs.URL
}

// Update runs fn on the scenario under the server's lock.
func (s *Server) Update(fn func(*Scenario)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.sc)
}

// Inject adds a fault; faults are matched in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// SetRateLimit throttles every request beyond the limit; nil lifts it.
func (s *Server) SetRateLimit(l *RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.buckets = l, map[string]*bucket{}
}

// throttled takes a token from the caller's bucket and says whether there
// was none.
func (s *Server) throttled(c call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit == nil {
		return false
	}
	key := c.account + "/" + c.region + "/" + c.service
	now := time.Now()
	b := s.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(s.limit.Burst), last: now}
		s.buckets[key] = b
	}
	b.tokens = min(float64(s.limit.Burst), b.tokens+now.Sub(b.last).Seconds()*s.limit.Rate)
	b.last = now
	if b.tokens < 1 {
		return true
	}
	b.tokens--
	return false
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Calls returns how many times each action was requested.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Actions returns the actions requested so far, sorted.
func (s *Server) Actions() []string {
	return slices.Sorted(maps.Keys(s.Calls()))
}

// ResetCalls forgets the calls counted so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// call is one decoded request.
type call struct {
	service string // directconnect | ec2 | sts
	op      string
	action  string
	account string
	arn     string
	region  string
	body    []byte
	form    map[string][]string
}

func service(action string) string {
	svc, _, _ := strings.Cut(action, ":")
	return svc
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	c, errCode, errMsg := s.decode(r, body)
	if c.action != "" {
		s.mu.Lock()
		s.calls[c.action]++
		onCall := s.OnCall
		s.mu.Unlock()
		if onCall != nil {
			onCall(c.action)
		}
	}
	if errCode != "" {
		writeError(w, c.service, 400, errCode, errMsg)
		return
	}

	if s.throttled(c) {
		t := Throttle(c.action, 1)
		writeError(w, c.service, t.Status, t.Code, t.Message)
		return
	}
	f := s.fault(c)
	if f != nil && f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f != nil && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f != nil && f.Code != "" {
		st := f.Status
		if st == 0 {
			st = 400
		}
		writeError(w, c.service, st, f.Code, f.Message)
		return
	}
	if f != nil && f.Body != "" {
		st := f.Status
		if st == 0 {
			st = 200
		}
		w.Header().Set("Content-Type", contentType(c.service))
		w.WriteHeader(st)
		io.WriteString(w, f.Body)
		return
	}

	if denied := s.denied(c); denied {
		code, st := "AccessDeniedException", 400
		switch c.service {
		case "ec2":
			code, st = "UnauthorizedOperation", 403
		case "sts", "monitoring":
			code, st = "AccessDenied", 403
		}
		writeError(w, c.service, st, code, fmt.Sprintf("User: %s is not authorized to perform: %s", c.arn, c.action))
		return
	}

	var resp []byte
	var apiErr *apiError
	s.mu.Lock()
	switch c.service {
	case "directconnect":
		resp, apiErr = s.directConnect(c)
	case "ec2":
		resp, apiErr = s.ec2(c)
	case "sts":
		resp, apiErr = s.sts(c)
	case "monitoring":
		resp, apiErr = s.cloudWatch(c)
	}
	s.mu.Unlock()
	if apiErr != nil {
		writeError(w, c.service, apiErr.status, apiErr.code, apiErr.msg)
		return
	}
	w.Header().Set("Content-Type", contentType(c.service))
	w.Header().Set("X-Amzn-RequestId", "fake-"+strconv.Itoa(len(resp)))
	if c.service == "monitoring" {
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	}
	if f != nil && f.Truncate {
		// Declare the whole body, send half: the client sees the
		// connection end early.
		w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
		w.WriteHeader(http.StatusOK)
		w.Write(resp[:len(resp)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.Write(resp)
}

func contentType(svc string) string {
	switch svc {
	case "directconnect":
		return "application/x-amz-json-1.1"
	case "monitoring":
		return "application/cbor"
	}
	return "text/xml;charset=UTF-8"
}

// decode finds the service, operation, caller and region of a request.
func (s *Server) decode(r *http.Request, body []byte) (c call, code, msg string) {
	c.body = body
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		c.service = "directconnect"
		if r.Header.Get("X-Amz-Target") == "" {
			c.service = "ec2"
		}
		return c, "MissingAuthenticationToken", "Request is missing Authentication Token"
	}
	cred, _, _ = strings.Cut(cred, ",")
	scope := strings.Split(cred, "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 {
		return c, "IncompleteSignature", "malformed credential scope"
	}
	akid := scope[0]
	c.region, c.service = scope[2], scope[3]
	switch c.service {
	case "directconnect":
		target := r.Header.Get("X-Amz-Target")
		svc, op, ok := strings.Cut(target, ".")
		if !ok || svc != "OvertureService" {
			return c, "UnknownOperationException", "bad X-Amz-Target " + target
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			return c, "SerializationException", "bad Content-Type " + ct
		}
		c.op = op
	case "monitoring":
		// rpcv2Cbor: the operation is in the path, the body is CBOR.
		op, ok := strings.CutPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/")
		if !ok || r.Method != http.MethodPost || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			return c, "UnknownOperationException", "not an rpc-v2-cbor CloudWatch request: " + r.Method + " " + r.URL.Path
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/cbor" {
			return c, "SerializationException", "bad Content-Type " + ct
		}
		c.op = op
	case "ec2", "sts":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return c, "MalformedQueryString", err.Error()
		}
		c.form = form
		c.op = first(form["Action"])
	default:
		return c, "UnrecognizedClientException", "unknown service " + c.service
	}
	c.action = c.service + ":" + c.op
	if c.service == "monitoring" {
		c.action = "cloudwatch:" + c.op // the IAM prefix differs from the signing name
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[akid]; ok {
		c.account, c.arn = sess.account, sess.arn
		return c, "", ""
	}
	for _, a := range s.sc.Accounts {
		if a.AccessKeyID == akid {
			c.account, c.arn = a.AccountID, a.ARN
			if c.arn == "" {
				c.arn = "arn:aws:iam::" + a.AccountID + ":user/dxwatch"
			}
			return c, "", ""
		}
	}
	if c.service == "ec2" {
		return c, "AuthFailure", "AWS was not able to validate the provided access credentials"
	}
	return c, "UnrecognizedClientException", "The security token included in the request is invalid."
}

func (s *Server) fault(c call) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Action != "" && f.Action != c.action) || (f.Account != "" && f.Account != c.account) ||
			(f.Region != "" && f.Region != c.region) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		cp := *f
		return &cp
	}
	return nil
}

func (s *Server) denied(c call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.sc.Account(c.account)
	// "No permissions are required to perform this operation. If an
	// administrator attaches a policy to your identity that explicitly
	// denies access to the sts:GetCallerIdentity action, you can still
	// perform this operation." (STS API reference, GetCallerIdentity)
	return a != nil && slices.Contains(a.Deny, c.action) && c.action != "sts:GetCallerIdentity"
}

type apiError struct {
	status    int
	code, msg string
}

func clientErr(format string, args ...any) *apiError {
	return &apiError{status: 400, code: "DirectConnectClientException", msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, svc string, status int, code, msg string) {
	var body []byte
	switch svc {
	case "ec2":
		body = fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>fake-request</RequestID></Response>`,
			xmlEscape(code), xmlEscape(msg))
	case "sts":
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		body = fmt.Appendf(nil, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>fake-request</RequestId>
</ErrorResponse>`, typ, xmlEscape(code), xmlEscape(msg))
	case "monitoring":
		// rpcv2Cbor errors: __type in a CBOR body; CloudWatch is
		// awsQueryCompatible, so the query error code rides in a header.
		body = cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + code), "message": cbor.String(msg)})
		fault := "Sender"
		if status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	default:
		body, _ = json.Marshal(map[string]string{"__type": code, "message": msg})
	}
	w.Header().Set("Content-Type", contentType(svc))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// page returns one page of items from the opaque token on, and the token
// of the next page. size 0 is everything.
func page[T any](items []T, token string, size int) ([]T, string, *apiError) {
	start := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "page:"))
		if err != nil || err2 != nil || !bytes.HasPrefix(b, []byte("page:")) || n < 0 || n > len(items) {
			return nil, "", &apiError{status: 400, code: "InvalidNextToken", msg: "invalid pagination token " + token}
		}
		start = n
	}
	end := len(items)
	if size > 0 && start+size < end {
		end = start + size
	}
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("page:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
