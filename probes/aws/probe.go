package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/directconnect"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/probes"
)

// Kind is the probe kind, as in the configuration section `aws:`.
const Kind = "aws"

// Probe polls the AWS API, caches what it found and serves it as checks and
// const metrics. It implements probes.Probe and probes.Checker.
type Probe struct {
	name string
	cfg  Config
	deps probes.Deps
	log  *slog.Logger

	externalIDs map[string]string // account name -> external ID

	// Seams for tests: where the base SDK config comes from, the clock,
	// and how hard the retryer tries.
	loadConfig  func(ctx context.Context, region string) (awssdk.Config, error)
	now         func() time.Time
	maxAttempts int
	maxBackoff  time.Duration

	transport *http.Transport
	apiCalls  *prometheus.CounterVec

	clientsMu sync.Mutex
	clients   []*accountClients // nil until the first poll

	mu          sync.Mutex
	snap        *snapshot
	checks      []probes.CheckResult
	lastSuccess map[tkey]time.Time
}

// accountClients are the SDK clients of one account, one per region.
type accountClients struct {
	cfg AccountConfig
	aws awssdk.Config
	sts *sts.Client
	dx  map[string]*directconnect.Client
	ec2 map[string]*ec2.Client
	cw  map[string]*cloudwatch.Client
}

// New builds the probe. It reads the external ID files but opens no
// connection; the SDK configuration is loaded on the first poll.
func New(name string, cfg Config, deps probes.Deps) (*Probe, error) {
	deps = deps.WithDefaults(Kind, name)
	if err := cfg.Validate(deps.Site); err != nil {
		return nil, err
	}
	p := &Probe{
		name: name, cfg: cfg, deps: deps, log: deps.Logger,
		externalIDs: map[string]string{},
		loadConfig:  loadDefaultConfig,
		now:         time.Now,
		maxAttempts: 8,
		maxBackoff:  4 * time.Second,
		lastSuccess: map[tkey]time.Time{},
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxwatch_aws_api_calls_total",
			Help: "AWS API call attempts by IAM action and result (success, throttled, denied, auth, server_error, timeout, malformed, unreachable, error).",
		}, []string{"operation", "result"}),
	}
	for _, w := range cfg.Warnings() {
		p.log.Warn("aws configuration: " + w)
	}
	for i, a := range cfg.accounts() {
		if a.ExternalIDFile == "" {
			continue
		}
		b, err := os.ReadFile(a.ExternalIDFile)
		if err != nil {
			return nil, fmt.Errorf("accounts[%d].external_id_file: %w", i, err)
		}
		id := strings.TrimSpace(string(b))
		if id == "" {
			return nil, fmt.Errorf("accounts[%d].external_id_file: %s is empty", i, a.ExternalIDFile)
		}
		p.externalIDs[a.Name] = id
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	// One slow attempt must leave time for a retry within the poll.
	tr.ResponseHeaderTimeout = max(cfg.Timeout/3, time.Second)
	tr.MaxIdleConnsPerHost = 4
	p.transport = tr
	return p, nil
}

func loadDefaultConfig(ctx context.Context, region string) (awssdk.Config, error) {
	// The default chain: environment, shared config and credentials files,
	// SSO, web identity, ECS and EC2 instance roles. AWS_ENDPOINT_URL and
	// AWS_ENDPOINT_URL_{DIRECT_CONNECT,EC2,STS,CLOUDWATCH} are honoured by
	// the clients.
	return config.LoadDefaultConfig(ctx, config.WithRegion(region))
}

// Name returns the probe's name.
func (p *Probe) Name() string { return p.name }

// Run polls until ctx ends, every poll_interval with ±10% jitter.
func (p *Probe) Run(ctx context.Context) error {
	defer p.transport.CloseIdleConnections()
	for {
		start := p.now()
		err := p.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		p.deps.Status.Done(start, err)
		t := time.NewTimer(p.jitter())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (p *Probe) jitter() time.Duration {
	d := p.cfg.PollInterval
	return d - d/10 + rand.N(d/5+1)
}

// Checks returns the checks of the last poll (nothing before the first).
func (p *Probe) Checks() []probes.CheckResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]probes.CheckResult(nil), p.checks...)
}

// Poll runs one round within the poll's budget (aws.timeout): it calls
// the API in every account and region, caches the result, evaluates the
// checks and reports them to the observer. It returns an error when some
// call failed; the others are still made and cached. What a failed poll
// could not read keeps its last known value (metrics and checks, marked
// as such) until a poll reads it again; the staleness is exported as
// dxwatch_aws_last_success_timestamp_seconds. `dxwatch verify` calls it
// once.
func (p *Probe) Poll(ctx context.Context) error {
	clients, err := p.accountClients(ctx)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	snap := p.collect(pctx, clients)
	cancel()
	now := p.now()
	checks := evaluate(p.cfg, p.deps.Site, snap, now)
	fresh := checks

	p.mu.Lock()
	for k, t := range snap.targets {
		if t.ok() {
			p.lastSuccess[k] = snap.at
		}
	}
	if len(snap.failures) > 0 && p.snap != nil {
		snap.keepUnread(p.snap)
		checks = keepUnreadChecks(p.checks, checks)
	}
	p.snap, p.checks = snap, checks
	p.mu.Unlock()

	for _, c := range fresh {
		if c.Status == probes.Skip {
			continue
		}
		p.deps.Observer.Observe(probes.Observation{
			Time: c.Time, Event: probes.AWSCheck, Probe: p.name,
			Check: c.Name, Link: c.Link, Family: c.Family, Up: c.Status != probes.Fail, Detail: c.Reason,
		})
	}
	return snap.err()
}

