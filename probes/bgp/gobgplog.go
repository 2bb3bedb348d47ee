package bgp

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// gobgpConnectFailed is the message GoBGP logs, at debug level, each time
// it cannot open the TCP connection to a peer (pkg/server/fsm.go,
// connectLoop). Its peer state then says only that the idle hold timer
// expired, while the socket error is what an engineer needs.
const gobgpConnectFailed = "failed to connect"

// gobgpLog is the slog handler dxwatch gives GoBGP. It passes GoBGP's log
// lines on to the probe's logger at that logger's level and catches the
// connect failures, turning them into events for the worker. Debug records
// are built only while a peer dxwatch connects to is down (watch), so that
// an established speaker pays nothing for them.
type gobgpLog struct {
	next   slog.Handler
	watch  *atomic.Bool
	report func(peer netip.Addr, cause string, t time.Time)
	key    string // the peer address GoBGP's logger.With put on this handler
}

func (h *gobgpLog) Enabled(ctx context.Context, l slog.Level) bool {
	if l < slog.LevelInfo && h.watch.Load() {
		return true
	}
	return h.next.Enabled(ctx, l)
}

func (h *gobgpLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo && r.Message == gobgpConnectFailed {
		key, errText := h.key, ""
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "Key":
				key = a.Value.String()
			case "Error":
				errText = a.Value.String()
			}
			return true
		})
		if addr, err := netip.ParseAddr(key); err == nil && errText != "" {
			h.report(addr.Unmap(), connectCause(errText), r.Time)
		}
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *gobgpLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key == "Key" {
			c.key = a.Value.String()
		}
	}
	return &c
}

func (h *gobgpLog) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

// connectCause is the part of a dial error that names the cause:
// "dial tcp 10.1.0.50:0->10.1.0.1:179: connect: connection refused" gives
// "connection refused".
func connectCause(err string) string {
	if i := strings.LastIndex(err, ": "); i >= 0 && i+2 < len(err) {
		return err[i+2:]
	}
	return err
}

// connectFix is the fix for a TCP connection to a peer that fails with
// cause, or "" when the cause names no specific fix.
func connectFix(pc PeerConfig, cause string) string {
	dst := net.JoinHostPort(pc.Address, strconv.Itoa(pc.port()))
	switch {
	case strings.Contains(cause, "network is unreachable"), strings.Contains(cause, "no route to host"):
		return "dxwatch's host has no route to " + pc.Address + ": give it a route to the edge router " + pc.Name + " (or run dxwatch where it has one), and check that the router is up"
	case strings.Contains(cause, "connection refused"):
		return pc.Name + " refuses TCP " + dst + ": BGP is not listening there, or the router accepts no connection from dxwatch's address; configure a neighbor for dxwatch on " + pc.Name + " and check the port"
	case strings.Contains(cause, "timeout"), strings.Contains(cause, "timed out"):
		return "nothing answers TCP " + dst + ": a firewall or ACL between dxwatch and " + pc.Name + " drops TCP port " + strconv.Itoa(pc.port()) + ", or the address is wrong; with an MD5 key on one side only, the router drops dxwatch's connection without a word"
	}
	return ""
}

// lastError is the peer's last error for the API: the failed TCP
// connection while it is down, else GoBGP's last disconnect reason.
func (pr *peerRun) lastError() string {
	if !pr.up && pr.connErr != "" {
		return "tcp connect: " + pr.connErr
	}
	return pr.reason
}
