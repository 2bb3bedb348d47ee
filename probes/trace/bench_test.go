package trace

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkParseReply measures the parse of one Time Exceeded quoting a UDP
// probe, per family, with and without an MPLS extension.
func BenchmarkParseReply(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		f := testFlow(protoUDP, v6)
		hop := hop4
		name := "v4"
		if v6 {
			hop, name = hop6, "v6"
		}
		p := appendProbe(nil, f, 7)
		msg := icmpError(b, v6, timeExceeded(v6), 0, quote(f, p, 1, 8))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseReply(msg, hop); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTraceLoopback measures a complete trace (socket I/O included) to
// 127.0.0.1 with each method; it needs root.
func BenchmarkTraceLoopback(b *testing.B) {
	if !isRoot() {
		b.Skip("needs root for raw sockets")
	}
	for _, method := range []string{MethodUDP, MethodICMP} {
		b.Run(method, func(b *testing.B) {
			nw := newNetwork(method, 1, slog.New(slog.DiscardHandler))
			defer nw.Close()
			dst := netip.MustParseAddr("127.0.0.1")
			if _, err := nw.family(false); err != nil {
				b.Fatal(err)
			}
			e := &engine{maxTTL: 16, retries: 2, lim: newLimiter(Pacing{Burst: 6}), send: nw.send, replies: nw.replies, log: slog.New(slog.DiscardHandler)}
			p := &Probe{cfg: Config{Method: method, Port: DefaultUDPPort}, echoBase: 0x3131, seqBase: 0x11110000}
			fl, err := p.flow(nw, dst, dst, 0)
			if err != nil {
				b.Fatal(err)
			}
			var prev flowTrace
			for b.Loop() {
				ft, err := e.trace(context.Background(), fl, prev.hops, prev.reached, time.Now().Add(time.Second))
				if err != nil || !ft.reached {
					b.Fatalf("trace: %v reached %v", err, ft.reached)
				}
				prev = flowTrace{hops: append([]Hop(nil), ft.hops...), reached: true}
			}
		})
	}
}