// lastKnown marks a check result carried over from an earlier poll.
const lastKnown = " [last known: not read since "

// keepUnreadChecks returns the checks of a poll that failed in part, with
// the earlier result of every check the poll had to skip or could not
// evaluate, so that dxwatch_check_ok and alerts on it hold their value
// while the API is down instead of vanishing.
func keepUnreadChecks(prev, cur []probes.CheckResult) []probes.CheckResult {
	idx := map[string]int{}
	for i, c := range cur {
		idx[c.Name] = i
	}
	out := slices.Clone(cur)
	for _, old := range prev {
		if old.Status == probes.Skip {
			continue
		}
		i, ok := idx[old.Name]
		if ok && out[i].Status != probes.Skip {
			continue
		}
		if !strings.Contains(old.Reason, lastKnown) {
			old.Reason += lastKnown + old.Time.UTC().Format(time.RFC3339) + "]"
		}
		if ok {
			out[i] = old
		} else {
			out = append(out, old)
		}
	}
	slices.SortStableFunc(out, func(a, b probes.CheckResult) int { return a.Order - b.Order })
	return out
}

// accountClients builds the SDK clients once; a failure (a broken shared
// config file) is retried on the next poll.
func (p *Probe) accountClients(ctx context.Context) ([]*accountClients, error) {
	p.clientsMu.Lock()
	defer p.clientsMu.Unlock()
	if p.clients != nil {
		return p.clients, nil
	}
	home := p.cfg.Regions[0]
	base, err := p.loadConfig(ctx, home)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	base.Region = home
	base.HTTPClient = &http.Client{Transport: p.transport}
	// Adaptive mode: after a throttle the client slows its own request
	// rate, so a throttled poll completes instead of failing. The poll's
	// budget (aws.timeout) bounds the retries, not the SDK's process-wide
	// retry quota, which a long throttling burst would drain and keep
	// failing calls after it ended.
	base.Retryer = func() awssdk.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = p.maxAttempts
				so.MaxBackoff = p.maxBackoff
				so.Backoff = backoff{base: min(500*time.Millisecond, p.maxBackoff), max: p.maxBackoff, budget: p.cfg.Timeout}
				so.RateLimiter = ratelimit.None
			})
		})
	}
	base.APIOptions = append(base.APIOptions, p.countCalls)

	var out []*accountClients
	for _, a := range p.cfg.accounts() {
		ac := &accountClients{cfg: a, aws: base.Copy(), dx: map[string]*directconnect.Client{}, ec2: map[string]*ec2.Client{}, cw: map[string]*cloudwatch.Client{}}
		if a.RoleARN != "" {
			ext := p.externalIDs[a.Name]
			prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "dxwatch"
				if ext != "" {
					o.ExternalID = &ext
				}
			})
			ac.aws.Credentials = awssdk.NewCredentialsCache(prov)
		}
		ac.sts = sts.NewFromConfig(ac.aws)
		for _, r := range p.cfg.Regions {
			ac.dx[r] = directconnect.NewFromConfig(ac.aws, func(o *directconnect.Options) { o.Region = r })
			ac.ec2[r] = ec2.NewFromConfig(ac.aws, func(o *ec2.Options) { o.Region = r })
			ac.cw[r] = cloudwatch.NewFromConfig(ac.aws, func(o *cloudwatch.Options) { o.Region = r })
		}
		out = append(out, ac)
	}
	p.clients = out
	return out, nil
}

// backoff is full jitter: a random wait up to base·2^attempt, at most max;
// but never shorter than a 503's (or 429's) Retry-After, which the SDK's
// retryer ignores. A Retry-After longer than the poll's whole budget ends
// the retries at once instead of sleeping to the deadline.
type backoff struct{ base, max, budget time.Duration }

// BackoffDelay implements retry.BackoffDelayer.
func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	d := b.max
	if attempt < 20 {
		d = min(b.base<<attempt, b.max)
	}
	wait := rand.N(d + 1)
	if ra, ok := retryAfter(err); ok {
		if b.budget > 0 && ra > b.budget {
			return 0, fmt.Errorf("AWS asks to retry after %s, beyond the poll's budget (aws.timeout %s): %w", ra, b.budget, err)
		}
		wait = max(wait, ra)
	}
	return wait, nil
}

// retryAfter reads the Retry-After header of a 503 or 429 answer: seconds,
// or an HTTP date (RFC 9110, section 10.2.3).
func retryAfter(err error) (time.Duration, bool) {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || (re.HTTPStatusCode() != http.StatusServiceUnavailable && re.HTTPStatusCode() != http.StatusTooManyRequests) {
		return 0, false
	}
	v := strings.TrimSpace(re.Response.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// errNotFound says a resource is not visible in any configured account.
var errNotFound = errors.New("not found")
