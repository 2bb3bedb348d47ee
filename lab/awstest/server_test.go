package awstest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func post(t *testing.T, url, target, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if auth != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+auth+", SignedHeaders=host, Signature=0")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerRefusesBadRequests(t *testing.T) {
	s, url := Start(t, LabScenario())
	cred := LabAccessKey + "/20260201/us-east-1/directconnect/aws4_request"
	tests := []struct {
		name, target, auth, body, code string
	}{
		{"unsigned", "OvertureService.DescribeConnections", "", "{}", "MissingAuthenticationToken"},
		{"unknown key", "OvertureService.DescribeConnections", "AKIAUNKNOWN/20260201/us-east-1/directconnect/aws4_request", "{}", "UnrecognizedClientException"},
		{"unknown member", "OvertureService.DescribeConnections", cred, `{"connectionName":"x"}`, "SerializationException"},
		{"bad token", "OvertureService.DescribeConnections", cred, `{"nextToken":"garbage"}`, "InvalidNextToken"},
		{"unknown operation", "OvertureService.CreateConnection", cred, `{}`, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := post(t, url, tt.target, tt.auth, tt.body)
			var e struct {
				Type string `json:"__type"`
			}
			json.Unmarshal([]byte(body), &e)
			if st != 400 || e.Type != tt.code {
				t.Errorf("%d %s, want 400 %s", st, body, tt.code)
			}
		})
	}
	if got := s.Calls()["directconnect:CreateConnection"]; got != 1 {
		t.Errorf("calls not recorded: %v", s.Calls())
	}
}

func TestScenarioFiles(t *testing.T) {
	dir := t.TempDir()
	y, err := LabScenario().YAML()
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(LabScenario())
	for name, b := range map[string][]byte{"lab.yaml": y, "lab.json": j} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, b, 0o644)
		sc, err := LoadScenario(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sc.VIF(LabVIF2).Vlan != 102 || sc.Routes[0].RouteInstalledAt == nil {
			t.Errorf("%s: %+v", name, sc.VIF(LabVIF2))
		}
	}
	for _, bad := range []string{"accounts: []\n", "accounts: [{accountId: '1', accessKeyId: k}]\nconnectionz: []\n", "{"} {
		if _, err := ParseScenario([]byte(bad), false); err == nil {
			t.Errorf("ParseScenario(%q) accepted it", bad)
		}
	}
}

// TestServerAsTheAPIDefines: the fake answers as the API reference says
// AWS does, never more kindly: a requested connection has no LOA-CFA yet;
// a VIF's customer ASN comes in asnLong always and in asn only when it
// fits (0 for a 4-byte one); a public VIF has no prefix allocation;
// sts:GetCallerIdentity cannot be denied.
func TestServerAsTheAPIDefines(t *testing.T) {
	sc := LabScenario()
	sc.Connection(LabConnection1).ConnectionState = "requested"
	long := int64(4200000001)
	sc.VIF(LabVIF1).AsnLong = &long
	n := 200
	sc.VIF(LabVIF2).VirtualInterfaceType, sc.VIF(LabVIF2).PrefixPoolAllocatedCountIpv4 = "public", &n
	sc.Accounts[0].Deny = []string{"sts:GetCallerIdentity"}
	_, url := Start(t, sc)
	cred := LabAccessKey + "/20260201/us-east-1/directconnect/aws4_request"

	st, body := post(t, url, "OvertureService.DescribeLoa", cred, `{"connectionId":"`+LabConnection1+`"}`)
	if st != 400 || !strings.Contains(body, "DirectConnectClientException") {
		t.Errorf("DescribeLoa of a requested connection: %d %s, want a DirectConnectClientException", st, body)
	}

	st, body = post(t, url, "OvertureService.DescribeVirtualInterfaces", cred, `{}`)
	var out struct {
		VirtualInterfaces []map[string]any `json:"virtualInterfaces"`
	}
	if err := json.Unmarshal([]byte(body), &out); st != 200 || err != nil {
		t.Fatalf("DescribeVirtualInterfaces: %d %s", st, body)
	}
	for _, v := range out.VirtualInterfaces {
		switch v["virtualInterfaceId"] {
		case LabVIF1:
			if v["asn"] != float64(0) || v["asnLong"] != float64(long) {
				t.Errorf("4-byte ASN sent as asn %v, asnLong %v; want 0 and %d", v["asn"], v["asnLong"], long)
			}
		case LabVIF2:
			if v["asnLong"] != v["asn"] || v["asn"] == float64(0) {
				t.Errorf("2-byte ASN sent as asn %v, asnLong %v; want both", v["asn"], v["asnLong"])
			}
			if _, ok := v["prefixPoolAllocatedCountIpv4"]; ok {
				t.Errorf("a public VIF has a prefix allocation: %v", v)
			}
		}
	}

	req, _ := http.NewRequest("POST", url, strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+LabAccessKey+"/20260201/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GetCallerIdentity denied by a policy: HTTP %d, want 200 (no policy can deny it)", resp.StatusCode)
	}
}

