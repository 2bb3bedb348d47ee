package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/dxwatch/dxwatch/agent/drill"
	"github.com/dxwatch/dxwatch/probes"
)

// TestDrillMethod: --method exec needs both commands and runs them; the
// commands are refused with --method aws; an unknown method is named.
func TestDrillMethod(t *testing.T) {
	site := probes.Site{Links: []probes.Link{
		{Name: "primary", Role: probes.RolePrimary, AmazonAddress: netip.MustParsePrefix("169.254.10.1/30")},
		{Name: "secondary", Role: probes.RoleSecondary, AmazonAddress: netip.MustParsePrefix("169.254.20.1/30")},
	}, Routing: probes.Routing{Primary: "primary"}}
	both := drill.ExecMethod{CutCommand: "dxlab cut primary", RestoreCommand: "dxlab restore primary"}
	for _, tc := range []struct {
		name, method string
		cmds         drill.ExecMethod
		want         string // error substring; "" for an exec method
	}{
		{"exec", "exec", both, ""},
		{"exec without restore", "exec", drill.ExecMethod{CutCommand: "x"}, "--method exec needs --cut <command> and --restore <command>"},
		{"exec without cut", "exec", drill.ExecMethod{RestoreCommand: "x"}, "--method exec needs --cut"},
		{"aws with commands", "aws", both, "--cut and --restore are for --method exec"},
		{"the old lab method", "lab", drill.ExecMethod{}, `--method: "lab" is not a method: want aws or exec`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := drillMethod(tc.method, tc.cmds, "", site, nil, drill.Options{})
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e, ok := m.(*drill.ExecMethod)
			if !ok || *e != tc.cmds {
				t.Fatalf("method %#v, want the exec method %#v", m, tc.cmds)
			}
		})
	}
}

// TestDrillFamilyFlag: --family takes ipv4, ipv6 or both; anything else is
// a usage error naming the flag.
func TestDrillFamilyFlag(t *testing.T) {
	var out, errb strings.Builder
	if code := drillCmd([]string{"--family", "ipv5"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), `--family: "ipv5" is not a family: want ipv4, ipv6 or both`) {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
