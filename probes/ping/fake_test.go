package ping

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dxwatch/dxwatch/probes"
)

// fakeNet stands in for the network behind a fake ICMP socket: it answers
// each echo as configured per destination. With raw false it rewrites the
// echo identifier as the kernel does for unprivileged ICMP sockets.
type fakeNet struct {
	raw bool

	mu      sync.Mutex
	answer  map[netip.Addr]int   // copies of each reply; missing means 1
	sendErr map[netip.Addr]error // WriteTo fails
	hold    map[netip.Addr]bool  // replies held back until release
	held    []fakePacket
	stalled bool // Receive reads nothing, as a reader starved of CPU
	conns   []*fakeConn
	opens   int
	closes  int
}

type fakePacket struct {
	conn *fakeConn
	msg  []byte
	src  netip.Addr
	at   time.Time // when the "kernel" received it
}

func newFakeNet(raw bool) *fakeNet {
	return &fakeNet{raw: raw, answer: map[netip.Addr]int{}, sendErr: map[netip.Addr]error{}, hold: map[netip.Addr]bool{}}
}

func (n *fakeNet) listen(k sockKey) (packetConn, bool, uint16, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := &fakeConn{net: n, v6: k.v6, ready: make(chan struct{}, 1), done: make(chan struct{})}
	n.conns = append(n.conns, c)
	n.opens++
	return c, n.raw, 0x1234, nil
}

func (n *fakeNet) set(a string, copies int) {
	n.mu.Lock()
	n.answer[netip.MustParseAddr(a)] = copies
	n.mu.Unlock()
}

// stall stops (or restarts) every socket's Receive from reading, while
// replies keep queueing; Drain still reads them.
func (n *fakeNet) stall(on bool) {
	n.mu.Lock()
	n.stalled = on
	conns := n.conns
	n.mu.Unlock()
	for _, c := range conns {
		signal(c.ready)
	}
}

func (n *fakeNet) isStalled() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stalled
}

// release delivers the held replies.
func (n *fakeNet) release() {
	n.mu.Lock()
	held := n.held
	n.held = nil
	n.mu.Unlock()
	for _, p := range held {
		p.conn.deliver(p)
	}
}

func (n *fakeNet) counts() (opens, closes int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opens, n.closes
}

// fakeConn is a socket's queue. Its mu, held from taking a message off
// the queue to the end of its handling, gives Drain the real socket's
// promise.
type fakeConn struct {
	net   *fakeNet
	v6    bool
	ready chan struct{} // something was queued
	done  chan struct{}
	once  sync.Once

	qmu   sync.Mutex
	queue []fakePacket

	mu sync.Mutex
}

func (c *fakeConn) WriteTo(msg []byte, dst netip.Addr) error {
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.sendErr[dst]; err != nil {
		return err
	}
	copies, ok := n.answer[dst]
	if !ok {
		copies = 1
	}
	reply := append([]byte(nil), msg...)
	reply[0] = icmp4EchoReply
	if c.v6 {
		reply[0] = icmp6EchoReply
	}
	if !n.raw {
		binary.BigEndian.PutUint16(reply[4:], 0x4242)
	}
	for range copies {
		p := fakePacket{conn: c, msg: reply, src: dst}
		if n.hold[dst] {
			n.held = append(n.held, p)
			continue
		}
		c.deliver(p)
	}
	return nil
}

func (c *fakeConn) deliver(p fakePacket) {
	p.at = time.Now()
	c.qmu.Lock()
	if len(c.queue) < 4096 { // a full queue drops, as a socket buffer would
		c.queue = append(c.queue, p)
	}
	c.qmu.Unlock()
	signal(c.ready)
}

func (c *fakeConn) Receive(handle handler) error {
	for {
		select {
		case <-c.ready:
		case <-c.done:
			return net.ErrClosed
		}
		if !c.net.isStalled() {
			c.readQueued(handle)
		}
	}
}

func (c *fakeConn) Drain(handle handler) error {
	select {
	case <-c.done:
		return net.ErrClosed
	default:
	}
	c.readQueued(handle)
	return nil
}

func (c *fakeConn) readQueued(handle handler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 {
			c.qmu.Unlock()
			return
		}
		p := c.queue[0]
		c.queue = c.queue[1:]
		c.qmu.Unlock()
		handle(p.msg, p.src, p.at)
	}
}

func (c *fakeConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.net.mu.Lock()
		c.net.closes++
		c.net.mu.Unlock()
	})
	return nil
}

// recorder keeps every observation.
type recorder struct {
	mu  sync.Mutex
	obs []probes.Observation
}

func (r *recorder) Observe(o probes.Observation) {
	r.mu.Lock()
	r.obs = append(r.obs, o)
	r.mu.Unlock()
}

// of returns the observations of one target and event.
func (r *recorder) of(target string, ev probes.ObservationKind) []probes.Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []probes.Observation
	for _, o := range r.obs {
		if o.Target == target && o.Event == ev {
			out = append(out, o)
		}
	}
	return out
}

// waitFor polls cond until it holds; the long bound only ends a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startProbe runs p until the test ends; the returned stop cancels it and
// checks that Run returned nil.
func startProbe(t *testing.T, p *Probe) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// metrics gathers the probe through a pedantic registry (which also checks
// Describe against Collect) and returns name{target} -> value; histograms
// give their sample count.
func metrics(t *testing.T, p *Probe) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(p); err != nil {
		t.Fatalf("register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{" + label(m, "target") + "}"
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