// TestDualStackVIFAndFailoverTestPeers: a lab VIF is served with a BGP
// peer per family (API reference, VirtualInterface and BGPPeer), its
// top-level addresses those of the IPv4 peering; StartBgpFailoverTest
// refuses a peer ID that is not the VIF's with DirectConnectClientException
// (holding nothing down), and holds down only the peers it is given.
func TestDualStackVIFAndFailoverTestPeers(t *testing.T) {
	s, url := Start(t, LabScenario())
	cred := LabAccessKey + "/20260201/us-east-1/directconnect/aws4_request"
	st, body := post(t, url, "OvertureService.DescribeVirtualInterfaces", cred, `{"virtualInterfaceId":"`+LabVIF1+`"}`)
	var d struct {
		VirtualInterfaces []struct {
			AddressFamily, AmazonAddress string
			BgpPeers                     []struct{ BgpPeerID, AddressFamily, AmazonAddress, CustomerAddress, BgpStatus string }
		}
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil || st != 200 || len(d.VirtualInterfaces) != 1 {
		t.Fatalf("%d %s: %v", st, body, err)
	}
	v := d.VirtualInterfaces[0]
	if v.AddressFamily != "ipv4" || v.AmazonAddress != "169.254.10.1/30" || len(v.BgpPeers) != 2 {
		t.Fatalf("VIF %+v, want the IPv4 peering's addresses on top and two peers", v)
	}
	if p := v.BgpPeers[1]; p.BgpPeerID != LabPeer1v6 || p.AddressFamily != "ipv6" || p.AmazonAddress != "2001:db8:10::1/125" || p.CustomerAddress != "2001:db8:10::2/125" {
		t.Errorf("IPv6 peer %+v", p)
	}
	statuses := func() map[string]string {
		out := map[string]string{}
		s.Update(func(sc *Scenario) {
			for _, p := range sc.VIF(LabVIF1).BgpPeers {
				out[p.BgpPeerID] = p.BgpStatus
			}
		})
		return out
	}
	st, body = post(t, url, "OvertureService.StartBgpFailoverTest", cred, `{"virtualInterfaceId":"`+LabVIF1+`","bgpPeers":["`+LabPeer1v6+`","dxpeer-nothere"]}`)
	if st != 400 || !strings.Contains(body, "DirectConnectClientException") || !strings.Contains(body, "dxpeer-nothere") {
		t.Errorf("unknown peer: %d %s, want 400 DirectConnectClientException naming it", st, body)
	}
	if got := statuses(); got[LabPeer1] != "up" || got[LabPeer1v6] != "up" {
		t.Errorf("a refused test held peers down: %v", got)
	}
	st, body = post(t, url, "OvertureService.StartBgpFailoverTest", cred, `{"virtualInterfaceId":"`+LabVIF1+`","bgpPeers":["`+LabPeer1v6+`"],"testDurationInMinutes":5}`)
	if st != 200 || !strings.Contains(body, `"bgpPeers":["`+LabPeer1v6+`"]`) {
		t.Fatalf("start: %d %s", st, body)
	}
	if got := statuses(); got[LabPeer1] != "up" || got[LabPeer1v6] != "down" {
		t.Errorf("during the IPv6 test: %v, want only %s down", got, LabPeer1v6)
	}
	if st, body = post(t, url, "OvertureService.StopBgpFailoverTest", cred, `{"virtualInterfaceId":"`+LabVIF1+`"}`); st != 200 {
		t.Fatalf("stop: %d %s", st, body)
	}
	if got := statuses(); got[LabPeer1] != "up" || got[LabPeer1v6] != "up" {
		t.Errorf("after the test: %v", got)
	}
}
