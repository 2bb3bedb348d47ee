package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dxwatch/dxwatch/agent/health"
	"github.com/dxwatch/dxwatch/agent/statuspage"
	"github.com/dxwatch/dxwatch/probes"
)

// maxAPIBody bounds what VerifyAgent reads from a daemon's API.
const maxAPIBody = 16 << 20

// VerifyAgent reads the checks of a running dxwatch daemon at base
// ("http://localhost:9479"; user:password@ for basic auth) instead of
// running the probes in this process: beside the daemon, verify's own BGP
// session would compete with the daemon's for the one session the edge
// router accepts from this address. The report has the same form as
// Verify's; opts.Checks selects (each selected check's root cause comes
// along), opts.Timeout bounds the requests. Parts the daemon's
// configuration leaves out are not listed: the daemon does not report them.
func VerifyAgent(ctx context.Context, base string, opts VerifyOptions) (VerifyReport, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return VerifyReport{}, fmt.Errorf("--agent: %q is not an http(s) URL such as http://localhost:9479", RedactURL(base))
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	c := &http.Client{}
	defer c.CloseIdleConnections()
	rep := VerifyReport{Started: time.Now()}
	var site statuspage.Site
	if err := getJSON(ctx, c, u, statuspage.SitePath, &site); err != nil {
		return rep, err
	}
	var checks []probes.CheckResult
	if err := getJSON(ctx, c, u, statuspage.ChecksPath, &checks); err != nil {
		return rep, err
	}
	rep.Site = site.Name
	rep.finish(withRoots(checks, selectChecks(checks, opts.Checks)))
	return rep, nil
}

// withRoots returns sel plus the checks of all that sel's checks follow
// from (CheckResult.Because) and sel lacks, so that a report names each
// root cause it points to.
func withRoots(all, sel []probes.CheckResult) []probes.CheckResult {
	have := map[string]bool{}
	for _, r := range sel {
		have[r.Name] = true
	}
	out := sel
	for _, r := range sel {
		if r.Because == "" || have[r.Because] {
			continue
		}
		for _, a := range all {
			if a.Name == r.Because {
				out = append(out, a)
				have[a.Name] = true
				break
			}
		}
	}
	return out
}

// getJSON GETs path below base and decodes its JSON into v.
func getJSON(ctx context.Context, c *http.Client, base *url.URL, path string, v any) error {
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	where := "GET " + u.Redacted()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL
		}
		return fmt.Errorf("%s: %w (is `dxwatch run` listening there?)", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = " (the daemon has basic auth: put user:password@ in the URL)"
		}
		return fmt.Errorf("%s: %s%s: %s", where, resp.Status, hint, msg)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: not a dxwatch answer: %w", where, err)
	}
	return nil
}

// RedactURL hides the password of a URL (user:password@), even of one that
// does not parse, so that it can go into a message or a log.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if at := strings.LastIndex(s, "@"); at >= 0 {
		return "…" + s[at:]
	}
	return s
}

// DaemonRecord reads a running dxwatch daemon's record of its site at base
// (its /api/events, history on disk included, and from /api/status when
// its health model began watching without a break), for the drill's
// no-recent-failover pre-check. site must match the daemon's.
func DaemonRecord(ctx context.Context, base, site string) (events []health.Event, since time.Time, err error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, time.Time{}, fmt.Errorf("--agent: %q is not an http(s) URL such as http://localhost:9479", RedactURL(base))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := &http.Client{}
	defer c.CloseIdleConnections()
	var st health.Status
	if err := getJSON(ctx, c, u, "/api/status", &st); err != nil {
		return nil, time.Time{}, err
	}
	if st.Site != site {
		return nil, time.Time{}, fmt.Errorf("--agent: the daemon at %s watches site %q, this configuration is site %q", u.Redacted(), st.Site, site)
	}
	if st.Started.IsZero() {
		return nil, time.Time{}, fmt.Errorf("--agent: the daemon at %s does not say since when it watches (an older dxwatch): upgrade it or pass --quiet", u.Redacted())
	}
	if err := getJSON(ctx, c, u, "/api/events", &events); err != nil {
		return nil, time.Time{}, err
	}
	return events, st.Started, nil
}
