package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxPages bounds every pagination loop.
const maxPages = 100

// parallelism bounds the calls in flight at once.
const parallelism = 4

// attemptsKey carries an attempt counter from call to the SDK middleware.
type attemptsKey struct{}

type attemptCounter struct {
	action string
	n      atomic.Int32
	mu     sync.Mutex
	last   error // the last attempt's error
}

func (ac *attemptCounter) attempted(err error) {
	ac.n.Add(1)
	if err != nil {
		ac.mu.Lock()
		ac.last = err
		ac.mu.Unlock()
	}
}

func (ac *attemptCounter) lastErr() error {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.last
}

// call runs one API call within the poll's budget and records its
// failure: a metric (through the SDK middleware), one log line and the
// snapshot's failures.
func (p *Probe) call(ctx context.Context, s *snapshot, k tkey, action string, fn func(ctx context.Context) error) error {
	ac := &attemptCounter{action: action}
	start := time.Now()
	err := fn(context.WithValue(ctx, attemptsKey{}, ac))
	s.counted(k, action)
	if err == nil {
		return nil
	}
	f := failure{key: k, action: action, kind: classify(err), attempts: int(ac.n.Load()), elapsed: time.Since(start), err: err, last: ac.lastErr()}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil && ctx.Err() != context.Canceled {
		err = fmt.Errorf("%s: %w (aws.timeout %s): %w", action, errBudget, p.cfg.Timeout, err)
		f.err, f.kind = err, kindUnavailable
	}
	if assumeRoleFailed(err) {
		f.action = "sts:AssumeRole"
	}
	s.record(f)
	if !errors.Is(ctx.Err(), context.Canceled) {
		reason, fix := f.describe("the dxwatch identity")
		attrs := []any{"account", k.account, "region", k.region, "action", f.action, "reason", reason, "err", err}
		if fix != "" {
			attrs = append(attrs, "fix", fix)
		}
		p.log.Warn("aws api call failed", attrs...)
	}
	return err
}

// counted counts a call of the action in the account and region.
func (s *snapshot) counted(k tkey, action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.targets[k]
	if t == nil {
		t = &apiState{}
		s.targets[k] = t
	}
	t.calls++
	if t.tried == nil {
		t.tried = map[string]bool{}
	}
	t.tried[action] = true
}

// record adds a failure to the snapshot.
func (s *snapshot) record(f failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.targets[f.key]
	if t == nil {
		t = &apiState{}
		s.targets[f.key] = t
	}
	t.failures = append(t.failures, f)
	s.failures = append(s.failures, f)
}

// tryPermission makes a call whose answer is not needed, only to learn
// whether it is allowed: when an earlier failure left its real input
// unknown, this still names every denied action in one poll. Only a denial
// is recorded.
func (p *Probe) tryPermission(ctx context.Context, s *snapshot, k tkey, action string, fn func(ctx context.Context) error) {
	if ctx.Err() != nil {
		return // the poll's budget ran out: nothing to learn
	}
	err := fn(ctx)
	denied := err != nil && classify(err) == kindDenied
	if err != nil && !denied {
		// Unreachable, throttled, out of budget: the try says nothing of
		// the permission, and the failure it met is the calls' own,
		// already counted and said; it is no call of the count.
		return
	}
	// It is a call like any other in the account and region's count.
	s.counted(k, action)
	if !denied {
		return
	}
	f := failure{key: k, action: action, kind: kindDenied, err: err}
	s.record(f)
	_, fix := f.describe("the dxwatch identity")
	p.log.Warn("aws api call failed", "account", k.account, "region", k.region, "action", action, "err", err, "fix", fix)
}

// failed returns (a copy of) the first failure of one of the actions, or
// of the credentials (which fail every action alike), or nil. It locks:
// CloudWatch is read while the rest of a poll goes on.
func (s *snapshot) failed(actions ...string) *failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.failures {
		if slices.Contains(actions, f.action) || f.kind == kindAuth {
			return &f
		}
	}
	return nil
}

// pages calls fn page by page until the token runs out, at most maxPages.
func (p *Probe) pages(ctx context.Context, s *snapshot, k tkey, action string, fn func(ctx context.Context, token *string) (*string, error)) error {
	var token *string
	for range maxPages {
		var next *string
		err := p.call(ctx, s, k, action, func(ctx context.Context) error {
			var err error
			next, err = fn(ctx, token)
			return err
		})
		if err != nil {
			return err
		}
		if next == nil || *next == "" {
			return nil
		}
		if token != nil && *next == *token {
			err := fmt.Errorf("%s: the next-page token repeats %q", action, *next)
			s.record(failure{key: k, action: action, kind: kindUnavailable, attempts: 1, err: err})
			return err
		}
		token = next
	}
	return fmt.Errorf("%s: more than %d pages", action, maxPages)
}

func parallel(fns []func()) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallelism)
	for _, fn := range fns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fn()
		})
	}
	wg.Wait()
}
