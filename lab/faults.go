package lab

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// Turn-up mistakes the lab can make on purpose, so that `dxwatch verify`
// can be shown to find each one (Break), and undone (Mend).
const (
	// FaultWrongMD5 puts a wrong MD5 key on the edge's BGP neighbor of a
	// link's Amazon address: the TCP segments fail authentication at AWS's
	// end and the session never comes up, while the link itself works.
	// Target: a link.
	FaultWrongMD5 = "wrong-md5"
	// FaultWrongMD56 does the same to the link's IPv6 peering only (the
	// edge's neighbor of the link's Amazon IPv6 address, which has its own
	// key): the IPv6 session stays down, the IPv4 one up. Target: a link.
	FaultWrongMD56 = "wrong-md5-ipv6"
	// FaultNoPrepend removes the AS_PATH prepend the edge puts on what it
	// advertises over the secondary link (active/passive only): AWS then
	// sees equal paths and spreads return traffic over both links. No target.
	FaultNoPrepend = "no-prepend"
	// FaultPingBlocked makes an instance drop ICMP echo requests, like a
	// security group with no ICMP rule. Target: an instance host (i1, i2).
	FaultPingBlocked = "ping-blocked"
)

// Faults lists the faults Break knows, for help texts.
var Faults = []string{FaultWrongMD5, FaultWrongMD56, FaultNoPrepend, FaultPingBlocked}

// wrongMD5 is the key FaultWrongMD5 puts on the edge.
const wrongMD5 = "dxlab-wrong-key"

// Break makes a turn-up mistake in the running lab (see the Fault
// constants). The fault is kept in the lab's state, so that WaitConverged
// expects its consequences and a later Mend (or dxlab mend) undoes it.
func (l *Lab) Break(ctx context.Context, fault, target string) error {
	return l.fault(ctx, fault, target, true)
}

// Mend undoes a fault made by Break.
func (l *Lab) Mend(ctx context.Context, fault, target string) error {
	return l.fault(ctx, fault, target, false)
}

// ActiveFaults returns the faults in place, as "fault target" (or "fault").
func (l *Lab) ActiveFaults() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.st.Faults)
}

func (l *Lab) hasFault(fault, target string) bool {
	return slices.Contains(l.ActiveFaults(), faultKey(fault, target))
}

func faultKey(fault, target string) string {
	return strings.TrimSpace(fault + " " + target)
}

func (l *Lab) fault(ctx context.Context, fault, target string, on bool) error {
	var err error
	switch fault {
	case FaultWrongMD5, FaultWrongMD56:
		var lk link
		if lk, err = l.linkNamed(target); err != nil {
			return fmt.Errorf("%s: %w", fault, err)
		}
		neighbor, key := lk.Amazon, lk.MD5
		if fault == FaultWrongMD56 {
			neighbor, key = lk.Amazon6, lk.MD56
		}
		if on {
			key = wrongMD5
		}
		_, err = l.vtysh(ctx, lk.Edge, "configure terminal", fmt.Sprintf("router bgp %d", OnPremASN),
			fmt.Sprintf("neighbor %s password %s", neighbor, key), "end")
	case FaultNoPrepend:
		if target != "" {
			return fmt.Errorf("%s takes no target", fault)
		}
		if mode := l.Mode(); mode != ModeActivePassive {
			return fmt.Errorf("%s: the lab is in %s mode, where nothing is prepended: run `dxlab mode %s` first", fault, mode, ModeActivePassive)
		}
		// Record first: the route-maps are written from the lab's state.
		if err := l.setFault(faultKey(fault, target), on); err != nil {
			return err
		}
		err = parallel(l.topo.edges(), func(h string) error {
			_, err := l.vtysh(ctx, h, l.modeCommands(ModeActivePassive)...)
			return err
		})
	case FaultPingBlocked:
		if !slices.Contains([]string{HostInst1, HostInst2}, target) {
			return fmt.Errorf("%s: want an instance host (%s or %s), not %q", fault, HostInst1, HostInst2, target)
		}
		script := "add table inet dxlab_fault\ndelete table inet dxlab_fault\n"
		if on {
			script += "add table inet dxlab_fault\n" +
				"add chain inet dxlab_fault input { type filter hook input priority 0; policy accept; }\n" +
				"add rule inet dxlab_fault input icmp type echo-request drop\n"
		}
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.Namespace(target), "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, cerr := cmd.CombinedOutput(); cerr != nil {
			err = fmt.Errorf("nft in %s: %w: %s", target, cerr, strings.TrimSpace(string(out)))
		}
	default:
		return fmt.Errorf("no fault %q: want one of %s", fault, strings.Join(Faults, ", "))
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", map[bool]string{true: "break", false: "mend"}[on], faultKey(fault, target), err)
	}
	if err := l.setFault(faultKey(fault, target), on); err != nil {
		return err
	}
	l.logf("lab %s: %s %s", l.st.Prefix, map[bool]string{true: "broke", false: "mended"}[on], faultKey(fault, target))
	return nil
}

func (l *Lab) setFault(key string, on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Faults = slices.DeleteFunc(l.st.Faults, func(f string) bool { return f == key })
	if on {
		l.st.Faults = append(l.st.Faults, key)
		slices.Sort(l.st.Faults)
	}
	return l.save()
}
