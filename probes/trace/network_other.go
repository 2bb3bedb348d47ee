//go:build !linux

package trace

import (
	"errors"
	"log/slog"
	"net/netip"
	"time"
)

var errUnsupported = errors.New("the trace probe needs Linux raw sockets")

type network struct{ replies chan timedReply }

func newNetwork(string, int, *slog.Logger) *network { return &network{replies: make(chan timedReply)} }

func (n *network) family(bool) (struct{}, error)             { return struct{}{}, errUnsupported }
func (n *network) port(bool, int) (uint16, error)            { return 0, errUnsupported }
func (n *network) send(flow, int, []byte) (time.Time, error) { return time.Time{}, errUnsupported }
func (n *network) Close()                                    {}

func source(netip.Addr) (netip.Addr, error) { return netip.Addr{}, errUnsupported }
